#pragma once
// Writing a whole file, so that a reader sees the old text or the new, never a part, and nothing
// is written through a symbolic link: the text goes to NAME.tmp, made new (O_EXCL | O_NOFOLLOW:
// any entry there, a planted link or what a killed writer left, is refused and named), is synced
// to disk, then renamed over NAME (which replaces a link at NAME, never follows it), and the
// folder is synced so that the rename lasts. Every sink, the manifest, Google Benchmark's JSON
// and the HTML report are written this way.
#include <string>

namespace rackqual {

// Writes `path` whole. Throws SetupError naming the path and what went wrong.
void write_file_whole(const std::string& path, const std::string& text);

// The same for NAME in the folder open as `folder` (a RunFolder's descriptor); `shown` is NAME's
// path as the operator wrote it, for messages.
void write_file_whole_at(int folder, const std::string& name, const std::string& shown, const std::string& text);

}  // namespace rackqual
