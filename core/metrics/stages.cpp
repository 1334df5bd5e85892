#include "metrics/stages.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/format.hpp"
#include "common/time_units.hpp"

namespace lims::metrics {
namespace {

double seconds_of(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

double seconds_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

/// The first line of a small file, or "" when it cannot be read.
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::optional<double> threads_cpu_seconds(std::string_view prefix) {
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return std::nullopt;
  double total = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    if (!first_line(task + "/comm").starts_with(prefix)) continue;
    // schedstat's first field: the time the thread has run, in ns.
    long long ran_ns = 0;
    if (std::sscanf(first_line(task + "/schedstat").c_str(), "%lld", &ran_ns) == 1)
      total += seconds_of(ran_ns);
  }
  ::closedir(dir);
  return total;
}

double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
}

// ---- StageAccount ------------------------------------------------------------------------------

StageAccount::StageAccount(std::vector<std::string> names, std::vector<std::string> waiting)
    : names_(std::move(names)),
      waiting_(names_.size(), false),
      wall_ns_(std::make_unique<std::atomic<std::int64_t>[]>(names_.size())),
      cpu_ns_(std::make_unique<std::atomic<std::int64_t>[]>(names_.size())) {
  for (std::size_t i = 0; i < names_.size(); ++i)
    waiting_[i] = std::find(waiting.begin(), waiting.end(), names_[i]) != waiting.end();
}

void StageAccount::add(std::size_t stage, std::int64_t wall_ns, std::int64_t cpu_ns) {
  wall_ns_[stage].fetch_add(wall_ns, std::memory_order_relaxed);
  cpu_ns_[stage].fetch_add(cpu_ns, std::memory_order_relaxed);
}

double StageAccount::wall_seconds(std::size_t stage) const {
  return seconds_of(wall_ns_[stage].load(std::memory_order_relaxed));
}

double StageAccount::cpu_seconds(std::size_t stage) const {
  return seconds_of(cpu_ns_[stage].load(std::memory_order_relaxed));
}

std::optional<std::size_t> StageAccount::bottleneck() const {
  std::optional<std::size_t> best;
  for (std::size_t s = 0; s < size(); ++s)
    if (!waiting_[s] && wall_seconds(s) > 0 && (!best || wall_seconds(s) > wall_seconds(*best)))
      best = s;
  return best;
}

void StageAccount::expose(Registry& registry) const {
  registry.counter_callback(
      "lims_stage_seconds_total",
      "Wall time the command's threads spent in each stage of their work; kind is work or wait "
      "(waiting for records, for a batch, for the other thread)",
      {"stage", "kind"}, [this](const Emit& emit) {
        for (std::size_t s = 0; s < size(); ++s)
          emit({names_[s], waiting_[s] ? "wait" : "work"}, wall_seconds(s));
      });
  registry.counter_callback(
      "lims_stage_cpu_seconds_total",
      "CPU time the command's threads spent in each stage of their work; kafka_client is "
      "librdkafka's own threads",
      {"stage"}, [this](const Emit& emit) {
        for (std::size_t s = 0; s < size(); ++s) emit({names_[s]}, cpu_seconds(s));
        if (auto kafka = threads_cpu_seconds("rdk:")) emit({"kafka_client"}, *kafka);
      });
}

std::string StageAccount::summary() const {
  std::string out;
  for (std::size_t s = 0; s < size(); ++s)
    out += format("%s%s %.2f/%.2f s", s ? ", " : "", names_[s].c_str(), wall_seconds(s),
                  cpu_seconds(s));
  if (auto kafka = threads_cpu_seconds("rdk:"); kafka && *kafka > 0)
    out += format("; Kafka client threads %.2f s CPU", *kafka);
  return out;
}

// ---- StageClock --------------------------------------------------------------------------------

StageClock::StageClock(StageAccount& account, std::size_t first)
    : account_(account),
      stage_(first),
      since_ns_(steady_clock_ns()),
      cpu_since_ns_(thread_cpu_ns()) {}

StageClock::StageClock(StageAccount& account, std::size_t first, std::vector<bool> computing,
                       std::size_t rest)
    : StageClock(account, first) {
  computing_ = std::move(computing);
  computing_.resize(account.size(), false);
  pending_ns_.assign(account.size(), 0);
  rest_ = rest;
}

StageClock::~StageClock() {
  enter(stage_);
  if (!computing_.empty()) settle();
}

void StageClock::enter(std::size_t stage) {
  const std::int64_t now = steady_clock_ns();
  const std::int64_t wall = now - since_ns_;
  if (computing_.empty()) {
    const std::int64_t cpu = thread_cpu_ns();
    account_.add(stage_, wall, cpu - cpu_since_ns_);
    cpu_since_ns_ = cpu;
  } else if (computing_[stage_]) {
    account_.add(stage_, wall, 0);  // its CPU is handed out by settle()
    pending_ns_[stage_] += wall;
  } else {
    account_.add(stage_, wall, 0);
  }
  stage_ = stage;
  since_ns_ = now;
}

void StageClock::settle() {
  const std::int64_t cpu = thread_cpu_ns();
  const std::int64_t used = cpu - cpu_since_ns_;
  std::int64_t computed = 0;
  for (std::int64_t ns : pending_ns_) computed += ns;
  const double share = computed > used ? static_cast<double>(used) / computed : 1.0;
  for (std::size_t s = 0; s < pending_ns_.size(); ++s)
    if (pending_ns_[s]) account_.add(s, 0, static_cast<std::int64_t>(pending_ns_[s] * share));
  if (computed < used) account_.add(rest_, 0, used - computed);
  pending_ns_.assign(pending_ns_.size(), 0);
  cpu_since_ns_ = cpu;
}

}  // namespace lims::metrics
