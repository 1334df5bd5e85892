#include "metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace lims::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The fields of /proc/self/stat after "pid (comm)": [0] is field 3 (state), so field k of
/// proc(5) is [k - 3]. The comm may hold spaces and parentheses, hence the last ')'.
std::vector<std::string> stat_fields() {
  const std::optional<std::string> text = read_file("/proc/self/stat");
  std::vector<std::string> fields;
  if (!text || text->rfind(')') == std::string::npos) return fields;
  std::istringstream in(text->substr(text->rfind(')') + 1));
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

/// Field `k` (numbered as in proc(5)) of /proc/self/stat as a number.
std::optional<double> stat_field(const std::vector<std::string>& fields, std::size_t k) {
  if (fields.size() <= k - 3) return std::nullopt;
  return std::stod(fields[k - 3]);
}

double ticks_per_second() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

/// The i-th number of /proc/self/statm (0: size, 1: resident) in bytes.
std::optional<double> statm_bytes(int i) {
  const std::optional<std::string> text = read_file("/proc/self/statm");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  double pages = 0;
  for (int k = 0; k <= i; ++k)
    if (!(in >> pages)) return std::nullopt;
  return pages * static_cast<double>(sysconf(_SC_PAGESIZE));
}

/// The boot time in seconds since the epoch ("btime" in /proc/stat).
std::optional<double> boot_time() {
  const std::optional<std::string> text = read_file("/proc/stat");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      if (in >> t) return t;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// A callback that emits `read()` as the one unlabelled series, or nothing when it is unknown.
template <class Read>
Collect single(Read read) {
  return [read](const Emit& emit) {
    if (const std::optional<double> v = read()) emit({}, *v);
  };
}

}  // namespace

void add_process_metrics(Registry& registry) {
  registry.counter_callback(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
      single([]() -> std::optional<double> {
        const auto fields = stat_fields();
        const auto utime = stat_field(fields, 14), stime = stat_field(fields, 15);
        if (!utime || !stime) return std::nullopt;
        return (*utime + *stime) / ticks_per_second();
      }));
  registry.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                          single([] { return statm_bytes(1); }));
  registry.gauge_callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
                          single([] { return statm_bytes(0); }));
  registry.gauge_callback(
      "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", {},
      single([]() -> std::optional<double> {
        const auto start = stat_field(stat_fields(), 22);  // in clock ticks after boot
        const auto boot = boot_time();
        if (!start || !boot) return std::nullopt;
        return *boot + *start / ticks_per_second();
      }));
  registry.gauge_callback("process_open_fds", "Number of open file descriptors.", {},
                          single([]() -> std::optional<double> {
                            std::error_code ec;
                            std::filesystem::directory_iterator it("/proc/self/fd", ec);
                            if (ec) return std::nullopt;
                            double n = 0;
                            for (; !ec && it != std::filesystem::directory_iterator();
                                 it.increment(ec))
                              ++n;
                            if (ec) return std::nullopt;
                            return n;
                          }));
  registry.gauge_callback("process_max_fds", "Maximum number of open file descriptors.", {},
                          single([]() -> std::optional<double> {
                            rlimit limit{};
                            if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
                            if (limit.rlim_cur == RLIM_INFINITY)
                              return std::numeric_limits<double>::infinity();
                            return static_cast<double>(limit.rlim_cur);
                          }));
}

}  // namespace lims::metrics
