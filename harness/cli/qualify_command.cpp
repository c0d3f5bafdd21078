// `rackqual qualify`: a rack's ladder gpu -> node -> rack -> span, with a verdict per GPU, per
// node and for the rack.
#include <memory>

#include "commands.hpp"
#include "rackqual/input/platform.hpp"
#include "run_command.hpp"

namespace rackqual {
namespace {

class QualifyCommand : public Command {
 public:
  explicit QualifyCommand(CLI::App& app) {
    cli = app.add_subcommand("qualify",
                             "Qualify a rack: the ladder gpu -> node -> rack -> span, a verdict per GPU, per node and "
                             "for the rack (launch over the rack's GPUs, and those of the --with racks)");
    cli->add_option("--rack", target_.rack, "The rack under qualification, as the inventory names it")->required();
    cli->add_option("--inventory", args_.topology.inventory, "Inventory YAML: racks, their hosts, GPUs per host")->required();
    cli->add_option("--with", target_.with, "A rack already qualified that the span rung joins (repeatable)");
    args_.suite_path = installed_suite("rack-bringup.yaml");
    cli->add_option("--suite", args_.suite_path, "Suite whose checks form the ladder, by scope")->capture_default_str();
    cli->add_flag("--keep-going", keep_going_, "Run every rung even after one fails (default: stop at the first that fails)");
    add_run_options(*cli, args_);
  }
  int run(int argc, char** argv) override {
    args_.topology.missing_gpus_allowed = true;   // a missing GPU fails its node's verdict, by name
    return run_suite(argc, argv, std::move(args_), target_, !keep_going_);
  }

 private:
  RunArgs args_;
  QualifyTarget target_;
  bool keep_going_ = false;
};

}  // namespace

std::unique_ptr<Command> add_qualify_command(CLI::App& app) { return std::make_unique<QualifyCommand>(app); }

}  // namespace rackqual
