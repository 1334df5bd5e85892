// The simulated LIMS workload: job periods, proportions and determinism.

#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "sim/workload.hpp"

namespace lims {
namespace {

sim::WorkloadOptions small_images(std::uint64_t seed, int cameras = 1) {
  sim::WorkloadOptions o;
  o.seed = seed;
  o.cameras = cameras;
  o.image_min_bytes = o.image_max_bytes = 4000;
  o.image_pool = 2;
  return o;
}

/// Every change due before `until_s` LIMS seconds, by job.
std::map<sim::Job, int> jobs_until(sim::Workload& w, double until_s) {
  std::map<sim::Job, int> count;
  Micros now = 1'700'000'000'000'000;
  while (w.next_due_s() < until_s)
    if (auto c = w.next(++now)) ++count[c->job];
  return count;
}

}  // namespace

TEST_CASE("workload: jobs run at LIMS's periods") {
  sim::Workload w(small_images(1));
  auto count = jobs_until(w, 7000);  // due at 0, 100, ... 6900 for a 100 s job
  CHECK(count[sim::Job::camera] == 70);
  CHECK(count[sim::Job::recognizer] == 70);  // each camera image gets classified
  CHECK(count[sim::Job::activate] == 24);    // 0, 300, ... 6900
  CHECK(count[sim::Job::metadata] == 24);
  CHECK(count[sim::Job::soft_delete] == 10);  // 0, 700, ... 6300
}

TEST_CASE("workload: four cameras create four times as often") {
  sim::Workload w(small_images(1, 4));
  CHECK(jobs_until(w, 7000)[sim::Job::camera] == 280);
}

TEST_CASE("workload: the same seed gives the same sequence, another seed another") {
  sim::Workload a(small_images(7)), b(small_images(7)), c(small_images(8));
  bool differs = false;
  for (Micros now = 1; now < 300; ++now) {
    auto x = a.next(now), y = b.next(now), z = c.next(now);
    REQUIRE(x.has_value() == y.has_value());
    if (!x) continue;
    CHECK(x->job == y->job);
    CHECK(x->plant == y->plant);
    CHECK(x->record == y->record);
    if (!z || z->plant != x->plant || z->record.id != x->record.id) differs = true;
  }
  CHECK(differs);
}

TEST_CASE("workload: changes carry the whole record, stamped when they happen") {
  sim::Workload w(small_images(3));
  std::map<std::pair<Plant, std::int64_t>, ImageRecord> state;
  for (Micros now = 1000; now < 1400; ++now) {
    auto c = w.next(now);
    if (!c) continue;
    const ImageRecord& r = c->record;
    CHECK(r.data.size() > 3);
    CHECK(r.data[0] == 0xFF);
    CHECK(r.data[1] == 0xD8);
    CHECK(std::abs(r.latitude - 48.5) <= 0.1);
    CHECK(std::abs(r.longitude - 16.9) <= 0.1);
    if (c->job == sim::Job::camera) {
      CHECK(r.created_at == now);
      CHECK_FALSE(r.updated_at.has_value());
      CHECK(state.count({c->plant, r.id}) == 0);  // a new id
    } else {
      CHECK(r.updated_at == now);
      REQUIRE(state.count({c->plant, r.id}) == 1);
      CHECK(r.created_at == state[{c->plant, r.id}].created_at);
    }
    if (c->job == sim::Job::recognizer) {
      CHECK(r.disease.has_value());
      CHECK(*r.percentage >= 0.5);
    }
    if (c->job == sim::Job::soft_delete) CHECK(r.is_deleted);
    state[{c->plant, r.id}] = r;
  }
}

TEST_CASE("workload: intensity multiplies every job's rate") {
  auto o = small_images(1);
  o.intensity = 2;
  sim::Workload w(o);
  auto count = jobs_until(w, 3500);  // as 7000 s at intensity 1
  CHECK(count[sim::Job::camera] == 70);
  CHECK(count[sim::Job::activate] == 24);
  CHECK(count[sim::Job::soft_delete] == 10);
}

TEST_CASE("workload: a pre-filled database comes first, classified, and new ids follow it") {
  sim::Workload w(small_images(3));
  const Micros now = 1'700'000'000'000'000;
  std::map<Plant, std::vector<std::int64_t>> ids;
  w.prefill(4, now, [&](const sim::Change& c) {
    ids[c.plant].push_back(c.record.id);
    CHECK(c.record.disease.has_value());
    CHECK(c.record.created_at < now);
    CHECK_FALSE(c.record.data.empty());
  });
  for (Plant p : kPlants) CHECK(ids[p] == std::vector<std::int64_t>{1, 2, 3, 4});
  for (Micros t = now; w.next_due_s() < 1000; ++t)
    if (auto c = w.next(t); c && c->job == sim::Job::camera) CHECK(c->record.id > 4);
}

TEST_CASE("workload: the same seed pre-fills the same images") {
  sim::Workload a(small_images(5)), b(small_images(5));
  std::vector<ImageRecord> ra, rb;
  a.prefill(3, 1000, [&](const sim::Change& c) { ra.push_back(c.record); });
  b.prefill(3, 1000, [&](const sim::Change& c) { rb.push_back(c.record); });
  CHECK(ra == rb);
}

}  // namespace lims
