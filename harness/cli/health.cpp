#include "health.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "rackqual/api/backend.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "rackqual/records/summary.hpp"
#include "rackqual/run/backend_choice.hpp"

extern char** environ;

namespace rackqual {
namespace {

namespace fs = std::filesystem;

// The reason Slurm shows for a node this command drained starts so; only such a node is resumed.
constexpr const char* drain_prefix = "rackqual health: ";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string node_name(const HealthOptions& options) {
  if (!options.node.empty()) return options.node;
  if (const std::string slurm = env_or("SLURMD_NODENAME", ""); !slurm.empty()) return slurm;
  char name[HOST_NAME_MAX + 1] = {};
  ::gethostname(name, sizeof name - 1);
  const std::string host = name;
  return host.substr(0, host.find('.'));
}

// How many ranks, on which backend: one per GPU the cuda backend sees; auto falls back to the
// host backend (2 ranks, so node checks have a peer) only where no GPU is visible.
std::pair<std::string, int> ranks_and_backend(const HealthOptions& options) {
  const LocalBackend local = local_backend(options.backend);
  if (!local.why.empty())
    std::fprintf(stderr, "rackqual health: backend auto: %s; running on the host backend\n", local.why.c_str());
  const int ranks = local.name == "cuda" ? local.gpus : 2;
  return {local.name, options.ranks > 0 ? options.ranks : ranks};
}

// The environment of the local run: no launcher's variables (under a Slurm prolog mpiexec
// would otherwise join the job's step), and the node named as Slurm names it.
std::vector<std::string> run_environment(const std::string& node) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool launcher = false;
    for (const char* prefix : {"SLURM_", "SLURMD_", "PMI_", "PMIX_", "HYDRA_", "MPIR_", "OMPI_", "RACKQUAL_HOST="})
      launcher = launcher || entry.rfind(prefix, 0) == 0;
    if (!launcher) env.push_back(entry);
  }
  env.push_back("RACKQUAL_HOST=" + node);
  return env;
}

// Starts `argv` in a process group of its own; returns its pid. Throws SetupError.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, bool search_path) {
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int rc = search_path ? posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), envp.data())
                             : posix_spawn(&pid, args[0], nullptr, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw SetupError(argv[0] + " could not be started: " + std::strerror(rc));
  return pid;
}

// Waits for `pid`; past the deadline ends its process group (TERM, then KILL). Returns the
// exit status, 128 + the signal for a process killed, or nothing when the deadline passed.
std::optional<int> wait_for(pid_t pid, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0) return 128;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return std::nullopt;
}

int run_command(const std::vector<std::string>& argv, double timeout_s = 30) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  const auto code = wait_for(spawn(argv, env, true), timeout_s);
  return code ? *code : 124;
}

std::string self_path() {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw SetupError("rackqual health: cannot find its own executable: " + ec.message());
  return self.string();
}

// A record's place and figure as a person reads it: "gemm-fp32 vm gpu 1: 0.002 TFLOP/s < min 0.005".
std::string describe(const Record& r) {
  std::string text = r.check + " " + r.host;
  if (r.device) text += " gpu " + std::to_string(r.device->index);
  else if (!r.group.empty() && r.group != r.host) text += " " + r.group;
  text += ": " + (r.reason.empty() ? std::string(to_string(r.verdict)) : r.reason);
  return text;
}

// Slurm keeps a reason on one line; a long one is cut, the check and figure kept.
std::string drain_reason(const std::vector<const Record*>& failing) {
  std::string reason = drain_prefix + describe(*failing.front());
  if (failing.size() > 1) reason += " (+" + std::to_string(failing.size() - 1) + " more)";
  for (char& c : reason)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return reason.size() > 250 ? reason.substr(0, 247) + "..." : reason;
}

std::string scontrol() { return env_or("RACKQUAL_SCONTROL", "scontrol"); }

// Resumes the node when Slurm shows it drained by this command.
void resume_if_drained_by_us(const std::string& node) {
  const std::string command = scontrol() + " -o show node '" + node + "' 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return;
  std::string text;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  ::pclose(pipe);
  const auto state = text.find("State="), reason = text.find(std::string("Reason=") + drain_prefix);
  if (state == std::string::npos || reason == std::string::npos) return;
  if (text.substr(state, text.find(' ', state) - state).find("DRAIN") == std::string::npos) return;
  if (run_command({scontrol(), "update", "NodeName=" + node, "State=RESUME"}) == 0)
    std::printf("rackqual health: node %s resumed (drained by an earlier health check)\n", node.c_str());
}

// A node name as Slurm writes it: letters, digits, '-', '_' and '.'. Throws FieldError.
void check_node_name(const std::string& node) {
  for (char c : node)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw FieldError("--node", "'" + node + "' is not a node name");
}

// Where the run's records go: --out's folder, or a temporary one removed at the end; and what
// the folder held before, so that the run's own folder is told apart.
struct RecordsFolder {
  std::string path;
  bool temporary = false;
  std::set<fs::path> before;
};

// The folder made ready (a temporary one where --out names none), with what it holds now.
RecordsFolder records_folder(const HealthOptions& options) {
  RecordsFolder folder{options.out, false, {}};
  if (folder.path.empty()) {
    std::string pattern = (fs::temp_directory_path() / "rackqual-health-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw SetupError("rackqual health: cannot make a temporary folder: " + std::string(std::strerror(errno)));
    folder.path = pattern;
    folder.temporary = true;
  }
  std::error_code ec;
  if (fs::is_directory(folder.path, ec))
    for (const auto& entry : fs::directory_iterator(folder.path, ec)) folder.before.insert(entry.path());
  return folder;
}

// The records of the run folder the run made; a temporary folder is removed.
std::vector<Record> take_records(const RecordsFolder& folder) {
  std::vector<Record> records;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder.path, ec))
    if (!folder.before.count(entry.path()) && fs::exists(entry.path() / "records.jsonl"))
      records = read_records((entry.path() / "records.jsonl").string());
  if (folder.temporary) fs::remove_all(folder.path, ec);
  return records;
}

// The exit code of a run that did not fail its set-up: its records' worst verdict, an error
// where it did not finish, ended otherwise, or wrote nothing.
int run_verdict(const std::optional<int>& code, const std::vector<Record>& records, const std::string& node,
                double timeout_s) {
  int verdict = exit_code(records);
  if (!code) {
    std::printf("rackqual health: node %s: could not finish in %gs\n", node.c_str(), timeout_s);
    verdict = std::max(verdict, static_cast<int>(exit_run_error));
  } else if (*code != exit_pass && *code != exit_fail && *code != exit_run_error) {
    std::printf("rackqual health: node %s: the run ended with status %d\n", node.c_str(), *code);
    verdict = std::max(verdict, static_cast<int>(exit_run_error));
  } else if (records.empty()) {
    std::printf("rackqual health: node %s: the run wrote no records\n", node.c_str());
    verdict = exit_run_error;
  }
  return verdict;
}

// An unhealthy node: the failing check and figure said, and the node drained with --drain.
void report_unhealthy(const HealthOptions& options, const std::string& node, const std::vector<Record>& records) {
  std::vector<const Record*> failing;
  for (const Record& r : records)
    if (r.verdict == Verdict::fail) failing.push_back(&r);
  const std::string reason = drain_reason(failing);
  std::printf("rackqual health: node %s: unhealthy: %s\n", node.c_str(), reason.c_str() + std::strlen(drain_prefix));
  if (!options.drain) return;
  const int rc = run_command({scontrol(), "update", "NodeName=" + node, "State=DRAIN", "Reason=" + reason});
  if (rc == 0) std::printf("rackqual health: node %s drained\n", node.c_str());
  else std::fprintf(stderr, "rackqual health: node %s: scontrol could not drain it (exit %d)\n", node.c_str(), rc);
}

// A node not assessed: the first record in error, if any. An error outranks a fail (exit_code's
// rule): the node is not drained.
void report_not_assessed(const std::string& node, const std::vector<Record>& records) {
  const auto error = std::find_if(records.begin(), records.end(), [](const Record& r) { return r.verdict == Verdict::error; });
  std::printf("rackqual health: node %s: not assessed: %s\n", node.c_str(),
              error == records.end() ? "the run did not finish" : describe(*error).c_str());
}

}  // namespace

int health(const HealthOptions& options) {
  const std::string node = node_name(options);
  check_node_name(node);
  const auto [backend, ranks] = ranks_and_backend(options);
  if (ranks < 1) throw SetupError("rackqual health: no GPU to check on node " + node);

  const RecordsFolder folder = records_folder(options);
  const std::string mpiexec = env_or("RACKQUAL_MPIEXEC", RACKQUAL_MPIEXEC_EXECUTABLE);
  std::vector<std::string> argv = {mpiexec, "-launcher", "fork", "-n", std::to_string(ranks), self_path(), "run",
                                   options.suite, "--backend", backend, "--out", folder.path};
  argv.insert(argv.end(), options.run_args.begin(), options.run_args.end());
  const auto code = wait_for(spawn(argv, run_environment(node), false), options.timeout_s);
  const std::vector<Record> records = take_records(folder);

  if (code && *code == exit_bad_input) {
    std::printf("rackqual health: node %s: could not assess (the run's set-up failed, above)\n", node.c_str());
    return exit_bad_input;
  }
  const int verdict = run_verdict(code, records, node, options.timeout_s);
  if (verdict == exit_pass) {
    std::printf("rackqual health: node %s: healthy (%zu records, %d ranks, backend %s)\n", node.c_str(), records.size(),
                ranks, backend.c_str());
    if (options.drain) resume_if_drained_by_us(node);
  } else if (verdict == exit_fail) {
    report_unhealthy(options, node, records);
  } else {
    report_not_assessed(node, records);
  }
  return verdict;
}

}  // namespace rackqual
