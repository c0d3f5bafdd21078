// `rackqual list`: the benchmark kinds with their scopes, backends, parameters and metrics.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

// Each kind: its help, scopes, the backends that run it, its parameters and metrics.
void list_kinds() {
  for (const Kind* kind : KindRegistry::instance().all()) {
    std::printf("%s: %s\n  scopes:", kind->name().c_str(), kind->help().c_str());
    for (Scope s : kind->scopes()) std::printf(" %s", std::string(to_string(s)).c_str());
    std::printf("\n  backends:");
    const auto& registry = BackendRegistry::instance();
    for (const auto& b : registry.backends()) {
      if (!registry.op(b, kind->name())) continue;
      std::string accepts;   // what the backend's operation accepts, where it narrows the kind's choices
      for (const auto& [param, values] : *registry.support(b, kind->name()))
        accepts += (accepts.empty() ? "" : "; ") + param + " " + join(values, [](const std::string& v) { return v; }, "|");
      std::printf(" %s%s", b.c_str(), accepts.empty() ? "" : (" (" + accepts + ")").c_str());
    }
    std::printf("\n  params:\n");
    for (const auto& p : kind->params()) {
      std::string type(to_string(p.type));
      if (p.type == ParamType::choice) {
        type.clear();
        for (const auto& c : p.choices) type += (type.empty() ? "" : "|") + c;
      }
      std::printf("    %-10s %-28s default %-12s %s\n", p.name.c_str(), type.c_str(),
                  p.default_value.empty() ? "(required)" : p.default_value.c_str(), p.help.c_str());
    }
    std::printf("  metrics:\n");
    for (const auto& m : kind->metrics())
      std::printf("    %-12s %-8s %-7s %s\n", m.name.c_str(), m.unit.c_str(), std::string(to_string(m.better)).c_str(),
                  m.help.c_str());
  }
}

class ListCommand : public Command {
 public:
  explicit ListCommand(CLI::App& app) {
    cli = app.add_subcommand("list", "List benchmark kinds with their parameters and metrics");
  }
  int run(int, char**) override {
    list_kinds();
    return exit_pass;
  }
};

}  // namespace

std::unique_ptr<Command> add_list_command(CLI::App& app) { return std::make_unique<ListCommand>(app); }

}  // namespace rackqual
