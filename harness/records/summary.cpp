#include "rackqual/records/summary.hpp"

#include <cstdio>
#include <map>
#include <string>

#include "rackqual/base/text.hpp"
#include "rackqual/base/units.hpp"

namespace rackqual {
namespace {

std::string where(const Record& r) {
  if (r.device) return r.host + " dev" + std::to_string(r.device->index) + " (rank " + std::to_string(r.rank) + ")";
  return scope_text(r) + " " + r.group;
}

std::string point_of(const Record& r) {
  for (const auto& [name, value] : r.params.items())
    if (value.is_array() && value.size() == 1 && value[0].is_number_integer())
      return " @" + format_bytes(value[0].get<std::int64_t>());
  return "";
}

// Columns padded to fixed widths; the last one (the reason) runs as long as it needs.
std::string row(const std::vector<std::string>& cells) {
  static const std::size_t widths[] = {22, 8, 12, 22, 28};
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    out += cells[i];
    if (i + 1 < cells.size()) out += std::string(cells[i].size() < widths[i] ? widths[i] - cells[i].size() : 0, ' ') + " ";
  }
  return out + "\n";
}

}  // namespace

std::string summary_table(const std::vector<Record>& records) {
  // One row per (check, metric with a criterion): the worst record of that row decides.
  struct Row {
    const Record* worst = nullptr;
    int count = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Row> rows;
  for (const auto& r : records) {
    if (r.criterion.empty() && r.verdict == Verdict::pass) continue;
    const std::string key = r.check + "\t" + r.metric;
    auto [it, fresh] = rows.try_emplace(key);
    if (fresh) order.push_back(key);
    Row& row = it->second;
    ++row.count;
    if (!row.worst || worst(row.worst->verdict, r.verdict) != row.worst->verdict ||
        (r.verdict == row.worst->verdict && r.value && row.worst->value &&
         (r.better == Better::higher ? *r.value < *row.worst->value : *r.value > *row.worst->value)))
      row.worst = &r;
  }

  std::string out = row({"check", "verdict", "metric", "worst value", "where", "reason"});
  for (const auto& key : order) {
    const Record& r = *rows.at(key).worst;
    const std::string value = r.value ? format_number(*r.value) + " " + r.unit + point_of(r) : "-";
    out += row({r.check, std::string(to_string(r.verdict)), r.metric.empty() ? "-" : r.metric, value, where(r), r.reason});
  }
  char line[160];
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : records) ++counts[static_cast<int>(r.verdict)];
  std::snprintf(line, sizeof line, "%zu records: %d pass, %d warn, %d fail, %d error, %d skip\n", records.size(),
                counts[static_cast<int>(Verdict::pass)], counts[static_cast<int>(Verdict::warn)],
                counts[static_cast<int>(Verdict::fail)], counts[static_cast<int>(Verdict::error)],
                counts[static_cast<int>(Verdict::skip)]);
  out += line;
  return out;
}

int exit_code(const std::vector<Record>& records) {
  Verdict v = Verdict::pass;
  for (const auto& r : records) v = worst(v, r.verdict);
  return exit_code(v);
}

int exit_code(Verdict worst) {
  if (worst == Verdict::error) return 3;
  if (worst == Verdict::fail) return 1;
  return 0;
}

}  // namespace rackqual
