#pragma once
// A run's output folder, OUT/RUN_ID, and the files in it. Nothing the run writes follows a
// symbolic link or lands outside OUT: the folder is made new (mkdir fails on any existing entry,
// a planted link included) and held open, and every file is created new inside it, never
// through a link. OUT itself may be a link the operator made (results -> /scratch/results).
#include <string>

namespace rackqual {

class RunFolder {
 public:
  // Makes OUT where it is missing, then OUT/RUN_ID. Throws SetupError naming the path when
  // RUN_ID is not a name, OUT is not a folder, or OUT/RUN_ID already exists (as anything).
  RunFolder(const std::string& out, const std::string& run_id);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  // OUT/RUN_ID as the operator wrote OUT.
  const std::string& path() const { return path_; }
  // A new file NAME in the folder, open for appending; the caller owns the descriptor.
  // Throws SetupError when NAME exists (a link included) or cannot be made.
  int create(const std::string& name) const;
  // Writes NAME whole: the text goes to a new NAME.tmp that then replaces NAME, so that a
  // reader sees the old text or the new, and a link at NAME is replaced, never followed.
  void replace(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
  int fd_ = -1;   // the folder, opened without following links
};

// Writes `text` to `path`, an operator-chosen file (outside OUT or not), refusing a link at it:
// created or truncated, never followed. Throws SetupError naming the path.
void write_file_no_follow(const std::string& path, const std::string& text);

}  // namespace rackqual
