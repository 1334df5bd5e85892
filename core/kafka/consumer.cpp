#include "kafka/consumer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kafka/client.hpp"
#include "kafka/reader.hpp"

namespace lims::kafka {
namespace {

std::string join(const std::vector<TopicPartition>& parts) {
  std::string s;
  for (const auto& tp : parts) {
    if (!s.empty()) s += ", ";
    s += tp.topic + "/" + std::to_string(tp.partition);
  }
  return s.empty() ? "none" : s;
}

constexpr std::chrono::steady_clock::duration kStallAfter = std::chrono::milliseconds(20);

/// The first librdkafka whose cooperative-sticky assignor lims relies on: 2.3 no longer aborts
/// when a consumer that never had an assignment is destroyed (librdkafka #4312), and 2.10 no
/// longer loses a whole assignment when a commit meets a rebalance (#4059).
constexpr int kCooperativeFrom = 0x020a0000;

/// The assignor lims asks for: cooperative-sticky where it is sound, else roundrobin, an eager
/// one that spreads the one-partition plant topics over the members (range would give every
/// topic's partition 0 to one member). The price of eager: each rebalance revokes every
/// partition of every member for its few seconds, where cooperative moves only those that move.
const char* default_assignor() {
  return rd_kafka_version() >= kCooperativeFrom ? "cooperative-sticky" : "roundrobin";
}
constexpr std::chrono::steady_clock::duration kMaxWakeInterval = std::chrono::milliseconds(1000);

}  // namespace

struct Consumer::Impl {
  RebalanceListener* listener = nullptr;
  bool from_beginning = false;
  std::optional<std::int64_t> start_time_ms;
  ReaderConfig lookup;               // for start_time_ms
  std::vector<TopicPartition> seen;  // partitions assigned before (for from_beginning)
  KafkaHandle rk;
  bool closed = false;
  bool paused = false;
  bool ever_assigned = false;  // for the librdkafka #4312 guard in ~Consumer
  // Waking the fetcher (see poll()).
  std::chrono::steady_clock::time_point last_message = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_wake{};
  std::chrono::steady_clock::duration wake_interval = kStallAfter;

  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  /// Sets the offsets of parts->elems[fresh...] to their first record at start_time_ms.
  void start_at_time(rd_kafka_topic_partition_list_t* parts, const std::vector<int>& fresh);
  static void rebalance_trampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* parts, void* opaque) noexcept;
  static void error_trampoline(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
  static void commit_trampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* offsets, void* opaque) noexcept;
  std::atomic<std::uint64_t> received_bytes{0};
  static int stats_trampoline(rd_kafka_t* rk, char* json, std::size_t len, void* opaque) noexcept;
};

int Consumer::Impl::stats_trampoline(rd_kafka_t*, char* json, std::size_t len,
                                     void* opaque) noexcept {
  try {
    simdjson::ondemand::parser parser;
    simdjson::padded_string text(json, len);
    simdjson::ondemand::document doc;
    std::int64_t rx = 0;
    if (parser.iterate(text).get(doc) == simdjson::SUCCESS &&
        doc["rx_bytes"].get_int64().get(rx) == simdjson::SUCCESS && rx >= 0)
      static_cast<Impl*>(opaque)->received_bytes = static_cast<std::uint64_t>(rx);
  } catch (...) {
  }
  return 0;  // librdkafka frees the JSON
}

Consumer::Consumer(const ConsumerConfig& config, RebalanceListener* listener)
    : impl_(std::make_unique<Impl>()) {
  impl_->listener = listener;
  impl_->from_beginning = config.from_beginning;
  impl_->start_time_ms = config.start_time_ms;
  impl_->lookup = {config.brokers, config.connect_timeout_ms, config.extra, 10};
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"group.id", config.group},
      {"client.id", "lims"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", default_assignor()},
      {"enable.partition.eof", config.report_eof ? "true" : "false"},
      // A crashed member's partitions move after 10 s rather than Kafka's 45 s default. The
      // embedded Kafka also makes a join that follows a leave wait this long, less 1 s (and
      // hangs the join if members of one group disagree on it).
      {"session.timeout.ms", "10000"},
      // Bound the prefetch so memory stays small while a batch is being written.
      {"queued.max.messages.kbytes", "16384"},
      // A fetch response well under the queue bound, or librdkafka stalls on a full queue.
      {"fetch.max.bytes", "4194304"},
      {"statistics.interval.ms", std::to_string(config.statistics_interval_ms)},
  };
  props.insert(props.end(), config.extra.begin(), config.extra.end());
  ConfHandle conf = detail::make_conf(props);
  rd_kafka_conf_set_opaque(conf.get(), impl_.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), Impl::rebalance_trampoline);
  rd_kafka_conf_set_error_cb(conf.get(), Impl::error_trampoline);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), Impl::commit_trampoline);
  rd_kafka_conf_set_stats_cb(conf.get(), Impl::stats_trampoline);
  impl_->rk = detail::make_client(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_t* rk = impl_->rk.get();
  rd_kafka_poll_set_consumer(rk);
  detail::wait_for_cluster(rk, config.brokers, config.connect_timeout_ms);

  std::vector<TopicPartition> topics;
  for (const auto& t : config.topics) topics.push_back({t, RD_KAFKA_PARTITION_UA});
  auto list = detail::to_list(topics);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, list.get()))
    throw Error(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
}

Consumer::~Consumer() {
  try {
    close();
  } catch (...) {
  }
  // librdkafka before 2.3 aborts the process when a cooperative-sticky consumer that never had
  // an assignment is destroyed (#4312): a stop during the first join, the ordinary case for a
  // pod stopped during a rollout. lims chooses roundrobin there (default_assignor()), but -X may
  // ask for cooperative-sticky: then the handle, closed and out of the group, is left to the
  // process's exit instead.
  if (impl_->rk && !impl_->ever_assigned && rd_kafka_version() < 0x02030000 &&
      detail::property(impl_->rk.get(), "partition.assignment.strategy")
              .find("cooperative-sticky") != std::string::npos)
    (void)impl_->rk.release();  // deliberately never destroyed: see above
}

std::uint64_t Consumer::received_bytes() const { return impl_->received_bytes; }

void Consumer::close() {
  if (impl_->closed || !impl_->rk) return;
  impl_->closed = true;
  if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(impl_->rk.get()))
    log::warn(std::string("closing the consumer: ") + rd_kafka_err2str(err));
}

std::optional<Message> Consumer::poll(int timeout_ms) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk.get(), timeout_ms);
  const auto now = std::chrono::steady_clock::now();
  if (m) {
    impl_->last_message = now;
    impl_->wake_interval = kStallAfter;
    return Message(Message::Handle(m));
  }
  if (!impl_->paused &&
      now - std::max(impl_->last_message, impl_->last_wake) >= impl_->wake_interval && lag() > 0) {
    wake_fetchers();
    impl_->last_wake = std::chrono::steady_clock::now();
    if (impl_->last_wake - impl_->last_message >
        impl_->wake_interval)  // the last one brought nothing
      impl_->wake_interval =
          std::min<std::chrono::steady_clock::duration>(impl_->wake_interval * 2, kMaxWakeInterval);
  }
  return std::nullopt;
}

void Consumer::store_offsets(const std::vector<TopicPartition>& next_offsets) {
  if (next_offsets.empty()) return;
  auto list = detail::to_list(next_offsets);
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(impl_->rk.get(), list.get());
  // _STATE / per-partition errors mean the partition moved to another consumer: that consumer
  // re-reads from the last commit, so nothing is lost by skipping it here.
  if (err && err != RD_KAFKA_RESP_ERR__STATE && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    log::warn(std::string("storing offsets: ") + rd_kafka_err2str(err));
}

bool Consumer::commit(bool sync) {
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), nullptr, sync ? 0 : 1);
  if (!sync || err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
    return true;
  log::warn(std::string("committing offsets: ") + rd_kafka_err2str(err));
  return false;
}

std::vector<std::pair<TopicPartition, std::int64_t>> Consumer::lag_by_partition() const {
  std::vector<std::pair<TopicPartition, std::int64_t>> out;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  PartitionListHandle list(raw);
  rd_kafka_position(impl_->rk.get(), list.get());
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    std::int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(impl_->rk.get(), e.topic, e.partition, &low, &high) ||
        high < 0)
      continue;
    const std::int64_t position = e.offset >= 0 ? e.offset : low;
    out.emplace_back(TopicPartition{e.topic, e.partition, position},
                     std::max<std::int64_t>(0, high - position));
  }
  return out;
}

std::int64_t Consumer::lag() const {
  std::int64_t total = 0;
  for (const auto& [tp, lag] : lag_by_partition()) total += lag;
  return total;
}

void Consumer::wake_fetchers() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionListHandle list(raw);
  if (list->cnt == 0) return;
  for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = RD_KAFKA_OFFSET_END;
  // One ListOffsets request per leader; its answer also refreshes the cached watermarks.
  rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), 100);
}

void Consumer::set_paused(bool paused) {
  if (impl_->paused == paused) return;
  impl_->paused = paused;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionListHandle list(raw);
  rd_kafka_resp_err_t err = paused ? rd_kafka_pause_partitions(impl_->rk.get(), list.get())
                                   : rd_kafka_resume_partitions(impl_->rk.get(), list.get());
  if (err)
    log::warn(std::string(paused ? "pausing" : "resuming") +
              " partitions: " + rd_kafka_err2str(err));
}

std::optional<std::string> Consumer::fatal_error() const {
  // Asked of the handle (an atomic read): a consumer may learn of a fatal error through a
  // consumed error event rather than the error callback.
  char buf[512];
  if (rd_kafka_fatal_error(impl_->rk.get(), buf, sizeof buf) == RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  return std::string(buf);
}

void Consumer::Impl::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartition> list = detail::to_vector(parts);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (from_beginning || start_time_ms) {
      std::vector<int> fresh;  // assigned for the first time
      for (int i = 0; i < parts->cnt; ++i) {
        TopicPartition tp{parts->elems[i].topic, parts->elems[i].partition};
        if (std::find(seen.begin(), seen.end(), tp) != seen.end()) continue;
        seen.push_back(tp);
        fresh.push_back(i);
        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
      }
      if (!from_beginning && !fresh.empty()) start_at_time(parts, fresh);
    }
    if (!list.empty()) log::info("assigned " + join(list));
    ever_assigned = true;
    if (cooperative) {
      ErrorHandle e(rd_kafka_incremental_assign(rk.get(), parts));
      if (e) log::error(std::string("assigning partitions: ") + rd_kafka_error_string(e.get()));
    } else {
      rd_kafka_assign(rk.get(), parts);
    }
    if (paused) rd_kafka_pause_partitions(rk.get(), parts);  // new partitions wait too
    if (listener) listener->on_assigned(list);
    return;
  }
  const bool lost = rd_kafka_assignment_lost(rk.get());
  if (lost)
    log::warn("lost " + join(list) +
              " (session expired or generation fenced): their new owner reads again from the "
              "last commit; nothing is lost");
  else if (!list.empty())
    log::info("revoking " + join(list));
  // After a lost assignment another member may already own the partitions: committing would be
  // refused, and the records will be re-read by the new owner.
  // The partitions go even if the listener fails (say, its commit): a revoke left unanswered
  // stalls the rebalance of the whole group. Its error is rethrown once they are gone.
  std::exception_ptr listener_error;
  try {
    if (listener) lost ? listener->on_lost(list) : listener->on_revoking(list);
  } catch (...) {
    listener_error = std::current_exception();
  }
  if (cooperative) {
    ErrorHandle e(rd_kafka_incremental_unassign(rk.get(), parts));
    if (e) log::error(std::string("unassigning partitions: ") + rd_kafka_error_string(e.get()));
  } else {
    rd_kafka_assign(rk.get(), nullptr);
  }
  if (listener_error) std::rethrow_exception(listener_error);
}

std::optional<RecordCopy> Consumer::reread(const TopicPartition& at) const {
  return Reader(impl_->lookup).read_at(at);
}

void Consumer::Impl::start_at_time(rd_kafka_topic_partition_list_t* parts,
                                   const std::vector<int>& fresh) {
  std::vector<TopicPartition> wanted;
  for (int i : fresh) wanted.push_back({parts->elems[i].topic, parts->elems[i].partition});
  try {
    const auto found = Reader(lookup).offsets_at_time(wanted, *start_time_ms);
    std::string where;
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      parts->elems[fresh[k]].offset = found[k].offset;
      where += (k ? ", " : "") + found[k].topic + "/" + std::to_string(found[k].partition) + "@" +
               std::to_string(found[k].offset);
    }
    log::info("starting at the first records since the time given: " + where);
  } catch (const std::exception& e) {
    log::warn(std::string("looking up offsets by time: ") + e.what() +
              "; reading those partitions from the beginning instead");
  }
}

void Consumer::Impl::rebalance_trampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                          rd_kafka_topic_partition_list_t* parts,
                                          void* opaque) noexcept {
  auto* self = static_cast<Impl*>(opaque);
  try {
    self->on_rebalance(err, parts);
  } catch (const std::exception& e) {
    log::error(std::string("during rebalance: ") + e.what());
  } catch (...) {
    log::error("during rebalance: unknown exception");
  }
}

void Consumer::Impl::error_trampoline(rd_kafka_t*, int err, const char* reason, void*) noexcept {
  try {
    if (err == RD_KAFKA_RESP_ERR__FATAL)
      log::error(std::string("kafka: fatal: ") + reason);
    else
      log::warn(std::string("kafka: ") + reason);
  } catch (...) {
  }
}

void Consumer::Impl::commit_trampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                       rd_kafka_topic_partition_list_t*, void*) noexcept {
  try {
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      log::warn(std::string("offset commit failed (will retry with the next commit): ") +
                rd_kafka_err2str(err));
  } catch (...) {
  }
}

}  // namespace lims::kafka
