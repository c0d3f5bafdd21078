// rackqual: qualify GPU clusters. run a suite, list kinds, check a suite.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/version.hpp"

int main(int argc, char** argv) {
  using namespace rackqual;
  CLI::App app{"rackqual: benchmarks and acceptance tests for GPU cluster bring-up"};
  app.set_version_flag("--version", version);
  app.require_subcommand(1);

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(add_run_command(app));
  commands.push_back(add_qualify_command(app));
  commands.push_back(add_judge_command(app));
  for (auto& command : add_python_commands(app)) commands.push_back(std::move(command));
  commands.push_back(add_health_command(app));
  commands.push_back(add_list_command(app));
  commands.push_back(add_check_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (!first_rank()) return e.get_exit_code() == 0 ? 0 : exit_bad_input;
    const int code = app.exit(e);
    return code == 0 ? 0 : exit_bad_input;
  }

  try {
    for (const auto& command : commands)
      if (*command->cli) return command->run(argc, argv);
    return exit_bad_input;   // not reached: the app requires one subcommand
  } catch (const InputError& e) {
    say(e.what());
    return exit_bad_input;
  } catch (const FieldError& e) {
    say(std::string("rackqual: ") + e.what());
    return exit_bad_input;
  } catch (const std::exception& e) {
    // Nothing was measured: run and qualify end every error after set-up themselves (exit 3);
    // what reaches here (check, judge, a launcher or Python that cannot start) could not assess.
    say(std::string("rackqual: error: ") + e.what());
    return exit_bad_input;
  }
}
