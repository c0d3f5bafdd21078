#pragma once
// Where records go. Every record of a run, the watchdog's included, passes through one
// RecordSink; each output (JSON Lines, the console table, progress, the manifest) is a sink.
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rackqual/plan/plan.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/records/run_folder.hpp"

namespace rackqual {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Check `index` (from 1) of `total` starts.
  virtual void begin_check(int /*index*/, int /*total*/, const std::string& /*check*/) {}
  virtual void write(const Record& record) = 0;
  // The check that began last has ended; `worst` is the worst verdict of its records.
  virtual void end_check(Verdict /*worst*/) {}
  // The run ends: status "finished" or "aborted", with its exit code.
  virtual void end_run(const std::string& /*status*/, int /*exit_code*/) {}
};

// Every sink of a run, called in order; safe to call from the watchdog's thread as well.
class Sinks : public RecordSink {
 public:
  void add(std::unique_ptr<RecordSink> sink) { sinks_.push_back(std::move(sink)); }
  void begin_check(int index, int total, const std::string& check) override;
  void write(const Record& record) override;
  void end_check(Verdict worst) override;
  void end_run(const std::string& status, int exit_code) override;

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<RecordSink>> sinks_;
};

// Appends each record to a JSON Lines file, flushed line by line (RecordWriter).
std::unique_ptr<RecordSink> json_lines_sink(const std::string& path);
// The same to a file the sink owns from now on, open for appending (RunFolder::create).
std::unique_ptr<RecordSink> json_lines_sink(int fd);
// Prints the verdict table and where the records are to `out` when the run finishes.
std::unique_ptr<RecordSink> console_table_sink(std::FILE* out, const std::string& records_path);
// Shows progress on stderr: a live line on a terminal, one line per finished check otherwise.
std::unique_ptr<RecordSink> progress_sink();
// Writes the manifest, NAME in the run folder, when the run starts and again, with its status,
// when it ends.
std::unique_ptr<RecordSink> manifest_sink(std::shared_ptr<const RunFolder> folder, const std::string& name, Manifest manifest);
// Writes JUnit XML for CI dashboards when the run ends (aborted too): a <testsuite> per check,
// a <testcase> per GPU or group and point; fail, error and skip as <failure>, <error> and
// <skipped>, a warning in <system-out>. Replaces `path` atomically (junit_sink.cpp).
std::unique_ptr<RecordSink> junit_sink(const std::string& path);
// Writes a textfile for node_exporter's textfile collector when the run ends (aborted too):
// each figure in base units, its bounds from `plans`, a verdict state set per check, group,
// host and GPU, the run's time and exit code. Replaces `path` atomically (prometheus_sink.cpp).
std::unique_ptr<RecordSink> prometheus_sink(const std::string& path, std::vector<CheckPlan> plans);

}  // namespace rackqual
