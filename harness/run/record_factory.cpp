#include "rackqual/run/record_factory.hpp"

#include "rackqual/base/error.hpp"

namespace rackqual {

Record RecordFactory::base(const Check& check, const Params& point, const Group& group) const {
  const Placement& here = world_.placement();
  Record r;
  r.run_id = run_id_;
  r.time = utc_now();
  r.suite = suite_;
  r.check = check.id;
  r.kind = check.kind->name();
  r.backend = backend_.name();
  r.scope = check.scope;
  r.group = group.name();
  r.rank = world_.rank();
  r.host = here.host;
  r.rack = here.rack;
  if (check.scope == Scope::gpu) r.device = backend_.device(here.local_rank);
  r.params = point.to_json();
  return r;
}

Record RecordFactory::judged(const Check& check, const Params& point, const Group& group, Verdict verdict,
                             std::string reason) const {
  Record r = base(check, point, group);
  r.verdict = verdict;
  r.reason = std::move(reason);
  return r;
}

Record RecordFactory::of_rank(const Check& check, const Params& point, const std::string& group, int rank, Verdict verdict,
                              std::string reason) const {
  const Placement& where = world_.placements()[static_cast<std::size_t>(rank)];
  Record r = judged(check, point, world_.all(), verdict, std::move(reason));
  r.group = group;
  r.rank = rank;
  r.host = where.host;
  r.rack = where.rack;
  return r;
}

Record RecordFactory::rank_error(const Check& check, int rank, const std::string& what) const {
  const Placement& where = world_.placements()[static_cast<std::size_t>(rank)];
  Record r = of_rank(check, Params(), group_name(check.scope, world_.placements(), rank), rank, Verdict::error,
                     "rank " + std::to_string(rank) + " (" + where.host + ") " + what);
  r.params = nlohmann::json::object();
  r.device.reset();
  return r;
}

Record RecordFactory::hang(const std::string& check, const Check* running, const std::string& reason) const {
  Record r;
  r.run_id = run_id_;
  r.time = utc_now();
  r.suite = suite_;
  r.check = check;
  r.backend = backend_.name();
  if (running) {
    r.kind = running->kind->name();
    r.scope = running->scope;
  }
  r.group = "cluster";
  r.host = world_.placement().host;
  r.rack = world_.placement().rack;
  r.verdict = Verdict::error;
  r.reason = reason;
  return r;
}

}  // namespace rackqual
