#include "rackqual/records/file_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) { throw SetupError(path + ": " + why); }

std::string errno_text() { return std::strerror(errno); }

// Writes all of `text` to `fd`, then syncs it to disk; false (errno set) on failure.
bool write_and_sync(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return ::fsync(fd) == 0;
}

}  // namespace

void write_file_whole_at(int folder, const std::string& name, const std::string& shown, const std::string& text) {
  const std::string temporary = name + ".tmp";
  const int fd = ::openat(folder, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    refuse(shown + ".tmp", errno == EEXIST ? "already exists (a link is not followed; a file left by an interrupted write is not overwritten: remove it)"
                                           : "cannot create: " + errno_text());
  const bool written = write_and_sync(fd, text);
  const std::string why = errno_text();
  if (::close(fd) != 0 || !written) {
    ::unlinkat(folder, temporary.c_str(), 0);
    refuse(shown, "cannot write: " + why);
  }
  if (::renameat(folder, temporary.c_str(), folder, name.c_str()) != 0) {
    const std::string failed = errno_text();
    ::unlinkat(folder, temporary.c_str(), 0);
    refuse(shown, "cannot write: " + failed);
  }
  ::fsync(folder);   // the rename lasts once the folder's entry is on disk
}

void write_file_whole(const std::string& path, const std::string& text) {
  const std::filesystem::path p(path);
  const std::string folder_path = p.has_parent_path() ? p.parent_path().string() : ".";
  const int folder = ::open(folder_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder < 0) refuse(path, "cannot write: " + errno_text());
  try {
    write_file_whole_at(folder, p.filename().string(), path, text);
  } catch (...) {
    ::close(folder);
    throw;
  }
  ::close(folder);
}

}  // namespace rackqual
