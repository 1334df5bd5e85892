#include "sim/workload.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/error.hpp"
#include "sim/jpeg.hpp"

namespace lims::sim {
namespace {

// The classifier's classes per plant (potato 3, pepper 2, tomato 10, each with "Healthy").
const std::vector<const char*>& diseases(Plant p) {
  static const std::array<std::vector<const char*>, 3> table = {{
      {"Early Blight", "Late Blight", "Healthy"},
      {"Bacterial Spot", "Early Blight", "Late Blight", "Leaf Mold", "Septoria Leaf Spot",
       "Spider Mites", "Target Spot", "Yellow Leaf Curl Virus", "Mosaic Virus", "Healthy"},
      {"Bacterial Spot", "Healthy"},
  }};
  return table[static_cast<std::size_t>(p)];
}

/// A GPS coordinate near `centre`, rounded to 6 decimals as LIMS's cameras report them.
double near(double centre, double u) { return std::round((centre + (u - 0.5) * 0.2) * 1e6) / 1e6; }

// LIMS job periods in seconds (docs/lims-contract.md).
constexpr std::array<double, kJobCount> kPeriods = {100, 100, 300, 300, 700};

}  // namespace

std::string_view job_name(Job job) {
  switch (job) {
    case Job::camera: return "camera";
    case Job::recognizer: return "recognizer";
    case Job::activate: return "activate";
    case Job::metadata: return "metadata";
    case Job::soft_delete: return "delete";
  }
  return "?";
}

Workload::Workload(const WorkloadOptions& options) : options_(options), rng_(options.seed) {
  if (options_.cameras < 1) throw Error("cameras must be at least 1", ExitCode::usage);
  if (!(options_.intensity > 0)) throw Error("intensity must be above 0", ExitCode::usage);
  if (options_.image_min_bytes > options_.image_max_bytes)
    throw Error("image size range is empty", ExitCode::usage);
  for (int i = 0; i < options_.image_pool; ++i) {
    std::size_t size =
        options_.image_min_bytes + (options_.image_max_bytes - options_.image_min_bytes) * i /
                                       std::max(1, options_.image_pool - 1);
    jpegs_.push_back(make_leaf_jpeg(options_.seed * 7919 + static_cast<std::uint64_t>(i), size));
  }
  for (int j = 0; j < kJobCount; ++j) {
    period_[j] = kPeriods[static_cast<std::size_t>(j)] / options_.intensity;
    if (static_cast<Job>(j) == Job::camera) period_[j] /= options_.cameras;
    next_due_[j] = 0;
  }
}

double Workload::next_due_s() const { return *std::min_element(next_due_, next_due_ + kJobCount); }

std::pair<Plant, Workload::Image*> Workload::pick(bool (*eligible)(const Image&)) {
  // A random plant with an eligible image, then a random eligible image of it.
  std::array<Plant, 3> plants = kPlants;
  std::shuffle(plants.begin(), plants.end(), rng_);
  for (Plant p : plants) {
    std::vector<Image*> candidates;
    for (Image& img : images(p))
      if (eligible(img)) candidates.push_back(&img);
    if (candidates.empty()) continue;
    return {p,
            candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng_)]};
  }
  return {Plant::potato, nullptr};
}

void Workload::prefill(std::int64_t per_plant, Micros now,
                       const std::function<void(const Change&)>& visit) {
  std::uniform_real_distribution<double> unit(0, 1);
  for (Plant plant : kPlants) {
    auto& list = images(plant);
    for (std::int64_t n = 0; n < per_plant; ++n) {
      Image img;
      img.meta.id = static_cast<std::int64_t>(list.size()) + 1;
      img.meta.camera_id = std::uniform_int_distribution<int>(1, options_.cameras)(rng_);
      img.meta.latitude = near(48.5, unit(rng_));
      img.meta.longitude = near(16.9, unit(rng_));
      img.meta.created_at = now - (per_plant - n) * 1'000'000;
      img.meta.is_active = true;
      const auto& classes = diseases(plant);
      img.meta.disease =
          classes[std::uniform_int_distribution<std::size_t>(0, classes.size() - 1)(rng_)];
      img.meta.percentage = 0.5 + unit(rng_) * 0.5;
      img.jpeg = std::uniform_int_distribution<std::uint32_t>(
          0, static_cast<std::uint32_t>(jpegs_.size() - 1))(rng_);
      list.push_back(img);
      visit(make(Job::camera, plant, list.back(), 0));
    }
  }
}

std::optional<Change> Workload::next(Micros now) {
  const int j = static_cast<int>(std::min_element(next_due_, next_due_ + kJobCount) - next_due_);
  const double due = next_due_[j];
  next_due_[j] += period_[j];
  const Job job = static_cast<Job>(j);
  std::uniform_real_distribution<double> unit(0, 1);

  if (job == Job::camera) {
    Plant plant = kPlants[std::uniform_int_distribution<int>(0, 2)(rng_)];
    auto& list = images(plant);
    Image img;
    img.meta.id = static_cast<std::int64_t>(list.size()) + 1;
    img.meta.camera_id = std::uniform_int_distribution<int>(1, options_.cameras)(rng_);
    img.meta.latitude = near(48.5, unit(rng_));
    img.meta.longitude = near(16.9, unit(rng_));
    img.meta.created_at = now;
    img.meta.is_active = true;
    img.jpeg = std::uniform_int_distribution<std::uint32_t>(
        0, static_cast<std::uint32_t>(jpegs_.size() - 1))(rng_);
    list.push_back(img);
    return make(job, plant, list.back(), due);
  }

  auto [plant, img] =
      job == Job::recognizer
          ? pick([](const Image& i) { return !i.meta.disease && !i.meta.is_deleted; })
      : job == Job::soft_delete ? pick([](const Image& i) { return !i.meta.is_deleted; })
                                : pick([](const Image&) { return true; });
  if (!img) return std::nullopt;  // nothing to work on yet; LIMS's job would idle too
  ImageRecord& m = img->meta;
  switch (job) {
    case Job::recognizer: {
      const auto& classes = diseases(plant);
      m.disease = classes[std::uniform_int_distribution<std::size_t>(0, classes.size() - 1)(rng_)];
      m.percentage = 0.5 + unit(rng_) * 0.5;
      break;
    }
    case Job::activate: m.is_active = !m.is_active; break;
    case Job::metadata:
      m.latitude = near(48.5, unit(rng_));
      m.longitude = near(16.9, unit(rng_));
      m.camera_id = std::uniform_int_distribution<int>(1, options_.cameras)(rng_);
      break;
    case Job::soft_delete: m.is_deleted = true; break;
    case Job::camera: break;
  }
  m.updated_at = now;
  return make(job, plant, *img, due);
}

Change Workload::make(Job job, Plant plant, Image& image, double due) {
  Change c{job, plant, due, image.meta};
  c.record.data = jpegs_[image.jpeg];
  return c;
}

}  // namespace lims::sim
