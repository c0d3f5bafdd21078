#include "rackqual/records/sink.hpp"

#include <chrono>
#include <cstdio>

#include "rackqual/records/progress.hpp"
#include "rackqual/records/summary.hpp"

namespace rackqual {

void Sinks::begin_check(int index, int total, const std::string& check) {
  std::lock_guard lock(mutex_);
  for (auto& s : sinks_) s->begin_check(index, total, check);
}
void Sinks::write(const Record& record) {
  std::lock_guard lock(mutex_);
  for (auto& s : sinks_) s->write(record);
}
void Sinks::end_check(Verdict worst) {
  std::lock_guard lock(mutex_);
  for (auto& s : sinks_) s->end_check(worst);
}
void Sinks::end_run(const std::string& status, int exit_code) {
  std::lock_guard lock(mutex_);
  for (auto& s : sinks_) s->end_run(status, exit_code);
}

namespace {

class JsonLines : public RecordSink {
 public:
  explicit JsonLines(const std::string& path) : writer_(path) {}
  explicit JsonLines(int fd) : writer_(fd) {}
  void write(const Record& record) override { writer_.append(record); }

 private:
  RecordWriter writer_;
};

class ConsoleTable : public RecordSink {
 public:
  ConsoleTable(std::FILE* out, std::string records_path) : out_(out), path_(std::move(records_path)) {}
  void write(const Record& record) override { records_.push_back(record); }
  void end_run(const std::string& status, int) override {
    if (status != "finished") return;   // an aborted run has already said why on stderr
    std::fputs(summary_table(records_).c_str(), out_);
    std::fprintf(out_, "records: %s\n", path_.c_str());
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  std::string path_;
  std::vector<Record> records_;
};

class ProgressLine : public RecordSink {
 public:
  ProgressLine() : progress_(true) {}
  void begin_check(int index, int total, const std::string& check) override { progress_.start(index, total, check); }
  void write(const Record&) override {}
  void end_check(Verdict worst) override { progress_.finish(worst); }

 private:
  Progress progress_;
};

class ManifestFile : public RecordSink {
 public:
  ManifestFile(std::shared_ptr<const RunFolder> folder, std::string name, Manifest manifest)
      : folder_(std::move(folder)), name_(std::move(name)), manifest_(std::move(manifest)) {
    manifest_.start_time = utc_now();
    folder_->replace(name_, to_json(manifest_).dump(2) + "\n");
  }
  void begin_check(int, int, const std::string& check) override {
    check_ = check;
    check_start_ = std::chrono::steady_clock::now();
  }
  void write(const Record&) override {}
  void end_check(Verdict) override {
    manifest_.check_seconds[check_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - check_start_).count();
  }
  void end_run(const std::string& status, int exit_code) override {
    manifest_.end_time = utc_now();
    manifest_.status = status;
    manifest_.exit_status = exit_code;
    folder_->replace(name_, to_json(manifest_).dump(2) + "\n");
  }

 private:
  std::shared_ptr<const RunFolder> folder_;
  std::string name_;
  Manifest manifest_;
  std::string check_;
  std::chrono::steady_clock::time_point check_start_;
};

}  // namespace

std::unique_ptr<RecordSink> json_lines_sink(const std::string& path) { return std::make_unique<JsonLines>(path); }
std::unique_ptr<RecordSink> json_lines_sink(int fd) { return std::make_unique<JsonLines>(fd); }
std::unique_ptr<RecordSink> console_table_sink(std::FILE* out, const std::string& records_path) {
  return std::make_unique<ConsoleTable>(out, records_path);
}
std::unique_ptr<RecordSink> progress_sink() { return std::make_unique<ProgressLine>(); }
std::unique_ptr<RecordSink> manifest_sink(std::shared_ptr<const RunFolder> folder, const std::string& name,
                                          Manifest manifest) {
  return std::make_unique<ManifestFile>(std::move(folder), name, std::move(manifest));
}

}  // namespace rackqual
