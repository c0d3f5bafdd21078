#pragma once
// The subcommands main wires, in the order `rackqual --help` lists them: each adds itself and
// its options to the app, binds them to its own members, and runs when the command line names it.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace rackqual {

class Command {
 public:
  virtual ~Command() = default;
  // The exit code. Throws InputError, FieldError or another error for main to report (exit 2).
  virtual int run(int argc, char** argv) = 0;

  CLI::App* cli = nullptr;   // the subcommand; true once parsed
};

std::unique_ptr<Command> add_run_command(CLI::App& app);       // run_command.cpp
std::unique_ptr<Command> add_qualify_command(CLI::App& app);   // qualify_command.cpp
std::unique_ptr<Command> add_judge_command(CLI::App& app);     // judge_command.cpp
// ingest, compare and sweep: the Python package's (python_commands.cpp).
std::vector<std::unique_ptr<Command>> add_python_commands(CLI::App& app);
std::unique_ptr<Command> add_health_command(CLI::App& app);    // health_command.cpp
std::unique_ptr<Command> add_list_command(CLI::App& app);      // list_command.cpp
std::unique_ptr<Command> add_check_command(CLI::App& app);     // check_command.cpp

// Under mpiexec or srun only the first rank speaks; every rank exits with the same code.
bool first_rank();
void say(const std::string& line);

// An output file the run writes when it ends: its folder must exist before the run starts.
// Throws FieldError naming `option`.
void check_output_file(const std::string& option, const std::string& path);

}  // namespace rackqual
