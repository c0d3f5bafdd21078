#include "rackqual/api/backend.hpp"

#include <stdexcept>

#include "rackqual/base/error.hpp"
#include "rackqual/base/text.hpp"

namespace rackqual {

std::unique_ptr<Op> Backend::make_op(const std::string& kind, const OpContext& context) const {
  const OpFactory* make = BackendRegistry::instance().op(name(), kind);
  if (!make) throw SetupError("backend " + name() + " has no operation for kind " + kind);
  return (*make)(context);
}

BackendRegistry& BackendRegistry::instance() {
  static BackendRegistry registry;
  return registry;
}

void BackendRegistry::add_backend(const std::string& name, std::function<std::unique_ptr<Backend>()> make) {
  if (!backends_.emplace(name, std::move(make)).second) throw std::logic_error("backend registered twice: " + name);
}

void BackendRegistry::add_op(const std::string& backend, const std::string& kind, OpFactory make, Support support) {
  if (!ops_.emplace(std::make_pair(backend, kind), std::move(make)).second)
    throw std::logic_error("operation registered twice: " + backend + "/" + kind);
  supports_.emplace(std::make_pair(backend, kind), std::move(support));
}

const Support* BackendRegistry::support(const std::string& backend, const std::string& kind) const {
  auto it = supports_.find({backend, kind});
  return it == supports_.end() ? nullptr : &it->second;
}

std::unique_ptr<Backend> BackendRegistry::create(const std::string& name) const {
  auto it = backends_.find(name);
  if (it == backends_.end())
    throw SetupError("backend " + name + ": not available in this build (built: " + join(backends(), [](auto& n) { return n; }) + ")");
  return it->second();
}

bool BackendRegistry::has(const std::string& name) const { return backends_.count(name) != 0; }

const OpFactory* BackendRegistry::op(const std::string& backend, const std::string& kind) const {
  auto it = ops_.find({backend, kind});
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<std::string> BackendRegistry::backends() const {
  std::vector<std::string> out;
  for (const auto& [name, make] : backends_) out.push_back(name);
  return out;
}

}  // namespace rackqual
