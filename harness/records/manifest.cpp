#include "rackqual/records/manifest.hpp"

#include <filesystem>
#include <fstream>

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

std::optional<std::string> manifest_status(const std::string& records_path) {
  std::ifstream in(std::filesystem::path(records_path).parent_path() / "manifest.json", std::ios::binary);
  if (!in) return std::nullopt;
  const auto manifest = nlohmann::json::parse(in, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("status") || !manifest["status"].is_string()) return std::nullopt;
  return manifest["status"].get<std::string>();
}

}  // namespace rackqual
