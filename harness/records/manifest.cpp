#include "rackqual/records/manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

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

void write_manifest(const std::string& path, const Manifest& m) {
  // The temporary file is made new and the rename replaces a link at `path`: none is followed.
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + temporary + ": " + std::strerror(errno));
  const std::string text = to_json(m).dump(2) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write " + path);
  }
}

}  // namespace rackqual
