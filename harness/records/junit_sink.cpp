// JUnit XML for CI dashboards (Jenkins, GitLab): a <testsuite> per check, a <testcase> per
// GPU or group and point, failures and errors with the records' reasons.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "rackqual/base/error.hpp"
#include "rackqual/base/text.hpp"
#include "rackqual/base/units.hpp"
#include "rackqual/records/file_writer.hpp"
#include "rackqual/records/sink.hpp"
#include "rackqual/records/sink_format.hpp"

namespace rackqual {

std::string xml_escaped(std::string_view text) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const char c = valid[i];
    switch (c) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&apos;"; continue;
      case '\t': out += "&#9;"; continue;
      case '\n': out += "&#10;"; continue;
      case '\r': out += "&#13;"; continue;
      default: break;
    }
    if (c >= 0 && c < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
      out += hex;
    } else if (valid.compare(i, 2, "\xEF\xBF") == 0 && i + 2 < valid.size() &&
               (valid[i + 2] == '\xBE' || valid[i + 2] == '\xBF')) {
      out += "\xEF\xBF\xBD";   // U+FFFE and U+FFFF are no XML characters
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s > 0 ? s : 0.0);
  return buf;
}

std::string iso_time(double s) {
  const std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// A GPU by host and index (with its serial where known), else the group a figure belongs to.
std::string where(const Record& r) {
  if (r.scope == Scope::gpu) {
    if (!r.device) return r.host + " rank " + std::to_string(r.rank);
    std::string name = r.host + " gpu " + std::to_string(r.device->index);
    if (!r.device->serial.empty()) name += " [" + r.device->serial + "]";
    return name;
  }
  if (!r.scope || scope_text(r) == r.group) return r.group;
  return scope_text(r) + " " + r.group;
}

// "size=64MiB" for a sweeping kind's point; empty for a kind that sweeps nothing.
std::string point_name(const Record& r) {
  const auto point = sweep_point(r);
  if (!point) return "";
  if (point->bytes) return point->name + "=" + format_bytes(point->value.get<std::int64_t>());
  return point->name + "=" + (point->value.is_string() ? point->value.get<std::string>() : point->value.dump());
}

// One record as a line of a test case's output.
std::string record_line(const Record& r) {
  std::string line = std::string(to_string(r.verdict)) + ": ";
  if (!r.metric.empty()) {
    line += r.metric + " = " + (r.value ? format_number(*r.value) : std::string("-"));
    if (!r.unit.empty()) line += " " + r.unit;
    line += ": ";
  }
  line += r.reason;
  if (!r.criterion.empty()) line += " [" + r.criterion + "]";
  line += " (rank " + std::to_string(r.rank) + ")";
  return line;
}

struct TestCase {
  std::string name;
  std::string where;
  std::vector<const Record*> records;
};

struct CheckSuite {
  std::string check;
  double start = 0;
  std::optional<double> end;
  std::vector<Record> records;
};

// Counts of a <testsuite>, and of the <testsuites> that sum them.
struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double time = 0;
};

// A check's test cases, in the order their first record came.
std::vector<TestCase> test_cases(const CheckSuite& suite) {
  std::vector<TestCase> cases;
  std::map<std::string, std::size_t> index;
  for (const Record& r : suite.records) {
    const std::string place = where(r);
    const std::string point = point_name(r);
    const std::string name = point.empty() ? place : place + " " + point;
    auto [it, added] = index.emplace(name, cases.size());
    if (added) cases.push_back({name, place, {}});
    cases[it->second].records.push_back(&r);
  }
  return cases;
}

// When a case ended: its latest record's stamp, within its check's start and end.
double case_end(const TestCase& c, double start, double end) {
  double stamp = start;
  for (const Record* r : c.records)
    if (const auto t = parse_utc(r->time)) stamp = std::max(stamp, *t);
  return std::min(stamp, end);
}

// One <testcase>: a failure, error or skip with the reason of the first record that gives the
// case its verdict, and every record as a line of its output.
std::string case_xml(const std::string& classname, const TestCase& c, double time, Counts& counts) {
  std::vector<Verdict> verdicts;
  for (const Record* r : c.records) verdicts.push_back(r->verdict);
  const Verdict verdict = overall_verdict(verdicts);
  const Record* first = nullptr;   // the first record that gives the case its verdict
  std::string detail, out;
  for (const Record* r : c.records) {
    if (r->verdict == verdict && !first) first = r;
    if (r->verdict == Verdict::fail || r->verdict == Verdict::error) detail += record_line(*r) + "\n";
    out += record_line(*r) + "\n";
  }
  std::string xml = "    <testcase classname=\"" + xml_escaped(classname) + "\" name=\"" + xml_escaped(c.name) +
                    "\" time=\"" + seconds_text(time) + "\">\n";
  if (verdict == Verdict::fail) {
    ++counts.failures;
    const std::string type = first->value && !first->correct ? "incorrect result"
                             : first->criterion.empty()        ? "fail"
                                                               : first->criterion;
    xml += "      <failure message=\"" + xml_escaped(first->reason) + "\" type=\"" + xml_escaped(type) + "\">" +
           xml_escaped(detail) + "</failure>\n";
  } else if (verdict == Verdict::error) {
    ++counts.errors;
    xml += "      <error message=\"" + xml_escaped(first->reason) + "\" type=\"error\">" + xml_escaped(detail) + "</error>\n";
  } else if (verdict == Verdict::skip) {
    ++counts.skipped;
    xml += "      <skipped message=\"" + xml_escaped(first->reason) + "\"/>\n";
  } else if (verdict == Verdict::warn) {
    out = "warn (passes): " + first->reason + "\n" + out;
  }
  return xml + "      <system-out>" + xml_escaped(out) + "</system-out>\n    </testcase>\n";
}

// A <testsuite>'s <properties>: the run and check its first record names, and how the run ended.
std::string properties_xml(const Record* any, const std::string& status, int exit_code) {
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"run_id", any ? any->run_id : ""},  {"kind", any ? any->kind : ""},   {"scope", any ? scope_text(*any) : ""},
      {"backend", any ? any->backend : ""}, {"run_status", status},          {"run_exit_code", std::to_string(exit_code)}};
  std::string xml = "    <properties>\n";
  for (const auto& [name, value] : properties)
    xml += "      <property name=\"" + name + "\" value=\"" + xml_escaped(value) + "\"/>\n";
  return xml + "    </properties>\n";
}

class JunitXml : public RecordSink {
 public:
  explicit JunitXml(std::string path) : path_(std::move(path)) {}
  ~JunitXml() override {
    // A run that ends by an exception leaves what it has, as a run error.
    if (written_) return;
    try {
      end_run("aborted", exit_run_error);
    } catch (...) {
    }
  }
  void begin_check(int, int, const std::string& check) override { suites_.push_back({check, now_s(), std::nullopt, {}}); }
  void write(const Record& record) override {
    if (suite_name_.empty()) suite_name_ = record.suite;
    suite_of(record.check).records.push_back(record);
  }
  void end_check(Verdict) override {
    if (!suites_.empty() && !suites_.back().end) suites_.back().end = now_s();
  }
  void end_run(const std::string& status, int exit_code) override {
    written_ = true;
    write_file_whole(path_, render(status, exit_code));
  }

 private:
  // The suite of a check, the latest of that name; records of no check begun (qualify's
  // verdicts) open their own.
  CheckSuite& suite_of(const std::string& check) {
    for (auto it = suites_.rbegin(); it != suites_.rend(); ++it)
      if (it->check == check) return *it;
    suites_.push_back({check, now_s(), std::nullopt, {}});
    return suites_.back();
  }

  std::string render(const std::string& status, int exit_code) const {
    const double end_of_run = now_s();
    std::string body;
    Counts total;
    for (const CheckSuite& suite : suites_) body += suite_xml(suite, end_of_run, status, exit_code, total);
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" + xml_escaped(suite_name_) + "\" tests=\"" +
           std::to_string(total.tests) + "\" failures=\"" + std::to_string(total.failures) + "\" errors=\"" +
           std::to_string(total.errors) + "\" time=\"" + seconds_text(total.time) + "\">\n" + body + "</testsuites>\n";
  }

  // A check's <testsuite>, its counts added to `total`.
  std::string suite_xml(const CheckSuite& suite, double end_of_run, const std::string& status, int exit_code,
                        Counts& total) const {
    const std::vector<TestCase> cases = test_cases(suite);
    // A point's records are stamped when it was measured; points run one after another on
    // each GPU or group, so each case lasts from the previous one's stamp (the check's start
    // for the first) to its own.
    const double suite_end = suite.end.value_or(end_of_run);
    std::map<std::string, double> previous;
    Counts counts;
    std::string cases_xml;
    for (const TestCase& c : cases) {
      const double stamp = case_end(c, suite.start, suite_end);
      const auto prev = previous.find(c.where);
      const double began = prev == previous.end() ? suite.start : prev->second;
      previous[c.where] = stamp;
      cases_xml += case_xml(suite_name_ + "." + suite.check, c, stamp - began, counts);
    }
    const double time = suite_end - suite.start;
    const Record* any = suite.records.empty() ? nullptr : &suite.records.front();
    std::string xml = "  <testsuite name=\"" + xml_escaped(suite.check) + "\" tests=\"" + std::to_string(cases.size()) +
                      "\" failures=\"" + std::to_string(counts.failures) + "\" errors=\"" + std::to_string(counts.errors) +
                      "\" skipped=\"" + std::to_string(counts.skipped) + "\" time=\"" + seconds_text(time) +
                      "\" timestamp=\"" + iso_time(suite.start) + "\">\n";
    xml += properties_xml(any, status, exit_code) + cases_xml + "  </testsuite>\n";
    total.tests += static_cast<int>(cases.size());
    total.failures += counts.failures;
    total.errors += counts.errors;
    total.time += time > 0 ? time : 0;
    return xml;
  }

  std::string path_;
  std::string suite_name_;
  std::vector<CheckSuite> suites_;
  bool written_ = false;
};

}  // namespace

std::unique_ptr<RecordSink> junit_sink(const std::string& path) { return std::make_unique<JunitXml>(path); }

}  // namespace rackqual
