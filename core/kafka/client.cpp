#include "kafka/client.hpp"

#include <cstring>

#include "common/error.hpp"
#include "common/log.hpp"

namespace lims::kafka {

bool is_sensitive(std::string_view key) {
  for (std::string_view word : {"password", "secret", "sasl.jaas", "sasl.oauthbearer.config",
                                "ssl.key.pem", "ssl_key", "ssl.keystore", "token"})
    if (key.find(word) != std::string_view::npos) return true;
  return false;
}

std::pair<std::string, std::string> parse_property(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw Error("-X '" + std::string(text) + "': expected key=value (a librdkafka property)",
                ExitCode::usage);
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

namespace detail {
namespace {

// librdkafka calls this from its own threads; nothing may throw across it (house rule 2).
void log_callback(const rd_kafka_t*, int level, const char* fac, const char* buf) noexcept {
  try {
    log::Level l = level <= 3   ? log::Level::error
                   : level <= 5 ? log::Level::warn
                   : level == 6 ? log::Level::info
                                : log::Level::debug;
    // librdkafka reports every failed reconnect as an error; they are transient, keep them warn.
    if (l == log::Level::error) l = log::Level::warn;
    // Connection failures also reach the error callback, which says the same: say it once.
    if (std::strcmp(fac, "FAIL") == 0) l = log::Level::debug;
    // -X properties reach every client of a command; a consumer's are no news to a producer.
    if (std::strcmp(fac, "CONFWARN") == 0 && std::strstr(buf, "ignored by this"))
      l = log::Level::debug;
    std::string text = "kafka: ";
    text += fac;
    text += ": ";
    text += buf;
    log::write(l, text);
  } catch (...) {
  }
}

}  // namespace

ConfHandle make_conf(const Properties& props) {
  ConfHandle conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : props) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) ==
        RD_KAFKA_CONF_OK)
      continue;
    std::string reason = err;
    if (is_sensitive(key) && !value.empty())  // librdkafka may quote the value it refused
      for (auto at = reason.find(value); at != std::string::npos; at = reason.find(value, at))
        reason.replace(at, value.size(), "***");
    throw Error("kafka property " + key + ": " + reason, ExitCode::usage);
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_callback);
  return conf;
}

KafkaHandle make_client(rd_kafka_type_t type, ConfHandle conf) {
  char err[512];
  // rd_kafka_new takes the conf only on success, so release it only then.
  KafkaHandle rk(rd_kafka_new(type, conf.get(), err, sizeof err));
  if (!rk) throw Error(std::string("cannot create Kafka client: ") + err, ExitCode::usage);
  (void)conf.release();  // now owned by rk
  return rk;
}

void wait_for_cluster(rd_kafka_t* rk, const std::string& brokers, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &md, timeout_ms);
  MetadataHandle owned(md);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error("cannot reach Kafka at " + brokers + " within " +
                    std::to_string(timeout_ms / 1000) + " s: " + rd_kafka_err2str(err),
                ExitCode::unreachable);
}

std::string property(rd_kafka_t* rk, const char* name) {
  char value[512];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) != RD_KAFKA_CONF_OK) return "";
  return value;
}

PartitionListHandle to_list(const std::vector<TopicPartition>& parts) {
  PartitionListHandle list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const auto& tp : parts)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  return list;
}

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (!list) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  return out;
}

}  // namespace detail
}  // namespace lims::kafka
