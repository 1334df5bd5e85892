// Bad input end to end: every class of record the codec or the store refuses is dead-lettered
// with its origin, consumption goes on, stored data stays as it was, and offsets move past a
// bad record only once it is dealt with. The dead-letter topic is made sure of at start, and
// one that cannot take a dead letter holds the stream back (retried with backoff) instead of
// ending it.

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codec/api_json.hpp"
#include "common/error.hpp"
#include "kafka/admin.hpp"
#include "kafka/consumer.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/producer.hpp"
#include "kafka/reader.hpp"
#include "scenario.hpp"
#include "store/image_store.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"

namespace lims {
namespace {

constexpr Micros kT0 = 1696779589123123;  // 2023-10-08T15:39:49.123123

ImageRecord record(std::int64_t id, int version) {
  ImageRecord r;
  r.id = id;
  r.camera_id = version;
  r.data = {0xff, 0xd8, 0xff, 0xe0, static_cast<std::uint8_t>(version)};
  r.latitude = 48.5;
  r.longitude = 16.9;
  r.created_at = kT0 + id;
  if (version > 1) r.updated_at = kT0 + id + version * 1000000;
  r.is_active = true;
  return r;
}

/// A valid event for `r` with the text `from` replaced by `to` (which must occur in it).
std::string event_with(const ImageRecord& r, std::string_view from, std::string_view to) {
  std::string json = codec::to_event_json(r);
  const auto at = json.find(from);
  REQUIRE(at != std::string::npos);
  json.replace(at, from.size(), to);
  return json;
}

struct Sent {
  std::string name;   // the class of bad input
  std::string topic;  // full topic name
  std::string key;
  std::optional<std::string> value;
};

kafka::ProducerConfig big_record_producer() {
  // Room for the record over the stores' 16 MiB document limit.
  return {test::TestKafka::get().brokers(), 10000, {{"message.max.bytes", "33554432"}}};
}

void produce(const std::vector<Sent>& records) {
  kafka::Producer producer(big_record_producer());
  for (const auto& r : records)
    producer.produce(r.topic, r.key,
                     r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, 0);
  producer.flush(30000);
  REQUIRE(producer.failed() == 0);
}

struct DeadLetter {
  std::string key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
};

/// Every record of single-partition `topic`, read from the start with a fresh group.
std::vector<DeadLetter> read_all(const std::string& topic) {
  kafka::Consumer consumer(test::consumer_of({topic}, test::TestKafka::unique("reader")), nullptr);
  std::vector<DeadLetter> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = consumer.poll(100);
    if (!m) continue;
    if (m->is_partition_eof()) break;
    if (!m->is_record()) continue;
    DeadLetter d;
    if (m->key()) d.key.assign(m->key(), m->key_size());
    if (m->value()) d.value.emplace(m->value(), m->value_size());
    for (const char* name : {"lims.error", "lims.source.topic", "lims.source.partition",
                             "lims.source.offset", "lims.consumer.group", "lims.value.truncated"})
      if (auto h = m->header(name)) d.headers[name] = std::string(*h);
    out.push_back(std::move(d));
  }
  consumer.close();
  return out;
}

/// Counts a batch's rejects and, when asked, refuses to keep them.
class RecordingSink final : public sync::BadRecordSink {
 public:
  explicit RecordingSink(bool fail_flush = false) : fail_flush_(fail_flush) {}
  sync::Verdict reject(const codec::RawRecord&, std::string_view) override {
    ++rejected;
    return sync::Verdict::carry_on();
  }
  void flush() override {
    ++flushes;
    if (fail_flush_) throw Error("dead letters not acknowledged");
  }
  std::atomic<int> rejected{0};
  int flushes = 0;

 private:
  bool fail_flush_;
};

/// Passes everything on to another sink, counting flush() calls so a test can wait for some.
class CountingFlushes final : public sync::BadRecordSink {
 public:
  explicit CountingFlushes(sync::BadRecordSink& inner) : inner_(inner) {}
  sync::Verdict reject(const codec::RawRecord& record, std::string_view reason) override {
    return inner_.reject(record, reason);
  }
  void flush() override {
    {
      std::lock_guard lock(mutex_);
      ++flushes_;
    }
    cv_.notify_all();
    inner_.flush();
  }
  /// Waits (bounded) until flush() has been called `n` more times.
  void wait_flushes(int n) {
    std::unique_lock lock(mutex_);
    const int target = flushes_ + n;
    REQUIRE(cv_.wait_for(lock, std::chrono::seconds(60), [&] { return flushes_ >= target; }));
  }

 private:
  sync::BadRecordSink& inner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int flushes_ = 0;
};

}  // namespace

TEST_CASE("bad records: every class is dead-lettered, consumption goes on, stored data stays") {
  auto& kafka = test::TestKafka::get();
  const std::string prefix = test::TestKafka::unique("bad") + ".";
  const std::string potato = prefix + "potato", tomato = prefix + "tomato",
                    cabbage = prefix + "cabbage", dead = prefix + "dead-letters";
  kafka.create_topics({potato, tomato, cabbage, dead}, 1);

  const ImageRecord p1 = record(1, 1), p3 = record(3, 1), t1 = record(1, 1);
  ImageRecord huge = record(2, 1);  // over the 16 MiB document limit (as base64, 22 MB)
  huge.data.assign(store::kMaxDocumentBytes + 1024, 0xab);
  ImageRecord huge_update = record(1, 5);  // a newer version of potato 1, too big to store
  huge_update.disease = std::string(store::kMaxDocumentBytes + 1, 'x');

  const std::string good_p1 = codec::to_event_json(p1);
  std::vector<Sent> bad = {
      {"not JSON", potato, "1", "this is not json"},
      {"truncated JSON", potato, "1", good_p1.substr(0, good_p1.size() / 2)},
      {"deep nesting", potato, "1",
       "{\"id\": 1, \"x\": " + std::string(200000, '[') + std::string(200000, ']') + "}"},
      {"huge string where a number belongs", potato, "1",
       event_with(p1, "\"camera_id\":1", "\"camera_id\":\"" + std::string(1 << 20, '7') + "\"")},
      {"wrong type", potato, "1", event_with(p1, "\"is_active\":true", "\"is_active\":\"yes\"")},
      {"null where required", potato, "1", event_with(p1, "\"camera_id\":1", "\"camera_id\":null")},
      {"negative id", potato, "1", event_with(p1, "\"id\":1", "\"id\":-1")},
      {"zero id", potato, "1", event_with(p1, "\"id\":1", "\"id\":0")},
      {"float id", potato, "1", event_with(p1, "\"id\":1", "\"id\":1.5")},
      {"id beyond 64 bits", potato, "1", event_with(p1, "\"id\":1", "\"id\":18446744073709551616")},
      {"NaN", potato, "1", event_with(p1, "\"percentage\":null", "\"percentage\":NaN")},
      {"Infinity", potato, "1", event_with(p1, "48.5", "1e999")},
      {"invalid UTF-8", potato, "1",
       event_with(p1, "\"disease\":null", "\"disease\":\"\xff\xfe\"")},
      {"invalid hex", potato, "1", event_with(p1, "\"ffd8ffe001\"", "\"ffd8ffe00\"")},
      {"invalid base64", potato, "1", event_with(p1, "\"ffd8ffe001\"", "\"@@@@\"")},
      {"tombstone whose key holds no id", potato, "abc", std::nullopt},
      {"empty value", potato, "1", ""},
      {"topic that is not a plant", cabbage, "1", good_p1},
  };
  // The embedded Kafka keeps only ~5 MiB per partition: records over the stores' document limit
  // go through the real broker only (its fixture takes records up to 32 MiB).
  if (!kafka.is_mock()) {
    bad.push_back({"image over the document limit", potato, "2",
                   codec::to_event_json(huge, codec::DataEncoding::base64)});
    bad.push_back(
        {"string over the document limit", potato, "1", codec::to_event_json(huge_update)});
  }
  std::vector<Sent> all = {{"good", potato, "1", good_p1},
                           {"good", tomato, "1", codec::to_event_json(t1)}};
  all.insert(all.end(), bad.begin(), bad.end());
  all.push_back({"good after the bad", potato, "3", codec::to_event_json(p3)});
  produce(all);

  const std::string group = test::TestKafka::unique("g");
  auto store = store::open_store("sqlite::memory:");
  sync::DeadLetterTopic::Config dlq;
  dlq.producer = {kafka.brokers(), 10000, {}};
  dlq.topic = dead;
  dlq.group = group;
  sync::DeadLetterTopic sink(dlq);
  const auto config = test::consumer_of({potato, tomato, cabbage}, group);
  const auto s = test::consume(config, *store, sink, test::until_end());

  CHECK(s.records == all.size());
  CHECK(s.bad == bad.size());
  CHECK(s.applied == 3);
  // Stored data: exactly the good records; nothing bad touched potato 1 or created potato 2.
  CHECK(store->get(Plant::potato, 1) == p1);
  CHECK_FALSE(store->get(Plant::potato, 2).has_value());
  CHECK(store->get(Plant::potato, 3) == p3);
  CHECK(store->get(Plant::tomato, 1) == t1);
  CHECK(store->count(Plant::potato) == 2);

  // Each bad record is in the dead-letter topic, in its partition's order, with its origin.
  const auto letters = read_all(dead);
  REQUIRE(letters.size() == bad.size());
  std::map<std::string, std::int64_t> offset_of;  // source offset per bad record, by class
  std::int64_t potato_offset = 1;                 // after the first good record
  for (const auto& b : bad) offset_of[b.name] = b.topic == cabbage ? 0 : potato_offset++;
  for (const auto& b : bad) {
    CAPTURE(b.name);
    auto it = std::find_if(letters.begin(), letters.end(), [&](const DeadLetter& d) {
      return d.headers.at("lims.source.topic") == b.topic &&
             d.headers.at("lims.source.offset") == std::to_string(offset_of[b.name]);
    });
    REQUIRE(it != letters.end());
    CHECK(it->key == b.key);
    CHECK(it->headers.at("lims.source.partition") == "0");
    CHECK(it->headers.at("lims.consumer.group") == group);
    const std::string& error = it->headers.at("lims.error");
    CHECK(error.find(b.topic + "/0@" + std::to_string(offset_of[b.name]) + ": ") == 0);
    CHECK(error.find('\n') == std::string::npos);
    CHECK(error.size() < 1000);  // a huge input gives a short reason
    if (!b.value) {
      CHECK_FALSE(it->value.has_value());
    } else if (b.value->size() > dlq.max_value_bytes) {
      CHECK(it->headers.at("lims.value.truncated") == std::to_string(b.value->size()));
      CHECK(*it->value == b.value->substr(0, dlq.max_value_bytes));
    } else {
      CHECK(it->value == b.value);
    }
  }

  // Everything was committed: the group has nothing left to read.
  RecordingSink none;
  CHECK(test::consume(config, *store, none, test::until_end()).records == 0);
}

TEST_CASE("bad records: --on-bad-record=fail commits what came before and stops at the record") {
  auto& kafka = test::TestKafka::get();
  const std::string topic = test::TestKafka::unique("fail") + ".potato";
  kafka.create_topics({topic}, 1);
  produce({{"good", topic, "1", codec::to_event_json(record(1, 1))},
           {"bad", topic, "2", "{\"id\": 2"},
           {"good", topic, "3", codec::to_event_json(record(3, 1))}});
  const auto config = test::consumer_of({topic}, test::TestKafka::unique("g"));
  auto store = store::open_store("sqlite::memory:");

  sync::FailOnBadRecord fail;
  try {
    test::consume(config, *store, fail, test::until_end());
    FAIL("expected the run to fail");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::data);
    CHECK(std::string(e.what()).find(topic + "/0@1: ") != std::string::npos);
  }
  // What came before it was written and committed; the next run starts at the bad record.
  CHECK(store->get(Plant::potato, 1).has_value());
  CHECK_FALSE(store->get(Plant::potato, 3).has_value());
  RecordingSink skip;
  const auto s = test::consume(config, *store, skip, test::until_end());
  CHECK(s.records == 2);
  CHECK(skip.rejected == 1);
  CHECK(store->get(Plant::potato, 1).has_value());
  CHECK(store->get(Plant::potato, 3).has_value());
}

TEST_CASE("bad records: offsets past a rejected record wait until its dead letter is kept") {
  auto& kafka = test::TestKafka::get();
  const std::string topic = test::TestKafka::unique("unkept") + ".tomato";
  kafka.create_topics({topic}, 1);
  produce({{"good", topic, "1", codec::to_event_json(record(1, 1))},
           {"bad", topic, "2", "[]"},
           {"good", topic, "3", codec::to_event_json(record(3, 1))}});
  const auto config = test::consumer_of({topic}, test::TestKafka::unique("g"));
  auto store = store::open_store("sqlite::memory:");

  RecordingSink unkept(/*fail_flush=*/true);
  CHECK_THROWS_AS(test::consume(config, *store, unkept, test::until_end()), Error);
  CHECK(unkept.flushes >= 1);
  // Nothing of the batch was committed, so the group reads all three again.
  RecordingSink kept;
  const auto s = test::consume(config, *store, kept, test::until_end());
  CHECK(s.records == 3);
  CHECK(kept.rejected == 1);
  CHECK(kept.flushes >= 1);
}

TEST_CASE("bad records: an existing dead-letter topic is found") {
  auto& kafka = test::TestKafka::get();
  const std::string existing = test::TestKafka::unique("dlq-existing");
  kafka.create_topics({existing}, 1);
  CHECK(kafka::ensure_topic(kafka.brokers(), existing, 1) == kafka::TopicState::existed);
}

// The embedded Kafka answers no CreateTopics, and its metadata requests create any topic they
// name: a real broker's case.
TEST_CASE("bad records: kafka: a missing dead-letter topic is created") {
  test::require_kafka(false);
  auto& kafka = test::TestKafka::get();
  const std::string missing = test::TestKafka::unique("dlq-missing");
  CHECK(kafka::ensure_topic(kafka.brokers(), missing, 1) == kafka::TopicState::created);
  CHECK(kafka::ensure_topic(kafka.brokers(), missing, 1) == kafka::TopicState::existed);
  const auto ranges = kafka::Reader({kafka.brokers(), 10000, {}, 10}).partitions({missing});
  CHECK(ranges.size() == 1);
}

// The embedded Kafka's topics can be made to look missing: its case.
TEST_CASE("bad records: mock: a dead-letter topic that takes nothing holds the stream back") {
  test::require_kafka(true);
  auto& kafka = test::TestKafka::get();
  const std::string topic = test::TestKafka::unique("held") + ".tomato";
  const std::string dead = test::TestKafka::unique("held-dead-letters");
  kafka.create_topics({topic, dead}, 1);
  // As on a broker that does not create topics on first use, with the topic not there: its
  // records wait for it, then time out.
  kafka.mock()->set_topic_error(dead, kafka::MockError::unknown_topic_or_partition);
  const ImageRecord r1 = record(1, 1), r3 = record(3, 1);
  produce({{"good", topic, "1", codec::to_event_json(r1)},
           {"bad", topic, "2", "[]"},
           {"good", topic, "3", codec::to_event_json(r3)}});

  // The topic cannot be created either: the embedded Kafka answers no CreateTopics, as a broker
  // that does not let lims create topics would refuse it. The sink says so and carries on.
  CHECK_THROWS_AS(kafka::ensure_topic(kafka.brokers(), dead, 1, {}, 1000), Error);
  const std::string group = test::TestKafka::unique("g");
  sync::DeadLetterTopic::Config dlq;
  dlq.producer = {kafka.brokers(), 1000, {}};
  dlq.topic = dead;
  dlq.group = group;
  dlq.ack_timeout_ms = 300;
  sync::DeadLetterTopic letters(dlq);
  CountingFlushes sink(letters);

  auto store = store::open_store("sqlite::memory:");
  sync::StreamOptions options = test::until_end();
  options.retry_initial_ms = 20;
  options.retry_max_ms = 100;
  const auto config = test::consumer_of({topic}, group);
  sync::StreamSync stream(config, *store, sink, options);
  const auto& c = stream.counters();
  test::RunInBackground runner(stream);
  REQUIRE(stream.wait_for([](const auto& c) { return c.backing_off.load(); },
                          std::chrono::seconds(60)));
  const auto reason = stream.backoff_reason();
  REQUIRE(reason.has_value());
  CHECK(reason->find("1 dead letter to " + dead + " not acknowledged") == 0);

  // Retried, with the run going on: nothing past the bad record committed, the dead letter kept.
  sink.wait_flushes(3);
  CHECK_FALSE(c.ended);
  CHECK(c.backing_off);
  CHECK(c.records == 3);
  CHECK(c.committed_records <= 1);
  CHECK(letters.unacknowledged() == 1);

  // The topic takes records again: the dead letter goes out once, and the stream catches up.
  kafka.mock()->set_topic_error(dead, kafka::MockError::none);
  runner.join();
  CHECK_FALSE(c.backing_off);
  CHECK_FALSE(stream.backoff_reason().has_value());
  CHECK(c.committed_records == 3);
  CHECK(letters.unacknowledged() == 0);
  CHECK(store->get(Plant::tomato, 1) == r1);
  CHECK(store->get(Plant::tomato, 3) == r3);
  const auto kept = read_all(dead);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].headers.at("lims.source.topic") == topic);
  CHECK(kept[0].headers.at("lims.source.offset") == "1");
  CHECK(kept[0].value == "[]");
  RecordingSink none;
  CHECK(test::consume(config, *store, none, test::until_end()).records == 0);
}

}  // namespace lims
