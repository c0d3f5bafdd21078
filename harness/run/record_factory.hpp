#pragma once
// Every record a run writes starts here, with the run's context (run, suite, backend) and where
// its figure belongs (check, point, group, rank, host, device), before any figure or verdict:
// measured points, skips, rank errors, the watchdog's hang, isolation's probes and culprits,
// and the base of qualify's verdicts.
#include <string>

#include "rackqual/api/backend.hpp"
#include "rackqual/api/group.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {

class RecordFactory {
 public:
  RecordFactory(const World& world, const Backend& backend, std::string suite)
      : world_(world), backend_(backend), suite_(std::move(suite)) {}
  void set_run_id(std::string run_id) { run_id_ = std::move(run_id); }
  const std::string& run_id() const { return run_id_; }

  // One measurement on this rank, before any figure: at gpu scope with this rank's device.
  Record base(const Check& check, const Params& point, const Group& group) const;
  // `verdict` and `reason` for the point of `check` over `group`.
  Record judged(const Check& check, const Params& point, const Group& group, Verdict verdict, std::string reason) const;
  // A figure of `check` that belongs to world rank `rank` (a culprit), whatever rank writes it.
  Record of_rank(const Check& check, const Params& point, const std::string& group, int rank, Verdict verdict,
                 std::string reason) const;
  // An error of `check` for world rank `rank`, its reason "rank N (host) " and `what`.
  Record rank_error(const Check& check, int rank, const std::string& what) const;
  // The watchdog's record of a hang at `check` (the running check's kind and scope where known).
  Record hang(const std::string& check, const Check* running, const std::string& reason) const;

 private:
  const World& world_;
  const Backend& backend_;
  std::string suite_;
  std::string run_id_;
};

}  // namespace rackqual
