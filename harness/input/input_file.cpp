#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

// Closes the descriptor however the read ends.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_input_file(const std::string& path, std::size_t max_bytes) {
  auto fail = [&](const std::string& why) { throw InputError(path, 1, "file", "cannot read: " + why); };
  if (path.empty()) fail("no file named");
  const Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(std::strerror(errno));
  struct stat status {};
  if (::fstat(file.fd, &status) != 0) fail(std::strerror(errno));
  if (S_ISDIR(status.st_mode)) fail("is a directory");
  std::string text;
  char block[65536];
  for (;;) {
    const ssize_t n = ::read(file.fd, block, sizeof block);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::strerror(errno));
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_bytes)
      fail("larger than " + std::to_string(max_bytes >> 20) + " MiB");
    text.append(block, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace rackqual
