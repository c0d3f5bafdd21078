#include "rackqual/run/benchmark_json.hpp"

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

namespace rackqual {

// Forwards to the JSON reporter, its context only the first time (each check is one
// RunSpecifiedBenchmarks call, and each call reports the context anew).
class BenchmarkJson::Once : public benchmark::BenchmarkReporter {
 public:
  explicit Once(benchmark::JSONReporter& json) : json_(json) {}
  bool ReportContext(const Context& context) override {
    if (!started) started = json_.ReportContext(context);
    return true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    if (started) json_.ReportRuns(runs);
  }
  bool started = false;

 private:
  benchmark::JSONReporter& json_;
};

BenchmarkJson::BenchmarkJson() : json_(std::make_unique<benchmark::JSONReporter>()) {
  json_->SetOutputStream(&out_);
  json_->SetErrorStream(&errors_);
  once_ = std::make_unique<Once>(*json_);
}

BenchmarkJson::~BenchmarkJson() = default;

benchmark::BenchmarkReporter* BenchmarkJson::reporter() { return once_.get(); }

std::string BenchmarkJson::finish() {
  if (!once_->started) return "";
  json_->Finalize();
  return out_.str();
}

namespace {

// Without "/iterations:N", which the library adds to a name whose count is fixed: the count is
// agreed anew each run, and the comparison tooling pairs benchmarks of two runs by name.
std::string without_iterations(std::string name) {
  const auto at = name.find("/iterations:");
  if (at == std::string::npos) return name;
  const auto end = name.find('/', at + 1);
  return name.erase(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

std::string BenchmarkJson::merge(const std::vector<std::string>& texts) {
  nlohmann::json doc;
  nlohmann::json benchmarks = nlohmann::json::array();
  for (const auto& text : texts) {
    if (text.empty()) continue;
    const auto one = nlohmann::json::parse(text, nullptr, false);
    if (one.is_discarded() || !one.is_object()) continue;
    if (doc.is_null() && one.contains("context")) doc["context"] = one["context"];
    if (one.contains("benchmarks") && one["benchmarks"].is_array())
      for (auto b : one["benchmarks"]) {
        for (const char* key : {"name", "run_name"})
          if (b.contains(key) && b[key].is_string()) b[key] = without_iterations(b[key].get<std::string>());
        benchmarks.push_back(std::move(b));
      }
  }
  if (doc.is_null()) doc["context"] = nlohmann::json::object();
  doc["benchmarks"] = benchmarks;
  return doc.dump(2) + "\n";
}

}  // namespace rackqual
