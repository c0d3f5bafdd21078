#include "commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "rackqual/base/error.hpp"

namespace rackqual {

bool first_rank() {
  for (const char* name : {"PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) return std::atoi(v) == 0;
  return true;
}

void say(const std::string& line) {
  if (first_rank()) std::fprintf(stderr, "%s\n", line.c_str());
}

void check_output_file(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path file(path);
  const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder)) throw FieldError(option, "folder " + folder.string() + " does not exist");
  if (std::filesystem::is_directory(file)) throw FieldError(option, path + " is a folder, not a file");
}

}  // namespace rackqual
