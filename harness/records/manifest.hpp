#pragma once
// The run manifest: what ran, where, with which versions, and how it ended.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rackqual {

struct Manifest {
  std::string run_id;
  std::map<std::string, std::string> versions;
  std::vector<std::string> hosts;
  int ranks = 1;
  // Where the ranks live and from what source: simulated, an inventory (its path) or the
  // launcher; racks and NVLink domains with their hosts (describe_topology).
  nlohmann::json topology;
  std::string backend;
  std::string backend_choice;   // how `auto` chose it, when it did (e.g. why not cuda)
  std::string platform;
  std::map<std::string, double> platform_peaks;   // the profile's figures, for readers of the results
  std::string suite_path;
  std::string suite_hash;
  std::string command_line;
  std::string start_time;
  std::string end_time;       // empty while running
  std::string status = "running";   // running, finished, aborted
  // Each finished check's wall time, from its start to its verdict (isolation included); what
  // the run spent elsewhere is start-up, set-up and writing.
  std::map<std::string, double> check_seconds;
  int exit_status = -1;
};

nlohmann::json to_json(const Manifest& m);
// Writes atomically (temporary file, then rename), so a reader never sees half a file; the
// temporary file is made new and no link is followed (a run's own is RunFolder::replace).
void write_manifest(const std::string& path, const Manifest& m);

// The status a run's manifest gives (running, finished, aborted), from the manifest.json beside
// its records file; none where there is no readable manifest with a status (a torn one, or none).
std::optional<std::string> manifest_status(const std::string& records_path);

}  // namespace rackqual
