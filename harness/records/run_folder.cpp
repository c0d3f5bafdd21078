#include "rackqual/records/run_folder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/records/file_writer.hpp"

namespace rackqual {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw SetupError(path + ": " + why);
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

RunFolder::RunFolder(const std::string& out, const std::string& run_id) {
  path_ = (std::filesystem::path(out) / run_id).string();
  if (const auto problem = name_problem(run_id)) refuse(path_, "the run id " + *problem);
  std::error_code ignored;
  std::filesystem::create_directories(out, ignored);   // OUT and its parents are the operator's
  const int parent = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) refuse(out, "cannot open the results folder: " + errno_text());
  // mkdirat fails on any entry of that name, a planted link included, and never follows one.
  if (::mkdirat(parent, run_id.c_str(), 0755) != 0) {
    const std::string why = errno == EEXIST ? "already exists (a run folder is made new; a link there is not followed)"
                                            : "cannot make the run folder: " + errno_text();
    ::close(parent);
    refuse(path_, why);
  }
  fd_ = ::openat(parent, run_id.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  const int saved = errno;
  ::close(parent);
  if (fd_ < 0) refuse(path_, "cannot open the run folder it made: " + std::string(std::strerror(saved)));
}

RunFolder::~RunFolder() {
  if (fd_ >= 0) ::close(fd_);
}

int RunFolder::create(const std::string& name) const {
  const std::string path = path_ + "/" + name;
  if (!is_name(name)) refuse(path, "not a file name of the run folder");
  const int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    refuse(path, errno == EEXIST ? "already exists (files of a run are made new; a link there is not followed)"
                                 : "cannot create: " + errno_text());
  return fd;
}

void RunFolder::replace(const std::string& name, const std::string& text) const {
  if (!is_name(name)) refuse(path_ + "/" + name, "not a file name of the run folder");
  write_file_whole_at(fd_, name, path_ + "/" + name, text);
}

void write_file_no_follow(const std::string& path, const std::string& text) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) refuse(path, "is a symbolic link; not followed");
  write_file_whole(path, text);
}

}  // namespace rackqual
