#pragma once
// Runs a suite's planned checks on every rank: for each point, measure (prepare, check, time)
// then judge, and pass the records to the sinks on rank 0.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/judge/judge.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/run/point.hpp"
#include "rackqual/run/record_factory.hpp"
#include "rackqual/run/run_options.hpp"
#include "rackqual/run/slowdown.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {
class BenchmarkJson;
class Watchdog;
}  // namespace rackqual

namespace rackqual {

class Runner {
 public:
  // `plans`: the checks to run, planned from `suite` and `platform` (plan_suite).
  Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, std::vector<CheckPlan> plans,
         RunOptions options);
  ~Runner();
  // Runs every planned check; returns the exit code, the same on every rank.
  int run();
  // The run folder (OUT/RUN_ID) once run() has started.
  const std::string& dir() const { return dir_; }

 private:
  struct Outputs;     // rank 0's sinks and run folder
  struct CheckTurn;   // one check's turn: its plan and place, the watchdog, the sinks, Google Benchmark's JSON
  std::string open_outputs(Outputs& outputs);
  Manifest manifest(const std::string& run_id) const;
  Verdict run_check(const CheckTurn& turn, Verdict run_worst);
  bool stopped_before(const CheckTurn& turn, Verdict run_worst);
  std::vector<Record> skipped_check(const CheckPlan& plan) const;
  std::vector<Record> measured_check(const CheckTurn& turn);
  std::vector<Record> measure_points(const CheckContext& context, const CheckPlan& plan);
  std::vector<Record> exclude_absent(const Check& check, const std::vector<int>& ranks, Watchdog& watchdog);
  std::vector<Record> excluded_records(const Check& check) const;
  int finish(Outputs& outputs, BenchmarkJson& benchmark_json, Verdict run_worst);

  World& world_;
  Backend& backend_;
  const Suite& suite_;
  const Platform& platform_;
  std::vector<CheckPlan> plans_;
  RunOptions options_;
  RecordFactory records_;
  std::string dir_;
  std::mutex abandon_mutex_;
  std::string abandon_reason_;               // why rank 0 gave up on ranks (the watchdog's words)
  std::map<int, std::string> excluded_at_;   // excluded rank -> the check where it never arrived
  std::string stopped_after_;                // the check after which a failed stage stopped the run
  std::vector<Record> all_records_;          // rank 0, when options_.verdicts draws on them
};

}  // namespace rackqual
