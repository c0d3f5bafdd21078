#include "rackqual/rejudge.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include "rackqual/error.hpp"
#include "rackqual/judge.hpp"

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

std::vector<Record> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in || std::filesystem::is_directory(path)) throw InputError(path, 0, "records", "cannot be read as a records file");
  std::vector<Record> records;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty()) continue;
    try {
      records.push_back(record_from_json(nlohmann::json::parse(line)));
    } catch (const std::exception& e) {
      throw InputError(path, line_number, "record", std::string("not a rackqual record: ") + e.what());
    }
  }
  return records;
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
