#include "rackqual/run/backend_choice.hpp"

#include "rackqual/api/exchange.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual {

NLOHMANN_JSON_SERIALIZE_ENUM(GpuFinding::State, {{GpuFinding::State::bound, "bound"},
                                                 {GpuFinding::State::unbound, "unbound"},
                                                 {GpuFinding::State::none, "none"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GpuFinding, state, why)
NLOHMANN_JSON_SERIALIZE_ENUM(AutoDecision::Outcome, {{AutoDecision::Outcome::cuda, "cuda"},
                                                     {AutoDecision::Outcome::host, "host"},
                                                     {AutoDecision::Outcome::error, "error"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AutoDecision, outcome, text)

namespace {

// This rank's try at the cuda backend: set up when it bound a GPU.
std::pair<std::unique_ptr<Backend>, GpuFinding> try_gpu(const Placement& here) {
  auto& registry = BackendRegistry::instance();
  if (!registry.has("cuda")) return {nullptr, GpuFinding{GpuFinding::State::none, "the cuda backend is not built in"}};
  GpuFinding finding;
  std::unique_ptr<Backend> gpu;
  try {
    gpu = registry.create("cuda");
    finding.state = GpuFinding::State::unbound;
    gpu->set_up(here.local_rank, here.local_size);
    finding.state = GpuFinding::State::bound;
  } catch (const std::exception& e) {
    finding.why = e.what();
    gpu.reset();
  }
  return {std::move(gpu), finding};
}

std::unique_ptr<Backend> set_up(const std::string& name, const Placement& here) {
  auto backend = BackendRegistry::instance().create(name);
  backend->set_up(here.local_rank, here.local_size);
  return backend;
}

}  // namespace

AutoDecision decide_auto(const std::vector<GpuFinding>& findings, const std::vector<std::string>& hosts) {
  std::string unbound, none;
  bool any_gpu = false, all_bound = true;
  for (std::size_t r = 0; r < findings.size(); ++r) {
    const GpuFinding& f = findings[r];
    any_gpu = any_gpu || f.state != GpuFinding::State::none;
    all_bound = all_bound && f.state == GpuFinding::State::bound;
    if (f.state == GpuFinding::State::bound) continue;
    const std::string where = "rank " + std::to_string(r) + " (" + hosts[r] + ")";
    (f.state == GpuFinding::State::unbound ? unbound : none) +=
        (unbound.empty() && none.empty() ? "" : "; ") + where + ": " + f.why;
  }
  if (all_bound) return {AutoDecision::Outcome::cuda, "auto: every rank bound a GPU"};
  if (!any_gpu)
    return {AutoDecision::Outcome::host,
            "backend auto: no rank sees a GPU (rank 0: " + findings.front().why + "); running on the host backend"};
  return {AutoDecision::Outcome::error,
          "backend auto: some ranks see a GPU but " + unbound + none + " (launch one rank per GPU, or name --backend host)"};
}

BackendChoice choose_backend(World& world, const std::string& name) {
  const Placement& here = world.placement();
  if (name != "auto") return {set_up(name, here), ""};
  auto [gpu, finding] = try_gpu(here);
  const auto findings = gather_values(world.all(), finding);
  AutoDecision decision;
  if (world.rank() == 0) {
    std::vector<std::string> hosts;
    for (const Placement& p : world.placements()) hosts.push_back(p.host);
    decision = decide_auto(findings, hosts);
  }
  decision = broadcast_value(world.all(), decision);
  if (decision.outcome == AutoDecision::Outcome::cuda) return {std::move(gpu), decision.text};
  gpu.reset();
  if (decision.outcome == AutoDecision::Outcome::error) throw SetupError(decision.text);
  return {set_up("host", here), decision.text};
}

LocalBackend local_backend(const std::string& name) {
  if (name != "auto" && name != "cuda") return {name, 0, ""};
  auto& registry = BackendRegistry::instance();
  try {
    if (!registry.has("cuda")) throw SetupError("the cuda backend is not built in");
    return {"cuda", registry.create("cuda")->device_count(), ""};
  } catch (const SetupError& e) {
    if (name == "cuda") throw;
    return {"host", 0, e.what()};
  }
}

}  // namespace rackqual
