#include "kafka/producer.hpp"

#include <atomic>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kafka/client.hpp"

namespace lims::kafka {

struct Producer::Impl {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  DeliveryCallback on_delivery;
  KafkaHandle rk;

  static void delivery_trampoline(rd_kafka_t* rk, const rd_kafka_message_t* m,
                                  void* opaque) noexcept;
};

Producer::Producer(const ProducerConfig& config, DeliveryCallback on_delivery)
    : impl_(std::make_unique<Impl>()) {
  impl_->on_delivery = std::move(on_delivery);
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", "lims"},
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      {"compression.type", "none"},
      // librdkafka 2.0's idempotent producer can report a record delivered that the broker
      // never wrote when a request fails with others in flight (a new topic's leader not yet
      // known): one request at a time per broker closes that window.
      {"max.in.flight.requests.per.connection", "1"},
  };
  props.insert(props.end(), config.extra.begin(), config.extra.end());
  ConfHandle conf = detail::make_conf(props);
  rd_kafka_conf_set_opaque(conf.get(), impl_.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), Impl::delivery_trampoline);
  impl_->rk = detail::make_client(RD_KAFKA_PRODUCER, std::move(conf));
  detail::wait_for_cluster(impl_->rk.get(), config.brokers, config.connect_timeout_ms);
}

Producer::~Producer() {
  rd_kafka_flush(impl_->rk.get(), 5000);
  if (int left = rd_kafka_outq_len(impl_->rk.get()))
    log::warn(std::to_string(left) + " records were never delivered");
}

void Producer::produce(std::string_view topic, std::string_view key,
                       std::optional<std::string_view> value, std::int32_t partition,
                       std::int64_t timestamp_ms, const Headers& headers, std::uint64_t tag) {
  const std::string topic_name(topic);
  // librdkafka's varargs macros cast their arguments textually: pass plain variables.
  char* key_ptr = key.empty() ? nullptr : const_cast<char*>(key.data());
  char* value_ptr = value ? const_cast<char*>(value->data()) : nullptr;
  std::size_t value_len = value ? value->size() : 0;
  for (;;) {
    // librdkafka takes the header list over only when the record is queued.
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [name, text] : headers)
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), text.data(),
                            static_cast<ssize_t>(text.size()));
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk.get(), RD_KAFKA_V_TOPIC(topic_name.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_ptr, key.size()),
        RD_KAFKA_V_VALUE(value_ptr, value_len), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
        RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw Error("producing to " + topic_name + ": " + rd_kafka_err2str(err));
    rd_kafka_poll(impl_->rk.get(), 100);  // make room: serve delivery reports
  }
}

void Producer::poll(int timeout_ms) { rd_kafka_poll(impl_->rk.get(), timeout_ms); }

std::uint64_t Producer::delivered() const { return impl_->delivered; }
std::uint64_t Producer::failed() const { return impl_->failed; }

void Producer::flush(int timeout_ms) {
  rd_kafka_flush(impl_->rk.get(), timeout_ms);
  if (int left = rd_kafka_outq_len(impl_->rk.get()))
    throw Error(std::to_string(left) + " records not delivered within " +
                std::to_string(timeout_ms / 1000) + " s");
}

void Producer::Impl::delivery_trampoline(rd_kafka_t*, const rd_kafka_message_t* m,
                                         void* opaque) noexcept {
  auto* self = static_cast<Impl*>(opaque);
  try {
    if (m->err) {
      ++self->failed;
      log::error("delivery to " + std::string(rd_kafka_topic_name(m->rkt)) +
                 " failed: " + rd_kafka_err2str(m->err));
    } else {
      ++self->delivered;
    }
    if (const auto tag = reinterpret_cast<std::uintptr_t>(m->_private); tag && self->on_delivery)
      self->on_delivery(tag, m->err ? rd_kafka_err2str(m->err) : "");
  } catch (...) {
  }
}

}  // namespace lims::kafka
