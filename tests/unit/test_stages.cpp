// Time by stage: a clock that measures CPU at each switch tells work from waiting; a settled clock
// gives computing stages their wall time and the rest of the thread's CPU to its `rest` stage;
// the bottleneck is the working stage with the most wall time; the account renders as two
// Prometheus families; librdkafka's threads are found by name.

#include <doctest/doctest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/registry.hpp"
#include "metrics/stages.hpp"

namespace lims {
namespace {

using namespace std::chrono_literals;

/// Burns the CPU until the thread has used `ns` of it.
void burn(std::int64_t ns) {
  const std::int64_t until = metrics::thread_cpu_ns() + ns;
  volatile std::uint64_t x = 0;
  while (metrics::thread_cpu_ns() < until)
    for (int i = 0; i < 1000; ++i) x = x + i;
}

/// Waits without using the CPU for `d`.
void idle(std::chrono::milliseconds d) {
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, d, [] { return false; });
}

constexpr std::size_t kWork = 0, kWait = 1, kOther = 2;

metrics::StageAccount account() { return {{"work", "wait", "other"}, {"wait"}}; }

}  // namespace

TEST_CASE("stages: a clock measuring CPU at each switch tells work from waiting") {
  auto stages = account();
  {
    metrics::StageClock clock(stages, kWork);
    burn(30'000'000);
    clock.enter(kWait);
    idle(30ms);
  }  // the clock closes the stage in progress
  CHECK(stages.cpu_seconds(kWork) >= 0.030);
  CHECK(stages.wall_seconds(kWork) >= stages.cpu_seconds(kWork) * 0.99);
  CHECK(stages.wall_seconds(kWait) >= 0.030);
  CHECK(stages.cpu_seconds(kWait) < stages.wall_seconds(kWait) / 2);
  CHECK(stages.wall_seconds(kOther) == 0);
  REQUIRE(stages.bottleneck().has_value());
  CHECK(*stages.bottleneck() == kWork);  // waiting stages never are
}

TEST_CASE("stages: a settled clock gives computing stages their wall time, the rest its CPU") {
  auto stages = account();
  const std::int64_t start = metrics::thread_cpu_ns();
  {
    metrics::StageClock clock(stages, kWait, {true, false, false}, kOther);
    idle(20ms);
    clock.enter(kWork);
    burn(20'000'000);
    clock.enter(kWait);
    burn(20'000'000);  // CPU in a stage that is not computing: it goes to `rest`
    clock.settle();
  }  // settles again
  const double used = static_cast<double>(metrics::thread_cpu_ns() - start) / 1e9;
  // The computing stage gets its wall time as CPU, or less when the thread was preempted in it;
  // everything the thread used is handed out, and no more.
  CHECK(stages.cpu_seconds(kWork) >= 0.020);
  CHECK(stages.cpu_seconds(kWork) <= stages.wall_seconds(kWork) + 1e-9);
  CHECK(stages.cpu_seconds(kWait) == 0);
  CHECK(stages.wall_seconds(kWait) >= 0.040);
  const double total = stages.cpu_seconds(kWork) + stages.cpu_seconds(kOther);
  CHECK(total >= 0.040);
  CHECK(total <= used + 1e-9);
  CHECK(stages.wall_seconds(kOther) == 0);
}

TEST_CASE("stages: no bottleneck before any work") {
  auto stages = account();
  CHECK_FALSE(stages.bottleneck().has_value());
  stages.add(kWait, 5'000'000'000, 0);
  CHECK_FALSE(stages.bottleneck().has_value());
  stages.add(kOther, 1'000'000, 1'000'000);
  CHECK(stages.bottleneck() == kOther);
}

TEST_CASE("stages: the account renders as two counter families, librdkafka's threads included") {
  auto stages = account();
  stages.add(kWork, 1'500'000'000, 1'250'000'000);
  metrics::Registry registry;
  stages.expose(registry);
  const std::string text = registry.render();
  CHECK(text.find("# TYPE lims_stage_seconds_total counter\n") != std::string::npos);
  CHECK(text.find("lims_stage_seconds_total{stage=\"work\",kind=\"work\"} 1.5\n") !=
        std::string::npos);
  CHECK(text.find("lims_stage_seconds_total{stage=\"wait\",kind=\"wait\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("lims_stage_cpu_seconds_total{stage=\"work\"} 1.25\n") != std::string::npos);
  CHECK(text.find("lims_stage_cpu_seconds_total{stage=\"kafka_client\"} ") != std::string::npos);
  CHECK(stages.summary().starts_with("work 1.50/1.25 s, wait 0.00/0.00 s, other 0.00/0.00 s"));
}

TEST_CASE("stages: the CPU of threads is found by their name") {
  std::promise<void> burnt, measured;
  std::thread worker([&] {
    pthread_setname_np(pthread_self(), "rdk:stagetest");
    burn(20'000'000);
    burnt.set_value();
    measured.get_future().wait();  // alive while it is measured
  });
  burnt.get_future().wait();
  const auto seconds = metrics::threads_cpu_seconds("rdk:stagetest");
  measured.set_value();
  worker.join();
  REQUIRE(seconds.has_value());
  CHECK(*seconds >= 0.015);
  CHECK(metrics::threads_cpu_seconds("no-such-thread:") == 0.0);
  CHECK(metrics::process_cpu_seconds() >= *seconds);
}

}  // namespace lims
