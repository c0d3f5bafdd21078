#pragma once
// Errors the harness raises. Library code throws; only main() turns them into exit codes.
#include <stdexcept>
#include <string>

namespace rackqual {

// Exit codes of the rackqual executable, the same for run, qualify, check and judge: pass (every
// verdict pass, warn or skip), fail (some fail), bad input (a bad suite, profile, inventory,
// option or records file, a machine that cannot run what was asked, or a suite too large for its
// memory: nothing measured), run error (a check errored or hung while running).
enum ExitCode { exit_pass = 0, exit_fail = 1, exit_bad_input = 2, exit_run_error = 3 };

// Bad suite, profile or option: reported as "file:line: field: message", exit 2.
class InputError : public std::runtime_error {
 public:
  InputError(std::string file, int line, std::string field, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string field_;
  std::string message_;
};

// A parameter or criterion that is wrong on its own, before its place in a file is known.
class FieldError : public std::runtime_error {
 public:
  FieldError(std::string field, std::string message)
      : std::runtime_error(field + ": " + message), field_(std::move(field)), message_(std::move(message)) {}
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string field_;
  std::string message_;
};

// The machine cannot run what was asked (no such backend, no device): exit 2.
class SetupError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rackqual
