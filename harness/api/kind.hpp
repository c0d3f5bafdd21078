#pragma once
// A benchmark kind: its parameters, its metrics, the scopes it runs at, and the arithmetic
// that turns a time into metrics. Kinds are backend-agnostic: no CUDA or MPI here.
#include <any>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rackqual/api/params.hpp"
#include "rackqual/base/scope.hpp"

namespace rackqual {

enum class Better { higher, lower };
std::string_view to_string(Better b);
std::optional<Better> parse_better(std::string_view text);

struct MetricSpec {
  std::string name;
  std::string unit;
  Better better;
  std::string help;
  // When set, the harness computes this metric as the named metric's value divided by the
  // platform's peak for it (MFU = model TFLOP/s / peak TFLOP/s); kinds do not derive it.
  std::string fraction_of_peak_of = "";
  // When set, the harness computes this metric as the named metric's value divided by the
  // device's average power over the measurement (TFLOP/s per watt); where the backend reads
  // no power, the metric is not measured.
  std::string per_watt_of = "";
  // When set, the harness computes this metric as the `percentile` (in (0, 1)) of the named
  // metric over the repetitions (time_p95_us: the 95th percentile of time_us); kinds do not
  // derive it. A check that gates it needs samples_for_percentile(percentile) repetitions.
  std::string percentile_of = "";
  double percentile = 0;
};

// One timed iteration as the harness saw it: its duration and, where the operation reports
// them, the seconds of its phases (forward, backward, ...).
struct Sample {
  Sample(double s, std::map<std::string, double> p = {}) : seconds(s), phases(std::move(p)) {}
  double seconds;
  std::map<std::string, double> phases;
};

// Memory one rank allocates to measure one point, and the parameter that sets most of it.
struct MemoryNeed {
  double bytes = 0;
  std::string param;
};

class Kind {
 public:
  virtual ~Kind() = default;
  virtual std::string name() const = 0;
  virtual std::string help() const = 0;
  virtual std::vector<ParamSpec> params() const = 0;
  virtual std::vector<MetricSpec> metrics() const = 0;
  virtual std::vector<Scope> scopes() const = 0;

  // The fewest ranks a measurement needs (a collective needs two); smaller groups are skipped.
  virtual int min_ranks() const { return 1; }
  // The typed parameters of one measurement point (kind_params.hpp); throws FieldError on a
  // combination the kind cannot run (sizes that are not whole elements, ...).
  virtual std::any decode(const Params&) const { return {}; }
  // Decodes every point of a check's parameters; throws FieldError.
  void validate(const Params& params) const;
  // The measurement points of a check: one per value of the swept parameter, if any, each
  // with its typed parameters decoded.
  std::vector<Params> points(const Params& params) const;
  // The parameter a criterion's `at` selects on (empty: the kind sweeps nothing).
  virtual std::string sweep_param() const { return ""; }
  // Metric values of one point from one iteration's sample on `ranks` ranks.
  virtual std::map<std::string, double> derive(const Params& point, const Sample& sample, int ranks) const = 0;
  // The platform peak figure a metric is compared with (empty: none, e.g. for times).
  virtual std::string peak_key(const std::string& metric, const Params& point) const = 0;

  // What one measured operation of a point does on each of `ranks` ranks, for explaining its
  // time from figures measured apart (step-time attribution): "flops", "memory_bytes" (through
  // device memory), "allreduce_bytes" (each rank's share of a sum across the group),
  // "parameters". Empty where the kind gives none.
  virtual std::map<std::string, double> work(const Params& /*point*/, int /*ranks*/) const { return {}; }

  // The memory one rank allocates to measure a point (operands, buffers, workspace), estimated
  // from its parameters, so that a suite the device cannot hold is refused before anything
  // allocates (memory_fit.hpp). Nothing where the kind does not say.
  virtual std::optional<MemoryNeed> memory(const Params& /*point*/) const { return std::nullopt; }

  std::optional<MetricSpec> metric(const std::string& name) const;

 protected:
  // The points before decoding: one per value of the swept parameter, if any.
  // By default one point per value of the sweep parameter's list, if the kind has one.
  virtual std::vector<Params> sweep(const Params& params) const;

 public:
  std::optional<ParamSpec> param(const std::string& name) const;
};

// Kinds by name. Each kind's file registers itself with one RACKQUAL_REGISTER_KIND line.
class KindRegistry {
 public:
  static KindRegistry& instance();
  void add(std::unique_ptr<Kind> kind);
  const Kind* find(const std::string& name) const;
  std::vector<const Kind*> all() const;   // sorted by name

 private:
  std::map<std::string, std::unique_ptr<Kind>> kinds_;
};

struct KindRegistration {
  explicit KindRegistration(std::unique_ptr<Kind> kind) { KindRegistry::instance().add(std::move(kind)); }
};

#define RACKQUAL_REGISTER_KIND(Type) \
  static const ::rackqual::KindRegistration rackqual_kind_registration_##Type{std::make_unique<Type>()}

}  // namespace rackqual
