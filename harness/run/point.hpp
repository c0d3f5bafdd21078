#pragma once
// Measuring one point of a check over one group: prepare, check once untimed, then time, every
// step agreed across the group before the next. Culprit isolation measures its probes the same way.
#include "rackqual/api/backend.hpp"
#include "rackqual/judge/judge.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/run/record_factory.hpp"
#include "rackqual/run/run_options.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {

class BenchmarkJson;
class Watchdog;

// What measuring a check's points needs of the run, passed explicitly.
struct CheckContext {
  World& world;
  Backend& backend;
  const RunOptions& options;
  const RecordFactory& records;
  Watchdog& watchdog;
  BenchmarkJson& benchmark_json;
  int check_index = 0;   // the check's place in the run, as the watchdog counts
};

// Where each rank reports itself to the watchdog within a check, in order.
enum Phase { phase_start, phase_prepared, phase_verified, phase_measured, phase_gathered };
extern const std::vector<std::string> phase_names;

// On every rank of `group`: measures `point`. Returns, on the group's leader, what the group
// measured (every rank's problem or wrong result named); elsewhere, this rank's part.
Measurement measure_point(const CheckContext& context, const Check& check, const PointPlan& point, const Group& group);

}  // namespace rackqual
