#include "kafka/reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kafka/client.hpp"

namespace lims::kafka {
namespace {

using Clock = std::chrono::steady_clock;

std::string name_of(const TopicPartition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

/// A group id no one else uses: librdkafka's assign() needs one, though nothing joins it.
std::string private_group() {
  const auto ns = std::chrono::system_clock::now().time_since_epoch().count();
  return "lims-reader-" + std::to_string(::getpid()) + "-" + std::to_string(ns);
}

/// The binary search for one partition's first record at or after a time: the answer lies in
/// [lo, hi], hi being a record known to qualify or the partition's end.
struct Search {
  std::size_t index;  // into the answer
  TopicPartition partition;
  std::int64_t lo, hi, probe;
  bool answered = false;
  std::optional<std::pair<std::int64_t, std::int64_t>> found;  // (offset, timestamp)

  /// Narrows [lo, hi] by the first record at or after `probe` (none: the partition ends first).
  void narrow(std::int64_t time_ms) {
    if (!found || found->first >= hi)
      hi = probe;
    else if (found->second >= time_ms)
      hi = found->first;
    else
      lo = found->first + 1;
    probe = lo + (hi - lo) / 2;
  }
};

}  // namespace

struct Reader::Impl {
  std::string brokers;
  KafkaHandle rk;

  /// Retries, within `timeout_ms`, the errors of a partition whose leader is still being
  /// elected (a topic created a moment ago, a broker restarting).
  std::pair<std::int64_t, std::int64_t> watermarks(const TopicPartition& tp, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      std::int64_t low = 0, high = 0;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
          rk.get(), tp.topic.c_str(), tp.partition, &low, &high,
          static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
      if (!err) return {low, high};
      const bool electing = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                            err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                            err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (!electing || Clock::now() + std::chrono::milliseconds(100) >= deadline)
        throw Error("reading the offsets of " + name_of(tp) + " at " + brokers + ": " +
                        rd_kafka_err2str(err),
                    ExitCode::unreachable);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // librdkafka's retry backoff
    }
  }

  /// One round of every search still open: the first record at or after each probe.
  void probe(std::vector<Search>& searches, Reader& self, int timeout_ms);
};

Reader::Reader(const ReaderConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->brokers = config.brokers;
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", "lims"},
      {"group.id", private_group()},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      {"queued.max.messages.kbytes", "16384"},
      {"fetch.max.bytes", "4194304"},
      {"fetch.wait.max.ms", std::to_string(config.fetch_wait_max_ms)},
  };
  props.insert(props.end(), config.extra.begin(), config.extra.end());
  impl_->rk = detail::make_client(RD_KAFKA_CONSUMER, detail::make_conf(props));
  rd_kafka_poll_set_consumer(impl_->rk.get());
  detail::wait_for_cluster(impl_->rk.get(), config.brokers, config.connect_timeout_ms);
}

Reader::~Reader() {
  // Assigned partitions only: closing leaves no group (none was joined) and commits nothing.
  if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(impl_->rk.get()))
    log::debug(std::string("closing the reader: ") + rd_kafka_err2str(err));
}

std::vector<PartitionRange> Reader::partitions(const std::vector<std::string>& topics,
                                               int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->rk.get(), 1, nullptr, &md, timeout_ms);
  MetadataHandle owned(md);
  if (err)
    throw Error("reading the topics of " + impl_->brokers + ": " + rd_kafka_err2str(err),
                ExitCode::unreachable);
  std::vector<PartitionRange> out;
  for (const auto& topic : topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < md->topic_cnt; ++i)
      if (topic == md->topics[i].topic) found = &md->topics[i];
    if (!found || found->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || !found->partition_cnt)
      throw Error("topic " + topic + " does not exist at " + impl_->brokers, ExitCode::usage);
    if (found->err)
      throw Error("topic " + topic + ": " + rd_kafka_err2str(found->err), ExitCode::unreachable);
    std::vector<std::int32_t> ids;
    for (int p = 0; p < found->partition_cnt; ++p) ids.push_back(found->partitions[p].id);
    std::sort(ids.begin(), ids.end());
    for (std::int32_t id : ids) {
      PartitionRange range{{topic, id}};
      std::tie(range.low, range.high) = impl_->watermarks(range.partition, timeout_ms);
      out.push_back(std::move(range));
    }
  }
  return out;
}

void Reader::assign(const std::vector<TopicPartition>& parts) {
  auto list = detail::to_list(parts);
  if (rd_kafka_resp_err_t err = rd_kafka_assign(impl_->rk.get(), list.get()))
    throw Error(std::string("assigning partitions: ") + rd_kafka_err2str(err));
}

std::optional<Message> Reader::poll(int timeout_ms) {
  if (rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk.get(), timeout_ms))
    return Message(Message::Handle(m));
  return std::nullopt;
}

std::optional<RecordCopy> Reader::read_at(const TopicPartition& at, int timeout_ms) {
  assign({at});
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    auto m = poll(100);
    if (!m) continue;
    if (!m->is_record() && !m->is_partition_eof()) {
      log::debug("kafka: " + m->error());
      continue;
    }
    if (m->partition() != at.partition || m->topic() != at.topic) continue;
    if (m->is_partition_eof()) return std::nullopt;
    if (m->offset() != at.offset) return std::nullopt;  // gone: the partition starts later
    RecordCopy copy;
    if (m->key()) copy.key.emplace(m->key(), m->key_size());
    if (m->value()) copy.value.emplace(m->value(), m->value_size());
    return copy;
  }
  throw Error("reading " + name_of(at) + "@" + std::to_string(at.offset) + " again from " +
                  impl_->brokers + ": no answer within " + std::to_string(timeout_ms / 1000) + " s",
              ExitCode::unreachable);
}

void Reader::Impl::probe(std::vector<Search>& searches, Reader& self, int timeout_ms) {
  std::vector<TopicPartition> where;
  std::size_t waiting = 0;
  for (auto& s : searches) {
    s.answered = s.lo >= s.hi;
    s.found.reset();
    if (s.answered) continue;
    where.push_back({s.partition.topic, s.partition.partition, s.probe});
    ++waiting;
  }
  if (!waiting) return;
  self.assign(where);  // librdkafka drops what the previous assignment fetched
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (waiting) {
    if (Clock::now() >= deadline)
      throw Error("reading records by offset from " + brokers + ": no answer within " +
                      std::to_string(timeout_ms / 1000) + " s",
                  ExitCode::unreachable);
    auto m = self.poll(100);
    if (!m) continue;
    if (!m->is_record() && !m->is_partition_eof()) {
      log::debug("kafka: " + m->error());
      continue;
    }
    for (auto& s : searches) {
      if (s.answered || s.partition.partition != m->partition() || s.partition.topic != m->topic())
        continue;
      if (m->is_record() && m->offset() < s.probe) break;
      if (m->is_record()) s.found.emplace(m->offset(), m->timestamp_ms());
      s.answered = true;
      --waiting;
      break;
    }
  }
}

std::vector<TopicPartition> Reader::offsets_at_time(const std::vector<TopicPartition>& parts,
                                                    std::int64_t time_ms, int timeout_ms) {
  std::vector<TopicPartition> out = parts;
  for (auto& tp : out) tp.offset = time_ms;
  auto list = detail::to_list(out);
  if (rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), timeout_ms))
    throw Error("looking up offsets by time at " + impl_->brokers + ": " + rd_kafka_err2str(err),
                ExitCode::unreachable);
  std::vector<Search> searches;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    auto& tp = out[static_cast<std::size_t>(i)];
    if (e.err)
      throw Error("looking up " + name_of(tp) + " by time: " + rd_kafka_err2str(e.err),
                  ExitCode::unreachable);
    tp.offset = e.offset;
    if (e.offset >= 0) continue;
    // None that recent, says the broker: so be it if the last record is older.
    const auto [low, high] = impl_->watermarks(tp, timeout_ms);
    tp.offset = high;
    if (high > low)
      searches.push_back(
          {static_cast<std::size_t>(i), tp, low, high, high - 1, false, std::nullopt});
  }
  impl_->probe(searches, *this, timeout_ms);  // first, each one's last record
  std::size_t unanswered = 0;
  for (auto& s : searches) {
    if (s.found && s.found->second >= time_ms) ++unanswered;
    s.narrow(time_ms);
  }
  if (unanswered)
    log::info("the broker knew no record at or after the time in " + std::to_string(unanswered) +
              (unanswered == 1 ? " partition that has one" : " partitions that have one") +
              " (the embedded Kafka cannot look times up): searching their records instead");
  for (;;) {
    for (const auto& s : searches)
      if (s.lo >= s.hi) out[s.index].offset = s.lo;
    std::erase_if(searches, [](const Search& s) { return s.lo >= s.hi; });
    if (searches.empty()) break;
    impl_->probe(searches, *this, timeout_ms);
    for (auto& s : searches) s.narrow(time_ms);
  }
  return out;
}

}  // namespace lims::kafka
