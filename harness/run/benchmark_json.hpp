#pragma once
// The run's figures in Google Benchmark's own JSON format (benchmark.json beside the records),
// so that the library's comparison tooling (tools/compare.py) works on two runs.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace benchmark {
class BenchmarkReporter;   // Google Benchmark's, whose header only benchmark_json.cpp needs
class JSONReporter;
}  // namespace benchmark

namespace rackqual {

class BenchmarkJson {
 public:
  BenchmarkJson();
  ~BenchmarkJson();
  // Takes runs; Google Benchmark's context is written once, before the first.
  benchmark::BenchmarkReporter* reporter();
  // This rank's document, closed.
  std::string finish();
  // One document from every rank's: the first context, every rank's benchmarks in rank order.
  // A rank's text that does not parse is left out.
  static std::string merge(const std::vector<std::string>& texts);

 private:
  class Once;
  std::ostringstream out_, errors_;
  std::unique_ptr<benchmark::JSONReporter> json_;
  std::unique_ptr<Once> once_;
};

}  // namespace rackqual
