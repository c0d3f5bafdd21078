#include "rackqual/judge/rejudge.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "rackqual/base/error.hpp"
#include "rackqual/input/input_file.hpp"
#include "rackqual/judge/judge.hpp"

namespace rackqual {

std::vector<Record> rejudge(std::vector<Record> records, const PreparedSuite& suite) {
  std::map<std::string, const CheckPlan*> plans;
  for (const CheckPlan& plan : suite.plans) plans[plan.check->id] = &plan;

  // A check's records of one run, in file order, judged as the run judged them.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> checks;
  for (std::size_t i = 0; i < records.size(); ++i) {
    Record& r = records[i];
    const auto plan = plans.find(r.check);
    if (plan == plans.end() || !r.isolation.is_null() || !r.value) continue;
    if (r.verdict == Verdict::error || r.verdict == Verdict::skip) continue;
    for (const PointPlan& point : plan->second->points) {
      if (point.params.to_json() != r.params) continue;
      const auto bounds = point.bounds.find(r.metric);
      judge_figure(r, bounds == point.bounds.end() ? nullptr : &bounds->second);
      checks[{r.run_id, r.check}].push_back(i);
      break;
    }
  }
  for (const auto& [key, indices] : checks) {
    std::vector<Record> check_records;
    for (std::size_t i : indices) check_records.push_back(std::move(records[i]));
    judge_peers(check_records, *plans.at(key.second));
    for (std::size_t k = 0; k < indices.size(); ++k) records[indices[k]] = std::move(check_records[k]);
  }
  return records;
}

namespace {

// How deep objects and lists of a record line nest, strings skipped: a record is 3 deep, and
// reading one much deeper would recurse as deep (copies, comparisons, writing it out).
int nesting(std::string_view line) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : line) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

constexpr int max_nesting = 64;

}  // namespace

std::vector<Record> parse_records(const std::string& path, std::string_view text) {
  std::vector<Record> records;
  int line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (nesting(line) > max_nesting)
      throw InputError(path, line_number, "record", "not a rackqual record: nested deeper than " + std::to_string(max_nesting) + " levels");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(path, line_number, "record", "not a rackqual record: malformed JSON at column " + std::to_string(e.byte));
    } catch (const nlohmann::json::exception&) {   // out_of_range: a number past a double's range
      throw InputError(path, line_number, "record", "not a rackqual record: a number too large for a double");
    }
    try {
      records.push_back(record_from_json(j));
    } catch (const FieldError& e) {
      throw InputError(path, line_number, "record", "not a rackqual record: " + std::string(e.what()));
    }
  }
  return records;
}

std::vector<Record> read_records(const std::string& path) {
  return parse_records(path, read_input_file(path, std::numeric_limits<std::size_t>::max()));
}

PreparedSuite prepare_for_records(const std::string& suite_path, const std::vector<Record>& records,
                                  const std::string& platform_name) {
  std::string backend = records.empty() ? "host" : records.front().backend, device;
  for (const Record& r : records)
    if (r.device) {
      backend = r.backend;
      device = r.device->name;
      break;
    }
  return prepare_suite(suite_path, backend, device, {}, platform_name);
}

std::vector<Record> judge_file(const std::string& records_path, const std::string& suite_path,
                               const std::string& platform_name) {
  auto records = read_records(records_path);
  const auto suite = prepare_for_records(suite_path, records, platform_name);
  return rejudge(std::move(records), suite);
}

}  // namespace rackqual
