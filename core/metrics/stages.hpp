#pragma once
// Where a command's time goes: the wall and CPU time its threads spend in each stage of their
// work (fetching, decoding, writing to the store, ...), kept as the work happens and shown in
// summaries and as lims_stage_seconds_total / lims_stage_cpu_seconds_total.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.hpp"

namespace lims::metrics {

/// CPU time the calling thread has used, in ns. A system call (about a microsecond on a virtual
/// machine): for per-batch switches, not per-record ones.
std::int64_t thread_cpu_ns();
/// CPU time used so far by the process's threads whose name starts with `prefix` (librdkafka
/// names its threads "rdk:..."), in seconds; nullopt without /proc. Threads that have ended are
/// not counted.
std::optional<double> threads_cpu_seconds(std::string_view prefix);
/// CPU time (user + system) the whole process has used so far, in seconds.
double process_cpu_seconds();

/// The time spent per stage. Stages are numbered in the order of their names. Threads add to it
/// through StageClocks; anyone reads it. Lock-free.
class StageAccount {
 public:
  /// `waiting`: the stages that wait rather than work (for records, for a batch, for the other
  /// thread); they are left out when looking for the bottleneck.
  StageAccount(std::vector<std::string> names, std::vector<std::string> waiting);
  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t stage) const { return names_[stage]; }
  bool waiting(std::size_t stage) const { return waiting_[stage]; }
  void add(std::size_t stage, std::int64_t wall_ns, std::int64_t cpu_ns);
  double wall_seconds(std::size_t stage) const;
  double cpu_seconds(std::size_t stage) const;
  /// The working stage with the most wall time, or nullopt before any work.
  std::optional<std::size_t> bottleneck() const;
  /// Registers lims_stage_seconds_total{stage,kind} (kind: work or wait) and
  /// lims_stage_cpu_seconds_total{stage}; the CPU
  /// family also carries stage="kafka_client", the CPU of librdkafka's own threads (which fetch
  /// and parse records before any stage sees them). The account must outlive the registry's
  /// renders.
  void expose(Registry& registry) const;
  /// "fetch 1.20/0.10 s, decode 0.50/0.50 s, ...; Kafka client threads 0.90 s CPU" (wall/CPU).
  std::string summary() const;

 private:
  std::vector<std::string> names_;
  std::vector<bool> waiting_;
  std::unique_ptr<std::atomic<std::int64_t>[]> wall_ns_, cpu_ns_;
};

/// One thread's clock over its stages: enter(s) closes the stage in progress and opens `s`.
/// Wall time comes from the steady clock at every switch, which costs next to nothing. CPU time
/// is measured one of two ways:
/// - at every switch (the thread's CPU clock), for a thread that switches once per batch;
/// - settled, for a thread that switches several times per record: the stages named `computing`
///   (pure computation: no I/O, no waits) are taken to use the CPU for all their wall time, and
///   at each settle() the rest of the thread's CPU since the last one goes to `rest`. When the
///   thread used less CPU than that wall time (it was preempted: the machine is busy), the
///   computing stages share what it used in proportion to their wall time and `rest` gets none:
///   the stages never get more CPU than the thread used.
class StageClock {
 public:
  /// CPU measured at every switch.
  StageClock(StageAccount& account, std::size_t first);
  /// CPU settled: `computing[s]` for each stage s.
  StageClock(StageAccount& account, std::size_t first, std::vector<bool> computing,
             std::size_t rest);
  ~StageClock();
  StageClock(const StageClock&) = delete;
  StageClock& operator=(const StageClock&) = delete;

  void enter(std::size_t stage);
  std::size_t current() const { return stage_; }
  /// In settled mode: hands the thread's CPU since the last settle() to the stages.
  void settle();

 private:
  StageAccount& account_;
  std::size_t stage_;
  std::int64_t since_ns_;        // steady clock, when stage_ was entered
  std::int64_t cpu_since_ns_;    // thread CPU clock, at the last measurement
  std::vector<bool> computing_;  // empty: CPU measured at every switch
  std::size_t rest_ = 0;
  std::vector<std::int64_t> pending_ns_;  // per computing stage: wall time since the last settle()
};

}  // namespace lims::metrics
