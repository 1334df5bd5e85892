// Fault tests: the stream consumer survives Kafka faults (a broker down, failing requests, a
// moving coordinator, a paused or killed broker) with nothing lost and nothing moved back in time.
// The `mock` cases inject faults into librdkafka's mock cluster; the `kafka` cases signal the
// real broker fixture's process. Each kind runs in its own ctest test (fault.mock,
// fault.kafka), chosen by name.

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "common/error.hpp"
#include "forwarding_store.hpp"
#include "kafka/mock_cluster.hpp"
#include "scenario.hpp"
#include "skip.hpp"

namespace lims {
using namespace test;
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;
using kafka::MockError;
using kafka::MockRequest;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// A store that writes one batch at a time, so that several consumers can share it, and with a
/// gate holds every write that comes once the gate's condition holds, until open(): a fault then
/// begins exactly at its mark, however loaded the machine, with the rest of the stream to come.
class GatedStore final : public test::ForwardingStore {
 public:
  explicit GatedStore(store::ImageStore& inner) : ForwardingStore(inner) {}
  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    {
      std::unique_lock lock(gate_mutex_);
      gate_cv_.wait(lock, [&] { return !reached_ || !reached_(); });
    }
    std::lock_guard lock(mutex_);
    return inner_.apply(writes);
  }
  /// Holds writes once `reached()` is true, until open().
  void gate(std::function<bool()> reached) {
    std::lock_guard lock(gate_mutex_);
    reached_ = std::move(reached);
  }
  void open() {
    {
      std::lock_guard lock(gate_mutex_);
      reached_ = nullptr;
    }
    gate_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::mutex gate_mutex_;
  std::condition_variable gate_cv_;
  std::function<bool()> reached_;
};

/// One record per produced batch, so that the consumer can fetch a few records at a time. One
/// request in flight: librdkafka 2.0's idempotent producer otherwise loses a record now and then
/// on a freshly created topic of the real broker (the first batch fails NOT_LEADER, the next one
/// succeeds, and the first is taken as "implicitly acked" and reported delivered).
const kafka::Properties kSmallBatches = {{"linger.ms", "0"},
                                         {"batch.num.messages", "1"},
                                         {"max.in.flight.requests.per.connection", "1"}};

/// The scenario's consumer, fetching a few records at a time and prefetching little, so that it
/// keeps fetching all through the stream (and so through the fault).
kafka::ConsumerConfig fault_config(const Prepared& p, const std::string& brokers) {
  kafka::ConsumerConfig c = consumer_config(p.prefix, p.group, brokers);
  c.extra.insert(c.extra.end(), {{"max.partition.fetch.bytes", "4096"},
                                 {"fetch.max.bytes", "16384"},
                                 {"message.max.bytes", "16384"},
                                 {"queued.max.messages.kbytes", "32"}});
  return c;
}

/// Small batches until the end, so that there is a commit every few records.
sync::StreamOptions fault_options() {
  sync::StreamOptions o = until_end();
  o.batch_max_events = 20;
  o.batch_max_ms = 20;
  return o;
}

/// Fresh topics on `cluster`, filled with the scenario in one-record batches.
Prepared prepare_on(kafka::MockCluster& cluster, const std::string& stem) {
  Prepared p{TestKafka::unique(stem) + ".", TestKafka::unique("g"), scenario()};
  for (const auto& t : topics_for(p.prefix)) cluster.create_topic(t, kPartitions);
  produce_all(p.prefix, p.events, cluster.bootstrap_servers(), kSmallBatches);
  return p;
}

/// Fresh topics on TestKafka, filled with the scenario in one-record batches.
Prepared prepare_small_batches(const std::string& stem) {
  Prepared p{TestKafka::unique(stem) + ".", TestKafka::unique("g"), scenario()};
  TestKafka::get().create_topics(topics_for(p.prefix), kPartitions);
  produce_all(p.prefix, p.events, TestKafka::get().brokers(), kSmallBatches);
  return p;
}

/// What a fault sees of the stream it disturbs. The stream's writes are held from the fault's
/// mark until the fault has begun: its first wait on the stream (or its end) lets them go on, so
/// the rest of the stream runs into the fault whatever the machine's speed.
struct FaultContext {
  const sync::StreamSync& stream;
  GatedStore& gate;
  /// The fault is in effect: the stream's writes go on.
  void begun() const { gate.open(); }
  /// Waits until the stream has committed `records` records or has ended; whether it had.
  bool committed(std::uint64_t records, milliseconds timeout = 30s) const {
    begun();
    stream.wait_for(
        [&](const sync::StreamCounters& c) { return c.ended || c.committed_records >= records; },
        timeout);
    return stream.counters().committed_records >= records;
  }
  /// Keeps the fault on for `duration`, or until the stream has ended.
  void hold(milliseconds duration) const {
    begun();
    stream.wait_for([](const sync::StreamCounters& c) { return c.ended.load(); }, duration);
  }
};
using Fault = std::function<void(const FaultContext&)>;

/// How a stream disturbed by a fault went.
struct FaultRun {
  std::optional<std::uint64_t> fired_at;  // records committed when the fault began
  double fault_s = 0;                     // from the fault's start to its end (healed)
  double run_s = 0;                       // the whole stream, group join included
  std::string error;                      // what StreamSync::run or the fault threw
  bool timed_out = false;                 // the stream did not end by itself
  sync::StreamSnapshot summary;
};

/// A stream must end this long after its fault ends; then the watchdog stops it.
constexpr milliseconds kFinishWithin = 30s;

/// Runs one consumer of `config` into `store` to its end, while `fault` runs on a second thread
/// once the consumer has committed `after` records.
FaultRun run_with_fault(const kafka::ConsumerConfig& config, store::ImageStore& store,
                        sync::BadRecordSink& bad, std::uint64_t after, const Fault& fault) {
  FaultRun out;
  std::atomic<bool> stop{false};
  std::exception_ptr fault_error;
  const auto t0 = Clock::now();
  GatedStore gated(store);
  sync::StreamSync stream(config, gated, bad, fault_options());
  gated.gate([&] { return stream.counters().committed_records >= after; });
  std::thread driver([&] {
    const FaultContext ctx{stream, gated};
    try {
      const bool reached = stream.wait_for(
          [&](const sync::StreamCounters& c) { return c.ended || c.committed_records >= after; },
          60s);
      if (reached && !stream.counters().ended) {
        out.fired_at = stream.counters().committed_records.load();
        const auto f0 = Clock::now();
        fault(ctx);
        out.fault_s = seconds_since(f0);
      }
    } catch (...) {
      fault_error = std::current_exception();
    }
    gated.open();  // whatever happened: the stream must be able to go on
    if (!stream.wait_for([](const sync::StreamCounters& c) { return c.ended.load(); },
                         kFinishWithin)) {
      out.timed_out = true;
      stop = true;
    }
  });
  try {
    stream.run(stop);
  } catch (const std::exception& e) {
    out.error = std::string("StreamSync::run threw: ") + e.what();
  }
  driver.join();
  out.run_s = seconds_since(t0);
  out.summary = stream.snapshot();
  if (fault_error) {
    try {
      std::rethrow_exception(fault_error);
    } catch (const std::exception& e) {
      out.error += std::string(out.error.empty() ? "" : "; ") + "the fault threw: " + e.what();
    }
  }
  return out;
}

/// The stream survived: it ended by itself without an error, the fault began mid-stream, the
/// store holds exactly the expected state, and everything was committed (a second consumer of
/// the group finds nothing new).
void check_survived(const FaultRun& run, const Prepared& p, const kafka::ConsumerConfig& config,
                    store::ImageStore& store) {
  MESSAGE("fault at " << (run.fired_at ? std::to_string(*run.fired_at) : "-") << "/"
                      << p.events.size() << " committed, lasting " << run.fault_s
                      << " s; stream read " << run.summary.records << " records in " << run.run_s
                      << " s");
  CHECK_MESSAGE(run.error.empty(), run.error);
  CHECK_MESSAGE(!run.timed_out, "the stream had not ended " << kFinishWithin.count() / 1000
                                                            << " s after the fault");
  REQUIRE_MESSAGE(run.fired_at.has_value(), "the stream ended before the fault could begin");
  CHECK_MESSAGE(*run.fired_at < p.events.size() / 2,
                "the fault began too late: the store's gate held no write");
  CHECK(run.summary.records >= p.events.size());  // redeliveries may add some
  check_store(store, p.events);

  QuietBadRecords bad;
  const auto t0 = Clock::now();
  sync::StreamSnapshot again;
  REQUIRE_NOTHROW(again = consume(config, store, bad, until_end()));
  MESSAGE("the group's next consumer read " << again.records << " records in " << seconds_since(t0)
                                            << " s");
  CHECK_MESSAGE(again.records == 0, "records were left uncommitted");
  check_store(store, p.events);
}

/// The point at which faults begin: a quarter of the scenario committed.
std::uint64_t quarter(const Prepared& p) { return p.events.size() / 4; }

/// Runs `fault` against a fresh scenario on `cluster` (a 1- or 3-broker mock) and checks that
/// the stream survived.
void survive_on_mock(kafka::MockCluster& cluster, const std::string& stem,
                     const std::function<void(const Prepared&)>& setup,
                     const std::function<void(const Prepared&, const FaultContext&)>& fault) {
  const Prepared p = prepare_on(cluster, stem);
  if (setup) setup(p);
  const auto config = fault_config(p, cluster.bootstrap_servers());
  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  const FaultRun run = run_with_fault(config, *store, bad, quarter(p),
                                      [&](const FaultContext& ctx) { fault(p, ctx); });
  check_survived(run, p, config, *store);
}

/// Brings a mock broker back up however the scope is left.
class BrokerDown {
 public:
  BrokerDown(kafka::MockCluster& cluster, std::int32_t id) : cluster_(cluster), id_(id) {
    cluster_.set_broker_down(id_);
  }
  ~BrokerDown() {
    try {
      cluster_.set_broker_up(id_);
    } catch (...) {
    }
  }
  BrokerDown(const BrokerDown&) = delete;
  BrokerDown& operator=(const BrokerDown&) = delete;

 private:
  kafka::MockCluster& cluster_;
  std::int32_t id_;
};

/// Pushes `errors` for `request` on every broker of `cluster` and waits until requests have
/// taken them all (or the stream ended).
void push_and_drain(kafka::MockCluster& cluster, MockRequest request,
                    const std::vector<MockError>& errors, int delay_ms, const FaultContext& ctx) {
  for (std::int32_t b = 1; b <= cluster.brokers(); ++b)
    cluster.push_broker_request_errors(b, request, errors, delay_ms);
  ctx.begun();
  auto drained = [&] {
    for (std::int32_t b = 1; b <= cluster.brokers(); ++b)
      if (cluster.pending_broker_errors(b, request) > 0) return false;
    return true;
  };
  ctx.stream.wait_for([&](const sync::StreamCounters& c) { return c.ended || drained(); }, 30s);
}

}  // namespace

// ---- the embedded Kafka (librdkafka's mock cluster) --------------------------------------------

TEST_CASE("fault: mock: the only broker goes down for 3 s mid-stream and comes back") {
  require_kafka(true);
  // The suite's own embedded Kafka: fetches, heartbeats and commits all fail while it is down.
  kafka::MockCluster& cluster = *TestKafka::get().mock();
  survive_on_mock(cluster, "down1", {}, [&](const Prepared&, const FaultContext& ctx) {
    BrokerDown down(cluster, 1);
    ctx.hold(3s);
  });
}

TEST_CASE("fault: mock: the coordinator's broker goes down for 3 s mid-stream and comes back") {
  require_kafka(true);
  kafka::MockCluster cluster(3);
  survive_on_mock(
      cluster, "down3", [&](const Prepared& p) { cluster.set_group_coordinator(p.group, 2); },
      [&](const Prepared&, const FaultContext& ctx) {
        BrokerDown down(cluster, 2);  // the coordinator, and the leader of some partitions
        ctx.hold(3s);
      });
}

TEST_CASE(
    "fault: mock: a broker stays down past the session timeout while its partitions move away") {
  require_kafka(true);
  kafka::MockCluster cluster(3);
  survive_on_mock(
      cluster, "failover", [&](const Prepared& p) { cluster.set_group_coordinator(p.group, 2); },
      [&](const Prepared& p, const FaultContext& ctx) {
        BrokerDown down(cluster, 2);
        // Leadership fails over to the two brokers left, as a replicated cluster would do; the
        // group's coordinator stays on the broker that is down, so the session expires (6 s).
        for (const auto& topic : topics_for(p.prefix))
          for (std::int32_t part = 0; part < kPartitions; ++part)
            cluster.set_partition_leader(topic, part, part % 2 ? 1 : 3);
        ctx.hold(8s);
      });
}

TEST_CASE("fault: mock: Fetch requests fail with retriable errors mid-stream") {
  require_kafka(true);
  kafka::MockCluster cluster(1);
  survive_on_mock(cluster, "fetcherr", {}, [&](const Prepared&, const FaultContext& ctx) {
    push_and_drain(cluster, MockRequest::fetch,
                   {MockError::not_leader_or_follower, MockError::request_timed_out,
                    MockError::leader_not_available, MockError::disconnect,
                    MockError::not_leader_or_follower, MockError::request_timed_out},
                   100, ctx);
  });
}

TEST_CASE("fault: mock: OffsetCommit requests fail with retriable errors mid-stream") {
  require_kafka(true);
  kafka::MockCluster cluster(1);
  survive_on_mock(cluster, "commiterr", {}, [&](const Prepared&, const FaultContext& ctx) {
    push_and_drain(cluster, MockRequest::offset_commit,
                   {MockError::coordinator_not_available, MockError::not_coordinator,
                    MockError::request_timed_out, MockError::coordinator_load_in_progress,
                    MockError::disconnect, MockError::coordinator_not_available},
                   0, ctx);
  });
}

TEST_CASE("fault: mock: the group coordinator moves to another broker mid-stream, twice") {
  require_kafka(true);
  kafka::MockCluster cluster(3);
  survive_on_mock(
      cluster, "coordmove", [&](const Prepared& p) { cluster.set_group_coordinator(p.group, 1); },
      [&](const Prepared& p, const FaultContext& ctx) {
        cluster.set_group_coordinator(p.group, 3);
        if (ctx.committed(p.events.size() / 2)) cluster.set_group_coordinator(p.group, 2);
      });
}

namespace {

/// A consumer running on a thread of its own until stopped.
class Member {
 public:
  Member(const kafka::ConsumerConfig& config, store::ImageStore& store, sync::BadRecordSink& bad,
         const sync::StreamOptions& options)
      : stream_(config, store, bad, options), thread_([this] {
          try {
            stream_.run(stop_);
          } catch (const std::exception& e) {
            error_ = std::string("StreamSync::run threw: ") + e.what();
          }
        }) {}
  ~Member() { stop(); }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  const sync::StreamCounters& counters() const { return stream_.counters(); }
  /// Waits until `condition` holds (true) or `timeout` passes; see StreamSync::wait_for.
  bool wait_for(const std::function<bool()>& condition, milliseconds timeout) const {
    return stream_.wait_for([&](const sync::StreamCounters&) { return condition(); }, timeout);
  }
  /// Caught up: everything read is committed and nothing is left to read.
  bool idle() const {
    return counters().committed_records == counters().records && stream_.snapshot().lag == 0;
  }
  /// Stops the consumer and waits for it; what run() threw, if anything.
  const std::string& stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::string error_;
  sync::StreamSync stream_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("fault: mock: OffsetCommit requests fail while a second member joins the group") {
  require_kafka(true);
  kafka::MockCluster cluster(1);
  const Prepared p = prepare_on(cluster, "join");
  const auto config = fault_config(p, cluster.bootstrap_servers());
  auto store = store::open_store("sqlite::memory:");
  GatedStore shared(*store);  // both members write into it
  QuietBadRecords bad1, bad2;
  sync::StreamOptions options = fault_options();
  options.exit_at_end = false;  // members run until stopped

  Member first(config, shared, bad1, options);
  // The first member's writes are held at a quarter, so that the rest is read, written and not
  // committed once commits fail.
  shared.gate([&] { return first.counters().committed_records >= quarter(p); });
  REQUIRE(first.wait_for([&] { return first.counters().committed_records >= quarter(p); }, 30s));
  // Every commit fails from now on, the synchronous one of the first member's revoke included.
  cluster.push_request_errors(MockRequest::offset_commit,
                              std::vector<MockError>(1000, MockError::request_timed_out));
  shared.open();
  const auto t0 = Clock::now();
  Member second(config, shared, bad2, options);
  // The rebalance completes all the same: the second member re-reads the uncommitted tail of
  // the partitions it takes over.
  // A join after a member's failed commits can wait for its session timeout (10 s) more than
  // once: a stall is a minute without a record.
  CHECK_MESSAGE(second.wait_for([&] { return second.counters().records > 0; }, 60s),
                "the rebalance stalled: the second member got no records in 60 s");
  MESSAGE("the second member read its first record after " << seconds_since(t0) << " s");
  cluster.clear_request_errors(MockRequest::offset_commit);
  CHECK(second.wait_for([&] { return second.idle(); }, 30s));
  // Both members are caught up before they stop: a member stopping drops the records it has
  // read but not yet written, uncommitted (the next owner reads them again), and the second
  // member stops too soon after the first to take those over.
  CHECK(first.wait_for([&] { return first.idle(); }, 30s));
  // The first member leaves while the group is stable, so its last commit goes through.
  const std::string first_error = first.stop();
  CHECK_MESSAGE(first_error.empty(), first_error);
  const std::string second_error = second.stop();
  CHECK_MESSAGE(second_error.empty(), second_error);
  check_store(*store, p.events);

  QuietBadRecords bad;
  sync::StreamSnapshot again;
  REQUIRE_NOTHROW(again = consume(config, *store, bad, until_end()));
  CHECK_MESSAGE(again.records == 0, "records were left uncommitted");
}

// ---- a real Apache Kafka broker (the fixture in tests/fixtures/kafka) --------------------------

namespace {

/// The fixture broker's pid, or nullopt when the tests run against a cluster named by
/// LIMS_TEST_BROKERS, whose processes they cannot signal (the case then skips).
std::optional<pid_t> fixture_broker() {
  require_kafka(false);
  if (TestKafka::get().fixture_dir().empty()) {
    test::skip("LIMS_TEST_BROKERS names a cluster whose processes these tests cannot signal");
    return std::nullopt;
  }
  return TestKafka::get().fixture_pid();
}

/// A descriptor that becomes readable when `pid` exits (pidfd_open); throws lims::Error if the
/// process cannot be watched.
int pid_exited_fd(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) throw Error("cannot watch the broker (pid " + std::to_string(pid) + ")");
  return fd;
}

/// Waits up to `timeout` for the process behind `fd` to exit (a zombie counts), then closes
/// `fd`; whether it exited.
bool wait_exit(int fd, milliseconds timeout) {
  pollfd watch{fd, POLLIN, 0};
  const bool exited = ::poll(&watch, 1, static_cast<int>(timeout.count())) == 1;
  ::close(fd);
  return exited;
}

/// Sends `signal` to `pid`; throws lims::Error if it cannot.
void send(pid_t pid, int signal) {
  if (::kill(pid, signal) != 0)
    throw Error("cannot send signal " + std::to_string(signal) + " to the broker (pid " +
                std::to_string(pid) + ")");
}

/// Continues a stopped process however the scope is left.
class Paused {
 public:
  explicit Paused(pid_t pid) : pid_(pid) { send(pid_, SIGSTOP); }
  ~Paused() { ::kill(pid_, SIGCONT); }
  Paused(const Paused&) = delete;
  Paused& operator=(const Paused&) = delete;

 private:
  pid_t pid_;
};

void survive_on_fixture(const std::string& stem,
                        const std::function<void(pid_t, const FaultContext&)>& fault) {
  const auto pid = fixture_broker();
  if (!pid) return;
  const Prepared p = prepare_small_batches(stem);
  const auto config = fault_config(p, TestKafka::get().brokers());
  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  const FaultRun run = run_with_fault(config, *store, bad, quarter(p),
                                      [&](const FaultContext& ctx) { fault(*pid, ctx); });
  check_survived(run, p, config, *store);
}

}  // namespace

TEST_CASE("fault: kafka: the broker is paused (SIGSTOP) for 3 s mid-stream") {
  survive_on_fixture("pause", [](pid_t pid, const FaultContext& ctx) {
    Paused paused(pid);
    ctx.hold(3s);
  });
}

TEST_CASE("fault: kafka: the broker is paused for longer than the session timeout") {
  survive_on_fixture("longpause", [](pid_t pid, const FaultContext& ctx) {
    Paused paused(pid);
    ctx.hold(9s);  // session.timeout.ms is 6 s
  });
}

TEST_CASE("fault: kafka: the broker is killed (kill -9) and restarted on its port and data") {
  survive_on_fixture("kill", [](pid_t pid, const FaultContext&) {
    const int exited = pid_exited_fd(pid);  // taken first: it cannot miss the exit
    send(pid, SIGKILL);
    if (!wait_exit(exited, 10s))
      throw Error("the broker (pid " + std::to_string(pid) + ") outlived kill -9 by 10 s");
    TestKafka::get().restart_fixture();
  });
}

}  // namespace lims
