// `rackqual ingest`, `compare` and `sweep` are the Python package's (`python -m rackqual ...`):
// this process becomes that one, with the package found where the build put it unless the
// environment says otherwise (RACKQUAL_PYTHON, PYTHONPATH, RACKQUAL_BUILD).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "commands.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

// Runs `python -m rackqual COMMAND ARGS...` in place of this process; returns only by throwing SetupError.
int python_command(const std::string& command, const std::vector<std::string>& args) {
  const char* chosen = std::getenv("RACKQUAL_PYTHON");
  const std::string python = chosen && *chosen ? chosen : RACKQUAL_PYTHON_EXECUTABLE;
  if (!std::getenv("RACKQUAL_BUILD")) setenv("RACKQUAL_BUILD", RACKQUAL_BUILD_DIR, 1);
  const char* path = std::getenv("PYTHONPATH");
  setenv("PYTHONPATH", (std::string(RACKQUAL_PYTHON_DIR) + (path && *path ? std::string(":") + path : "")).c_str(), 1);
  std::vector<std::string> words = {python, "-m", "rackqual", command};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  throw SetupError("rackqual " + command + " runs the Python package, and " + python + " could not be started: " +
                   std::strerror(errno) + " (run scripts/setup.sh, or set RACKQUAL_PYTHON)");
}

class PythonCommand : public Command {
 public:
  PythonCommand(CLI::App& app, std::string name, const std::string& help) : name_(std::move(name)) {
    cli = app.add_subcommand(name_, help);
    // Every argument, --help included, is the package's.
    cli->set_help_flag();
    cli->allow_extras();
    cli->prefix_command();
  }
  int run(int, char**) override { return python_command(name_, cli->remaining()); }

 private:
  std::string name_;
};

}  // namespace

std::vector<std::unique_ptr<Command>> add_python_commands(CLI::App& app) {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(std::make_unique<PythonCommand>(app, "ingest", "Add runs to the fleet history (Parquet): ingest RESULTS --into HISTORY"));
  commands.push_back(std::make_unique<PythonCommand>(app, "compare", "List what regressed between two results trees or histories: compare OLD NEW"));
  commands.push_back(std::make_unique<PythonCommand>(app, "sweep", "The nightly fleet sweep under Slurm: sweep --inventory INV --results TREE --history HIST"));
  commands.push_back(std::make_unique<PythonCommand>(app, "board", "The bring-up board of every rack: board --inventory INV --history HIST -o board.html [--prom FILE]"));
  return commands;
}

}  // namespace rackqual
