#pragma once
// The LIMS workload: the jobs of docs/lims-contract.md (camera, disease recognizer, users) as a
// deterministic sequence of image changes.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "model/image.hpp"

namespace lims::sim {

enum class Job : std::uint8_t { camera, recognizer, activate, metadata, soft_delete };
inline constexpr int kJobCount = 5;

/// "camera", "recognizer", "activate", "metadata" or "delete".
std::string_view job_name(Job job);

struct WorkloadOptions {
  std::uint64_t seed = 1;
  int cameras = 1;                      // each camera creates an image every 100 s
  double intensity = 1;                 // every job's rate is multiplied by this
  std::size_t image_min_bytes = 15000;  // JPEG sizes are spread over [min, max]
  std::size_t image_max_bytes = 30000;
  int image_pool = 16;  // distinct JPEGs generated up front and reused
};

/// One change to produce: the whole record after the change, and when it is due.
struct Change {
  Job job;
  Plant plant;
  double due_s;  // LIMS time since the start of the workload, before any speedup
  ImageRecord record;
};

/// Generates the changes in due order. The same options give the same sequence, except that
/// record times come from `now` as passed in (LIMS stamps changes when they happen).
class Workload {
 public:
  /// Generates the JPEG pool up front; throws lims::Error (usage) on impossible options.
  explicit Workload(const WorkloadOptions& options);
  /// The change of the job due next, stamped with time `now` (created_at for creates,
  /// updated_at otherwise); nullopt when that job found nothing to work on (as LIMS's would
  /// idle), which still moves the schedule on.
  std::optional<Change> next(Micros now);
  /// When the next change is due, in LIMS seconds since the start.
  double next_due_s() const;
  /// LIMS's pre-filled database: `per_plant` images for each plant (ids 1..per_plant, already
  /// classified, created before `now` one second apart), which the jobs then work on. Call it
  /// before next(), at most once: new images get the ids after them. Each image is handed to
  /// `visit` in turn (not kept: thousands of JPEGs).
  void prefill(std::int64_t per_plant, Micros now, const std::function<void(const Change&)>& visit);

 private:
  struct Image {
    ImageRecord meta;  // without data
    std::uint32_t jpeg;
  };
  std::vector<Image>& images(Plant p) { return images_[static_cast<std::size_t>(p)]; }
  /// A random plant that has an eligible image, and a random eligible image of it.
  std::pair<Plant, Image*> pick(bool (*eligible)(const Image&));
  Change make(Job job, Plant plant, Image& image, double due);

  WorkloadOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::vector<std::uint8_t>> jpegs_;
  std::vector<Image> images_[3];
  double next_due_[kJobCount];
  double period_[kJobCount];
};

}  // namespace lims::sim
