#include "rackqual/records/manifest.hpp"

#include "rackqual/records/file_writer.hpp"

namespace rackqual {

nlohmann::json to_json(const Manifest& m) {
  return {{"schema", 1},
          {"run_id", m.run_id},
          {"versions", m.versions},
          {"hosts", m.hosts},
          {"ranks", m.ranks},
          {"topology", m.topology},
          {"backend", m.backend},
          {"backend_choice", m.backend_choice.empty() ? nlohmann::json() : nlohmann::json(m.backend_choice)},
          {"platform", m.platform},
          {"platform_peaks", m.platform_peaks},
          {"suite", {{"path", m.suite_path}, {"hash", m.suite_hash}}},
          {"command_line", m.command_line},
          {"start_time", m.start_time},
          {"end_time", m.end_time.empty() ? nlohmann::json() : nlohmann::json(m.end_time)},
          {"status", m.status},
          {"check_seconds", m.check_seconds},
          {"exit_status", m.exit_status < 0 ? nlohmann::json() : nlohmann::json(m.exit_status)}};
}

void write_manifest(const std::string& path, const Manifest& m) { write_file_whole(path, to_json(m).dump(2) + "\n"); }

}  // namespace rackqual
