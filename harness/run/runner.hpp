#pragma once
// Runs a suite's planned checks on every rank: for each point, measure (prepare, check, time)
// then judge, and pass the records to the sinks on rank 0.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"
#include "rackqual/input/fault.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/judge/judge.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/run/slowdown.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {

class BenchmarkJson;
class Watchdog;

struct RunOptions {
  std::string out_dir = "results";
  std::string run_id;                // the run folder's name, a name (name.hpp); empty: UTC time and a random suffix
  std::vector<Fault> faults;
  Slowdowns slowdowns;               // simulated slow hosts and links (tests, chaos drills)
  bool isolate = true;               // isolate the culprit of a collective group that fails
  // Stages (one per plan, in order; empty: none): with stop_at_failed_stage, once a stage ends
  // with a failure or error, the checks of later stages are skipped (qualify's ladder).
  std::vector<int> stages;
  bool stop_at_failed_stage = false;
  // Records drawn from every record of the run, written last (qualify's verdicts), on rank 0;
  // `base` carries the run's context.
  std::function<std::vector<Record>(const Record& base, const std::vector<Placement>&, const std::vector<Record>&)> verdicts;
  std::string command_line;
  std::string backend_choice;        // how `auto` chose the backend, for the manifest
  std::string benchmark_json;        // also write Google Benchmark's JSON here (it is always beside the records)
  std::string junit;                 // also write JUnit XML here when the run ends
  std::string prometheus;            // also write a node_exporter textfile (.prom) here when the run ends
};

class Runner {
 public:
  // `plans`: the checks to run, planned from `suite` and `platform` (plan_suite).
  Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, std::vector<CheckPlan> plans,
         RunOptions options);
  // Runs every planned check; returns the exit code, the same on every rank.
  int run();
  // The run folder (OUT/RUN_ID) once run() has started.
  const std::string& dir() const { return dir_; }

 private:
  std::vector<Record> run_check(const CheckPlan& plan);
  Measurement measure(const Check& check, const PointPlan& point, const Group& group);
  Record base_record(const Check& check, const Params& point, const Group& group) const;
  std::string benchmark_name(const Check& check, const Params& point, const Group& group) const;
  // Culprit isolation (runner_isolation.cpp): every rank takes part; rank 0 gets the records of
  // every probe and culprit.
  std::vector<Record> isolate_failures(const CheckPlan& plan, const std::vector<Record>& records);
  std::vector<Record> isolate_group(const Check& check, const PointPlan& point, const std::vector<int>& group,
                                    const std::string& metric);
  std::vector<Record> excluded_records(const Check& check) const;
  Record rank_error(const Check& check, int rank, const std::string& what) const;

  World& world_;
  Backend& backend_;
  const Suite& suite_;
  const Platform& platform_;
  std::vector<CheckPlan> plans_;
  RunOptions options_;
  std::string run_id_;
  std::string dir_;
  int check_index_ = 0;
  Watchdog* watchdog_ = nullptr;
  BenchmarkJson* benchmark_json_ = nullptr;
  std::mutex abandon_mutex_;
  std::string abandon_reason_;           // why rank 0 gave up on ranks (the watchdog's words)
  std::map<int, std::string> excluded_at_;   // excluded rank -> the check where it never arrived
  std::string stopped_after_;                // the check after which a failed stage stopped the run
  std::vector<Record> all_records_;          // rank 0, when options_.verdicts draws on them
};

}  // namespace rackqual
