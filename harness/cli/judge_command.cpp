// `rackqual judge`: records read back and judged again by a suite.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "rackqual/records/summary.hpp"

namespace rackqual {
namespace {

// Records judged again, written as JSON Lines to stdout; the exit code is the worst verdict's,
// as a run's would be (2 when there is none).
int judge_records(const std::string& records_path, const std::string& suite_path, const std::string& platform_name) {
  const auto records = judge_file(records_path, suite_path, platform_name);
  // No figure judged is no pass: could not assess.
  if (records.empty()) throw InputError(records_path, 1, "records", "holds no records: nothing to judge");
  for (const Record& r : records) std::printf("%s\n", to_json(r).dump().c_str());
  return exit_code(records);
}

class JudgeCommand : public Command {
 public:
  explicit JudgeCommand(CLI::App& app) {
    cli = app.add_subcommand("judge", "Judge records again by a suite's criteria; writes them as JSON Lines to stdout");
    cli->add_option("records", records_path_, "A records.jsonl file")->required();
    cli->add_option("--suite", suite_path_, "Suite YAML file whose criteria judge the records")->required();
    cli->add_option("--platform", platform_, "Platform profile (default: the suite's, or the records' device's for auto)");
  }
  int run(int, char**) override { return judge_records(records_path_, suite_path_, platform_); }

 private:
  std::string records_path_, suite_path_, platform_;
};

}  // namespace

std::unique_ptr<Command> add_judge_command(CLI::App& app) { return std::make_unique<JudgeCommand>(app); }

}  // namespace rackqual
