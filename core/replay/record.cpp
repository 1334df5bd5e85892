#include "replay/record.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "codec/record_line.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace lims::replay {
namespace {

using Clock = std::chrono::steady_clock;

/// Without --follow, how long recording may go without a record before it gives up: the
/// records it waits for exist, so a silence this long means the brokers are gone.
constexpr auto kStallTimeout = std::chrono::seconds(30);

/// A partition being recorded: the offset it ended at when recording started.
struct Recorded {
  kafka::TopicPartition partition;
  std::int64_t end = 0;
  bool done = false;
};

Recorded* find(std::vector<Recorded>& parts, const kafka::Message& m) {
  for (auto& p : parts)
    if (p.partition.partition == m.partition() && p.partition.topic == m.topic()) return &p;
  return nullptr;
}

/// `m` as a record line with its newline, the prefix left out of its topic.
void write_record(const kafka::Message& m, std::string_view prefix, std::string& line) {
  std::string_view topic = m.topic();
  if (topic.starts_with(prefix)) topic.remove_prefix(prefix.size());
  codec::RecordView view{topic,        m.partition(), m.offset(), m.timestamp_ms(),
                         std::nullopt, std::nullopt};
  if (m.key()) view.key = std::string_view(m.key(), m.key_size());
  if (m.value()) view.value = std::string_view(m.value(), m.value_size());
  line.clear();
  codec::append_record_line(line, view);
  line += '\n';
}

void write_out(std::FILE* out, const std::string& out_name, const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size())
    throw Error("writing " + out_name + ": " + std::strerror(errno));
}

void flush_out(std::FILE* out, const std::string& out_name) {
  if (std::fflush(out) != 0) throw Error("writing " + out_name + ": " + std::strerror(errno));
}

/// The partitions of the topics with their end offsets now, assigned from their beginning.
std::vector<Recorded> start_reading(kafka::Reader& reader, const RecordOptions& options) {
  std::vector<Recorded> parts;
  std::vector<kafka::TopicPartition> from_beginning;
  for (const auto& range : reader.partitions(options.topics)) {
    parts.push_back({range.partition, range.high, !options.follow && range.high <= range.low});
    from_beginning.push_back(
        {range.partition.topic, range.partition.partition, kafka::kOffsetBeginning});
  }
  reader.assign(from_beginning);
  return parts;
}

}  // namespace

void record(kafka::Reader& reader, const RecordOptions& options, std::FILE* out,
            const std::string& out_name, const std::atomic<bool>& stop, RecordStats& stats,
            const std::function<void(const RecordStats&)>& progress) {
  const auto start = Clock::now();
  auto next_progress = start + options.progress_interval;
  std::vector<Recorded> parts = start_reading(reader, options);
  for (const auto& topic : options.topics) stats.per_topic[topic] = 0;
  auto open = std::count_if(parts.begin(), parts.end(), [](const auto& p) { return !p.done; });
  std::string line, last_error;
  auto last_seen = start;
  while (open > 0 || options.follow) {
    stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (stop) {
      stats.stopped = true;
      break;
    }
    if (progress && Clock::now() >= next_progress) {
      progress(stats);
      next_progress = Clock::now() + options.progress_interval;
    }
    if (!options.follow && Clock::now() - last_seen > kStallTimeout)
      throw Error("replay record: nothing received for " + std::to_string(kStallTimeout.count()) +
                      " s with " + std::to_string(open) + " partition(s) unfinished" +
                      (last_error.empty() ? "" : " (last Kafka error: " + last_error + ")"),
                  ExitCode::unreachable);
    auto m = reader.poll(100);
    if (!m) {
      flush_out(out, out_name);  // idle: let a reader of the output see what there is
      continue;
    }
    if (!m->is_record() && !m->is_partition_eof()) {  // an error, of a partition or not
      last_error = m->error();
      log::warn("kafka: " + last_error);
      continue;
    }
    last_seen = Clock::now();
    Recorded* part = find(parts, *m);
    if (!part || part->done) continue;
    // Without --follow, a partition ends at the end offset it had at the start.
    const bool past_end = !options.follow && (m->is_partition_eof() || m->offset() >= part->end);
    if (!past_end && m->is_record()) {
      write_record(*m, options.topic_prefix, line);
      write_out(out, out_name, line);
      ++stats.records;
      stats.bytes += line.size();
      ++stats.per_topic[std::string(m->topic())];
    }
    if (past_end || (!options.follow && m->offset() + 1 >= part->end)) {
      part->done = true;
      --open;
    }
  }
  flush_out(out, out_name);
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

std::string record_summary(const RecordStats& s) {
  std::string topics;
  for (const auto& [topic, n] : s.per_topic)
    topics += (topics.empty() ? "" : ", ") + topic + " " + std::to_string(n);
  char tail[96];
  std::snprintf(tail, sizeof tail, "), %llu bytes in %.2f s",
                static_cast<unsigned long long>(s.bytes), s.seconds);
  return "record: " + std::to_string(s.records) + " records (" + topics + tail +
         (s.stopped ? " (stopped)" : "");
}

}  // namespace lims::replay
