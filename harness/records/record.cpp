#include "rackqual/records/record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

nlohmann::json device_json(const DeviceInfo& d) {
  return {{"index", d.index}, {"name", or_null(d.name)}, {"uuid", or_null(d.uuid)}, {"serial", or_null(d.serial)}};
}

// Reading a record back: each field's type is checked, and a FieldError names the field by its
// path in the record ("stats.median", "digests[2].rank") and says what it holds instead.
using Json = nlohmann::json;

std::string path_of(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

[[noreturn]] void mistyped(const std::string& path, const char* expected, const Json& got) {
  throw FieldError(path, std::string("expected ") + expected + ", got " + (got.is_null() ? "null" : got.type_name()));
}

const Json& member(const Json& object, const std::string& parent, const std::string& key) {
  if (!object.is_object()) mistyped(parent.empty() ? "record" : parent, "an object", object);
  const auto it = object.find(key);
  if (it == object.end()) throw FieldError(path_of(parent, key), "required field is missing");
  return *it;
}

std::string text(const Json& v, const std::string& path) {
  if (!v.is_string()) mistyped(path, "a string", v);
  return v.get<std::string>();
}

std::string text_or_empty(const Json& v, const std::string& path) { return v.is_null() ? "" : text(v, path); }

double number(const Json& v, const std::string& path) {
  if (!v.is_number()) mistyped(path, "a number", v);
  return v.get<double>();
}

// JSON has no NaN: a figure that was not finite is written null.
double number_or_nan(const Json& v, const std::string& path) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : number(v, path);
}

int whole(const Json& v, const std::string& path) {
  constexpr auto low = std::numeric_limits<int>::min(), high = std::numeric_limits<int>::max();
  const bool fits = (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(high)) ||
                    (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= low &&
                     v.get<std::int64_t>() <= high) ||
                    (v.is_number_float() && v.get<double>() >= low && v.get<double>() <= high &&
                     v.get<double>() == std::floor(v.get<double>()));
  if (!fits) {
    if (!v.is_number()) mistyped(path, "a whole number", v);
    throw FieldError(path, "expected a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                               ", got " + v.dump());
  }
  return v.is_number_float() ? static_cast<int>(v.get<double>()) : static_cast<int>(v.get<std::int64_t>());
}

bool flag(const Json& v, const std::string& path) {
  if (!v.is_boolean()) mistyped(path, "true or false", v);
  return v.get<bool>();
}

// An object, or null where there is none; what else is kept of it is the reader's to check.
const Json& object_or_null(const Json& v, const std::string& path) {
  if (!v.is_null() && !v.is_object()) mistyped(path, "an object or null", v);
  return v;
}

DeviceInfo device_from_json(const Json& d, const std::string& path) {
  return DeviceInfo{whole(member(d, path, "index"), path + ".index"), text_or_empty(member(d, path, "name"), path + ".name"),
                    text_or_empty(member(d, path, "uuid"), path + ".uuid"),
                    text_or_empty(member(d, path, "serial"), path + ".serial")};
}

RankDigest rank_digest_from_json(const Json& j, const std::string& path) {
  RankDigest d{whole(member(j, path, "rank"), path + ".rank"), text(member(j, path, "host"), path + ".host"),
               device_from_json(member(j, path, "device"), path + ".device"),
               Digest{text(member(j, path, "hash"), path + ".hash"), text(member(j, path, "covers"), path + ".covers"),
                      text(member(j, path, "setting"), path + ".setting"), {}, 0}};
  if (!flag(member(j, path, "bit_exact"), path + ".bit_exact")) {
    const Json& sample = member(j, path, "sample");
    if (!sample.is_array()) mistyped(path + ".sample", "a list of numbers", sample);
    for (std::size_t i = 0; i < sample.size(); ++i)
      d.digest.sample.push_back(number_or_nan(sample[i], path + ".sample[" + std::to_string(i) + "]"));
    d.digest.tolerance = number(member(j, path, "tolerance"), path + ".tolerance");
  }
  return d;
}

// What judging reads of the telemetry: whether clocks were throttled, and why.
void check_telemetry(const Json& t) {
  if (object_or_null(t, "telemetry").is_null()) return;
  if (t.contains("throttled")) flag(t["throttled"], "telemetry.throttled");
  if (t.contains("throttle_reasons")) text(t["throttle_reasons"], "telemetry.throttle_reasons");
}

// What judging reads of the arrival: the late ranks, each with how late it was.
void check_arrival(const Json& a) {
  if (object_or_null(a, "arrival").is_null() || !a.contains("late_ranks")) return;
  const Json& late = a["late_ranks"];
  if (!late.is_array()) mistyped("arrival.late_ranks", "a list of ranks", late);
  for (std::size_t i = 0; i < late.size(); ++i) {
    const int rank = whole(late[i], "arrival.late_ranks[" + std::to_string(i) + "]");
    const Json& by_rank = member(a, "arrival", "late_s");
    number(member(by_rank, "arrival.late_s", std::to_string(rank)), "arrival.late_s." + std::to_string(rank));
  }
}

}  // namespace

std::optional<Verdict> parse_verdict(const std::string& text) {
  for (Verdict v : {Verdict::pass, Verdict::skip, Verdict::warn, Verdict::fail, Verdict::error})
    if (to_string(v) == text) return v;
  return std::nullopt;
}

std::string scope_text(const Record& r) { return r.scope ? std::string(to_string(*r.scope)) : std::string(); }

nlohmann::json to_json(const Record& r) {
  nlohmann::json j;
  j["schema"] = record_schema;
  j["run_id"] = r.run_id;
  j["time"] = r.time;
  j["suite"] = r.suite;
  j["check"] = r.check;
  j["kind"] = r.kind;
  j["backend"] = r.backend;
  j["scope"] = scope_text(r);
  j["group"] = r.group;
  j["rank"] = r.rank;
  j["host"] = r.host;
  j["rack"] = r.rack;
  j["device"] = r.device ? device_json(*r.device) : nlohmann::json();
  j["params"] = r.params;
  j["metric"] = or_null(r.metric);
  j["value"] = r.value ? nlohmann::json(*r.value) : nlohmann::json();
  j["unit"] = or_null(r.unit);
  j["better"] = r.better ? nlohmann::json(std::string(to_string(*r.better))) : nlohmann::json();
  j["stats"] = r.stats ? to_json(*r.stats) : nlohmann::json();
  j["correct"] = {{"ok", r.correct}, {"detail", r.correct_detail}};
  j["telemetry"] = r.telemetry;
  j["timing"] = r.timing;
  j["arrival"] = r.arrival;
  j["isolation"] = r.isolation;
  if (r.digests.empty()) {
    j["digests"] = nullptr;
  } else {
    j["digests"] = nlohmann::json::array();
    for (const auto& d : r.digests) j["digests"].push_back(to_json(d));
  }
  j["criterion"] = or_null(r.criterion);
  j["verdict"] = std::string(to_string(r.verdict));
  j["reason"] = r.reason;
  return j;
}

Record record_from_json(const nlohmann::json& j) {
  const auto field = [&](const char* key) -> const Json& { return member(j, "", key); };
  const auto string_field = [&](const char* key) { return text(field(key), key); };
  if (const Json& schema = field("schema"); !schema.is_number() || schema != record_schema)
    throw FieldError("schema", "unsupported record schema " + schema.dump() + " (this rackqual reads schema " +
                                   std::to_string(record_schema) + ")");
  Record r;
  r.run_id = string_field("run_id");
  r.time = string_field("time");
  r.suite = string_field("suite");
  r.check = string_field("check");
  r.kind = string_field("kind");
  r.backend = string_field("backend");
  if (const std::string scope = string_field("scope"); !scope.empty()) {
    r.scope = parse_scope(scope);
    if (!r.scope) throw FieldError("scope", "unknown scope '" + scope + "' (gpu, node, nvlink_domain, rack, cluster)");
  }
  r.group = string_field("group");
  r.rank = whole(field("rank"), "rank");
  r.host = string_field("host");
  r.rack = string_field("rack");
  if (const Json& d = object_or_null(field("device"), "device"); !d.is_null()) r.device = device_from_json(d, "device");
  r.params = field("params");
  if (!r.params.is_object()) mistyped("params", "an object", r.params);
  r.metric = text_or_empty(field("metric"), "metric");
  if (const Json& v = field("value"); !v.is_null()) r.value = number(v, "value");
  r.unit = text_or_empty(field("unit"), "unit");
  if (const std::string better = text_or_empty(field("better"), "better"); !better.empty()) {
    r.better = parse_better(better);
    if (!r.better) throw FieldError("better", "expected higher or lower, got '" + better + "'");
  }
  if (const Json& s = object_or_null(field("stats"), "stats"); !s.is_null()) {
    const auto figure = [&](const char* key) { return number_or_nan(member(s, "stats", key), std::string("stats.") + key); };
    r.stats = Stats{whole(member(s, "stats", "n"), "stats.n"), figure("median"), figure("min"), figure("max"),
                    figure("p10"), figure("p90"), s.contains("p95") ? figure("p95") : std::nan(""),   // p95: added within schema 1
                    figure("cv")};
  }
  const Json& correct = field("correct");
  r.correct = flag(member(correct, "correct", "ok"), "correct.ok");
  r.correct_detail = text(member(correct, "correct", "detail"), "correct.detail");
  const auto optional = [&](const char* key) { return j.contains(key) ? j[key] : Json(); };
  r.telemetry = optional("telemetry");
  check_telemetry(r.telemetry);
  r.timing = optional("timing");
  r.arrival = optional("arrival");
  check_arrival(r.arrival);
  r.isolation = optional("isolation");
  if (const Json& digests = j.contains("digests") ? j["digests"] : Json(); !digests.is_null()) {
    if (!digests.is_array()) mistyped("digests", "a list of digests or null", digests);
    for (std::size_t i = 0; i < digests.size(); ++i)
      r.digests.push_back(rank_digest_from_json(digests[i], "digests[" + std::to_string(i) + "]"));
  }
  r.criterion = text_or_empty(field("criterion"), "criterion");
  const std::string verdict = string_field("verdict");
  const auto parsed = parse_verdict(verdict);
  if (!parsed) throw FieldError("verdict", "unknown verdict '" + verdict + "' (pass, warn, fail, error, skip)");
  r.verdict = *parsed;
  r.reason = string_field("reason");
  return r;
}

// {"rank", "host", "device", "hash", "covers", "setting", "bit_exact"}, and "sample" and "tolerance" where
// part of the output is not reproducible bit for bit (JSON has no NaN: a value that is not finite
// is written null and read back as NaN).
nlohmann::json to_json(const RankDigest& d) {
  nlohmann::json j = {{"rank", d.rank}, {"host", d.host}, {"device", device_json(d.device)}, {"hash", d.digest.hash},
                      {"covers", d.digest.covers}, {"setting", d.digest.setting}, {"bit_exact", d.digest.bit_exact()}};
  if (!d.digest.bit_exact()) {
    j["sample"] = d.digest.sample;
    j["tolerance"] = d.digest.tolerance;
  }
  return j;
}

RankDigest rank_digest_from_json(const nlohmann::json& j) { return rank_digest_from_json(j, "digest"); }

RecordWriter::RecordWriter(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
}

RecordWriter::~RecordWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void RecordWriter::append(const Record& r) { append_line(to_json(r).dump()); }

// One write() per line: with O_APPEND a line lands whole or not at all, then fsync keeps
// it through a crash of the machine, not only of the process.
void RecordWriter::append_line(const std::string& json_line) {
  const std::string line = json_line + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("cannot write record: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fdatasync(fd_);
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms));
  return out;
}

}  // namespace rackqual
