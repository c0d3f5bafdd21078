#include "rackqual/record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace rackqual {
namespace {

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }
std::string text_or_empty(const nlohmann::json& j) { return j.is_null() ? "" : j.get<std::string>(); }

nlohmann::json device_json(const DeviceInfo& d) {
  return {{"index", d.index}, {"name", or_null(d.name)}, {"uuid", or_null(d.uuid)}, {"serial", or_null(d.serial)}};
}
DeviceInfo device_from_json(const nlohmann::json& d) {
  return DeviceInfo{d.at("index").get<int>(), text_or_empty(d.at("name")), text_or_empty(d.at("uuid")),
                    text_or_empty(d.at("serial"))};
}

}  // namespace

std::optional<Verdict> parse_verdict(const std::string& text) {
  for (Verdict v : {Verdict::pass, Verdict::skip, Verdict::warn, Verdict::fail, Verdict::error})
    if (to_string(v) == text) return v;
  return std::nullopt;
}

nlohmann::json to_json(const Record& r) {
  nlohmann::json j;
  j["schema"] = record_schema;
  j["run_id"] = r.run_id;
  j["time"] = r.time;
  j["suite"] = r.suite;
  j["check"] = r.check;
  j["kind"] = r.kind;
  j["backend"] = r.backend;
  j["scope"] = r.scope;
  j["group"] = r.group;
  j["rank"] = r.rank;
  j["host"] = r.host;
  j["rack"] = r.rack;
  j["device"] = r.device ? device_json(*r.device) : nlohmann::json();
  j["params"] = r.params;
  j["metric"] = or_null(r.metric);
  j["value"] = r.value ? nlohmann::json(*r.value) : nlohmann::json();
  j["unit"] = or_null(r.unit);
  j["better"] = or_null(r.better);
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
  if (j.at("schema").get<int>() != record_schema)
    throw std::runtime_error("unsupported record schema " + j.at("schema").dump());
  Record r;
  r.run_id = j.at("run_id").get<std::string>();
  r.time = j.at("time").get<std::string>();
  r.suite = j.at("suite").get<std::string>();
  r.check = j.at("check").get<std::string>();
  r.kind = j.at("kind").get<std::string>();
  r.backend = j.at("backend").get<std::string>();
  r.scope = j.at("scope").get<std::string>();
  r.group = j.at("group").get<std::string>();
  r.rank = j.at("rank").get<int>();
  r.host = j.at("host").get<std::string>();
  r.rack = j.at("rack").get<std::string>();
  if (const auto& d = j.at("device"); !d.is_null()) r.device = device_from_json(d);
  r.params = j.at("params");
  r.metric = text_or_empty(j.at("metric"));
  if (!j.at("value").is_null()) r.value = j.at("value").get<double>();
  r.unit = text_or_empty(j.at("unit"));
  r.better = text_or_empty(j.at("better"));
  if (const auto& s = j.at("stats"); !s.is_null())
    r.stats = Stats{s.at("n").get<int>(), s.at("median").get<double>(), s.at("min").get<double>(),
                    s.at("max").get<double>(), s.at("p10").get<double>(), s.at("p90").get<double>(),
                    s.value("p95", std::nan("")), s.at("cv").get<double>()};   // p95: added within schema 1
  r.correct = j.at("correct").at("ok").get<bool>();
  r.correct_detail = j.at("correct").at("detail").get<std::string>();
  r.telemetry = j.value("telemetry", nlohmann::json());
  r.timing = j.value("timing", nlohmann::json());
  r.arrival = j.value("arrival", nlohmann::json());
  r.isolation = j.value("isolation", nlohmann::json());
  if (const auto digests = j.value("digests", nlohmann::json()); !digests.is_null())
    for (const auto& d : digests) r.digests.push_back(rank_digest_from_json(d));
  r.criterion = text_or_empty(j.at("criterion"));
  auto verdict = parse_verdict(j.at("verdict").get<std::string>());
  if (!verdict) throw std::runtime_error("unknown verdict " + j.at("verdict").dump());
  r.verdict = *verdict;
  r.reason = j.at("reason").get<std::string>();
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

RankDigest rank_digest_from_json(const nlohmann::json& j) {
  RankDigest d{j.at("rank").get<int>(), j.at("host").get<std::string>(), device_from_json(j.at("device")),
               Digest{j.at("hash").get<std::string>(), j.at("covers").get<std::string>(),
                      j.at("setting").get<std::string>(), {}, 0}};
  if (!j.at("bit_exact").get<bool>()) {
    for (const auto& v : j.at("sample"))
      d.digest.sample.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
    d.digest.tolerance = j.at("tolerance").get<double>();
  }
  return d;
}

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
