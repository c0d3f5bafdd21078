#pragma once
// What a run is asked to do beyond its suite: where its records go, faults and slowdowns to
// inject, isolation, qualify's stages and verdicts, the extra sinks.
#include <functional>
#include <string>
#include <vector>

#include "rackqual/base/topology.hpp"
#include "rackqual/input/fault.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/run/slowdown.hpp"

namespace rackqual {

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

}  // namespace rackqual
