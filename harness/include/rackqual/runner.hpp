#pragma once
// Runs a suite's checks on every rank: measures with Google Benchmark, judges, records.
#include <string>
#include <vector>

#include "rackqual/backend.hpp"
#include "rackqual/fault.hpp"
#include "rackqual/kind.hpp"
#include "rackqual/platform.hpp"
#include "rackqual/record.hpp"
#include "rackqual/suite.hpp"
#include "rackqual/world.hpp"

namespace rackqual {

class Watchdog;

struct RunOptions {
  std::string out_dir = "results";
  std::vector<std::string> only;     // check ids; empty: all
  std::vector<Fault> faults;
  std::string command_line;
};

class Runner {
 public:
  Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, RunOptions options);
  // Runs every selected check; returns the exit code (rank 0's is the one that counts).
  int run();

 private:
  std::vector<Record> run_check(const Check& check);
  std::pair<const Criterion*, std::string> criterion_for(const Check& check, const std::string& metric,
                                                        const Params& point) const;
  Record base_record(const Check& check, const Params& point, const Group& group) const;
  // What a group measured at one point, as its leader knows it.
  struct Measurement {
    bool measured;                 // every rank prepared, ran and timed the operation
    std::vector<Sample> samples;   // the slowest rank's, per repetition
    nlohmann::json telemetry;      // the leader's device
    std::string correct_detail;    // the leader's check, when every rank was right
    std::string complaints;        // every rank's problem or wrong result, joined
  };
  std::vector<Record> measure_point(const Check& check, const Params& point, const Group& group);
  std::vector<Record> records(const Check& check, const Params& point, const Group& group, const Measurement& m) const;

  World& world_;
  Backend& backend_;
  const Suite& suite_;
  const Platform& platform_;
  RunOptions options_;
  std::string run_id_;
  int check_index_ = 0;
  Watchdog* watchdog_ = nullptr;
};

// The checks `only` selects, in suite order; throws InputError on an unknown id.
std::vector<const Check*> select_checks(const Suite& suite, const std::vector<std::string>& only);

}  // namespace rackqual
