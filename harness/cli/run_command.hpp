#pragma once
// What run and qualify share: the options both take, and a suite run under MPI.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "rackqual/base/topology.hpp"
#include "rackqual/judge/qualify.hpp"
#include "rackqual/run/runner.hpp"

namespace rackqual {

// A run as the command line asks for it.
struct RunArgs {
  std::string suite_path;
  std::string backend = "auto";
  RunOptions options;
  TopologyOptions topology;
  std::vector<std::string> only, faults, slow_hosts, slow_links;
  std::string simulate;   // run's --simulate: RACKSxHOSTSxGPUS
};

// Adds the options both run and qualify take to `cmd`, bound to `args`.
void add_run_options(CLI::App& cmd, RunArgs& args);

// Runs a suite; with a qualify target, as its ladder, with the rack's verdicts last. Throws
// InputError or FieldError for options that are wrong, before anything starts.
int run_suite(int argc, char** argv, RunArgs args, const std::optional<QualifyTarget>& target = std::nullopt,
              bool stop_at_failed_rung = true);

}  // namespace rackqual
