#include "replay/play.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/format.hpp"
#include "replay/merge.hpp"

namespace lims::replay {
namespace {

using Clock = std::chrono::steady_clock;

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// getline()'s buffer, freed at the end.
struct LineBuffer {
  char* data = nullptr;
  std::size_t capacity = 0;
  ~LineBuffer() { std::free(data); }
};

/// "pepper 64, potato 70, tomato 66"
std::string per_topic(const std::map<std::string, std::uint64_t>& counts) {
  std::string s;
  for (const auto& [topic, n] : counts)
    s += (s.empty() ? "" : ", ") + topic + " " + std::to_string(n);
  return s.empty() ? "none" : s;
}

}  // namespace

Capture::Capture(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "re")) {
  if (!file_)
    throw Error("cannot open capture " + path + ": " + std::strerror(errno), ExitCode::usage);
  struct stat st {};
  if (::fstat(::fileno(file_), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(file_);
    throw Error(path +
                    " is not a regular file: replay play reads its capture twice (record it "
                    "to a file first)",
                ExitCode::usage);
  }
  try {
    index_lines();
  } catch (...) {
    std::fclose(file_);
    throw;
  }
  std::vector<CapturedStamp> stamps;
  stamps.reserve(index_.size());
  for (const Entry& e : index_)
    stamps.push_back({topics_[e.topic], e.partition, e.offset, e.timestamp_ms});
  PlayOrder merged = merge_by_time(stamps);
  order_ = std::move(merged.order);
  time_ms_ = std::move(merged.time_ms);
}

Capture::~Capture() { std::fclose(file_); }

void Capture::index_lines() {
  std::unordered_map<std::string, std::uint32_t> topic_ids;
  LineBuffer line;
  std::uint64_t number = 0;
  std::int64_t at = 0;
  for (ssize_t n; (n = ::getline(&line.data, &line.capacity, file_)) >= 0; at += n) {
    ++number;
    std::string_view text(line.data, static_cast<std::size_t>(n));
    if (text.ends_with('\n')) text.remove_suffix(1);
    if (blank(text)) continue;
    auto result = parser_.parse(text);
    if (const auto* error = std::get_if<codec::LineError>(&result))
      throw Error(error->message(path_, number), ExitCode::usage);
    const auto& record = std::get<codec::RecordLine>(result);
    auto [it, added] =
        topic_ids.try_emplace(record.topic, static_cast<std::uint32_t>(topics_.size()));
    if (added) topics_.push_back(record.topic);
    index_.push_back({at, text.size(), number, it->second, record.partition, record.offset,
                      record.timestamp_ms});
  }
  if (std::ferror(file_))
    throw Error("reading " + path_ + ": " + std::strerror(errno), ExitCode::usage);
}

codec::RecordLine Capture::read(std::size_t i) {
  const Entry& e = index_[i];
  buffer_.resize(e.length);
  const std::string changed =
      path_ + ":" + std::to_string(e.line) + ": the file changed while it was played";
  if (::fseeko(file_, e.at, SEEK_SET) != 0 ||
      std::fread(buffer_.data(), 1, e.length, file_) != e.length)
    throw Error(changed);
  auto result = parser_.parse(buffer_);
  auto* record = std::get_if<codec::RecordLine>(&result);
  if (!record || record->topic != topics_[e.topic] || record->partition != e.partition ||
      record->offset != e.offset)
    throw Error(changed);
  return std::move(*record);
}

namespace {

/// Serves delivery reports (and progress) until `due`, or until `stop`.
void wait_until(Clock::time_point due, kafka::Producer& producer, const std::atomic<bool>& stop,
                const std::function<void()>& tick) {
  for (auto now = Clock::now(); now < due && !stop; now = Clock::now()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
    producer.poll(static_cast<int>(std::min<std::int64_t>(left, 100)));
    tick();
  }
}

}  // namespace

void play(kafka::Producer& producer, Capture& capture, const PlayOptions& options,
          const std::atomic<bool>& stop, PlayStats& stats,
          const std::function<void(const PlayStats&)>& progress) {
  stats.total = capture.size();
  const auto start = Clock::now();
  auto next_progress = start + options.progress_interval;
  auto tick = [&] {
    if (!progress || Clock::now() < next_progress) return;
    progress(stats);
    next_progress = Clock::now() + options.progress_interval;
  };
  const std::int64_t base = capture.size() ? capture.time_ms(capture.order()[0]) : 0;
  for (std::size_t i : capture.order()) {
    const std::int64_t time_ms = capture.time_ms(i);
    if (!options.max)
      wait_until(start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double, std::milli>(
                                 static_cast<double>(time_ms - base) / options.rate_multiplier)),
                 producer, stop, tick);
    if (stop) {
      stats.stopped = true;
      break;
    }
    const codec::RecordLine r = capture.read(i);
    const std::string topic = options.topic_prefix + r.topic;
    std::optional<std::string_view> value;
    if (r.value) value = *r.value;
    producer.produce(topic, r.key ? std::string_view(*r.key) : std::string_view(), value);
    stats.records++;
    stats.bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    stats.per_topic[topic]++;
    stats.capture_time_ms = time_ms;
    producer.poll(0);
    tick();
  }
  producer.flush(options.flush_timeout_ms);
  stats.delivered = producer.delivered();
  stats.failed = producer.failed();
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

std::string play_summary(const PlayStats& s) {
  const std::uint64_t records = s.records;
  return format(
      "play: %llu of %llu records (%s), %llu bytes in %.2f s (%.0f records/s); "
      "%llu delivered, %llu failed",
      static_cast<unsigned long long>(records), static_cast<unsigned long long>(s.total),
      per_topic(s.per_topic).c_str(), static_cast<unsigned long long>(s.bytes), s.seconds,
      s.seconds > 0 ? records / s.seconds : 0.0, static_cast<unsigned long long>(s.delivered),
      static_cast<unsigned long long>(s.failed));
}

std::string play_progress(const PlayStats& s) {
  const std::uint64_t records = s.records;
  return format("play: %llu of %llu records (%.0f%%), %llu bytes; capture time %s",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(s.total),
                s.total ? 100.0 * records / s.total : 100.0,
                static_cast<unsigned long long>(s.bytes),
                codec::format_time(s.capture_time_ms * 1000).c_str());
}

}  // namespace lims::replay
