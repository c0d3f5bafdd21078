#pragma once
// Reading an input file whole, with every failure an InputError naming the file.
#include <cstddef>
#include <string>

namespace rackqual {

// The bytes of the file at `path`, at most `max_bytes` of them. A file that cannot be opened or
// read (missing, a directory, a name too long, an I/O error) or that is larger throws
// InputError(path, 1, "file", "cannot read: ...").
std::string read_input_file(const std::string& path, std::size_t max_bytes);

}  // namespace rackqual
