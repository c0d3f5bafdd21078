#include "rackqual/records/record.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <fstream>
#include <limits>
#include <regex>
#include <thread>

#include "rackqual/base/error.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

Record full_record() {
  Record r;
  r.run_id = "20250101-abc";
  r.time = "2025-01-01T12:00:00.123Z";
  r.suite = "smoke";
  r.check = "gemm-fp32";
  r.kind = "gemm";
  r.backend = "host";
  r.scope = Scope::gpu;
  r.group = "node01";
  r.rank = 3;
  r.host = "node01";
  r.rack = "r1";
  r.device = DeviceInfo{1, "CPU", "", "SN-42"};
  r.params = {{"m", 512}, {"dtype", "fp32"}};
  r.metric = "tflops";
  r.value = 0.0625;
  r.unit = "TFLOP/s";
  r.better = Better::higher;
  r.stats = Stats{5, 0.0625, 0.06, 0.07, 0.061, 0.069, 0.0695, 0.01};
  r.correct = true;
  r.correct_detail = "64 samples within 1e-5";
  r.criterion = "tflops: {min: 0.001}";
  r.verdict = Verdict::warn;
  r.reason = "0.0625 < warn_below 0.1";
  return r;
}

void expect_same(const Record& a, const Record& b) {
  EXPECT_EQ(to_json(a), to_json(b));
  EXPECT_EQ(a.check, b.check);
  EXPECT_EQ(a.rank, b.rank);
  EXPECT_EQ(a.device.has_value(), b.device.has_value());
  if (a.device && b.device) {
    EXPECT_EQ(a.device->index, b.device->index);
    EXPECT_EQ(a.device->name, b.device->name);
    EXPECT_EQ(a.device->uuid, b.device->uuid);
    EXPECT_EQ(a.device->serial, b.device->serial);
  }
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.stats.has_value(), b.stats.has_value());
  if (a.stats && b.stats) {
    EXPECT_EQ(to_json(*a.stats), to_json(*b.stats));
  }
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.verdict, b.verdict);
  EXPECT_EQ(a.reason, b.reason);
}

TEST(Record, ToJsonFields) {
  const nlohmann::json j = to_json(full_record());
  EXPECT_EQ(j.at("schema"), 1);
  EXPECT_EQ(j.at("check"), "gemm-fp32");
  EXPECT_EQ(j.at("rank"), 3);
  EXPECT_EQ(j.at("device"), nlohmann::json::parse(R"({"index": 1, "name": "CPU", "uuid": null, "serial": "SN-42"})"));
  EXPECT_EQ(j.at("params"), nlohmann::json::parse(R"({"m": 512, "dtype": "fp32"})"));
  EXPECT_EQ(j.at("value"), 0.0625);
  EXPECT_EQ(j.at("stats").at("n"), 5);
  EXPECT_EQ(j.at("correct"), nlohmann::json::parse(R"({"ok": true, "detail": "64 samples within 1e-5"})"));
  EXPECT_EQ(j.at("verdict"), "warn");
  EXPECT_TRUE(j.at("telemetry").is_null());
  EXPECT_TRUE(j.at("timing").is_null());
  EXPECT_TRUE(j.at("arrival").is_null());
  EXPECT_TRUE(j.at("isolation").is_null());
  EXPECT_TRUE(j.at("digests").is_null());
  EXPECT_EQ(j.size(), 28u);   // schema 1's 24 fields, then timing, arrival, isolation and digests
}

TEST(Record, EmptyFieldsAreNull) {
  Record r;
  r.reason = "measurement failed";
  const nlohmann::json j = to_json(r);
  for (const char* key : {"device", "metric", "value", "unit", "better", "stats", "telemetry", "criterion"})
    EXPECT_TRUE(j.at(key).is_null()) << key;
  EXPECT_EQ(j.at("verdict"), "error");
  EXPECT_EQ(j.at("params"), nlohmann::json::object());
}

TEST(Record, RoundTrip) {
  const Record r = full_record();
  expect_same(record_from_json(to_json(r)), r);
  expect_same(record_from_json(nlohmann::json::parse(to_json(r).dump())), r);
}

TEST(Record, StatsWrittenBeforeP95ReadWithoutIt) {
  nlohmann::json j = to_json(full_record());
  EXPECT_DOUBLE_EQ(j.at("stats").at("p95").get<double>(), 0.0695);
  j.at("stats").erase("p95");
  const Record back = record_from_json(j);
  ASSERT_TRUE(back.stats);
  EXPECT_TRUE(std::isnan(back.stats->p95));
  EXPECT_DOUBLE_EQ(back.stats->p90, 0.069);
  EXPECT_DOUBLE_EQ(back.stats->cv, 0.01);
}

TEST(Record, RoundTripOfAnErrorRecord) {
  Record r;
  r.check = "hbm";
  r.verdict = Verdict::error;
  r.reason = "rank 1: out of memory";
  const Record back = record_from_json(nlohmann::json::parse(to_json(r).dump()));
  expect_same(back, r);
  EXPECT_FALSE(back.device);
  EXPECT_FALSE(back.value);
  EXPECT_FALSE(back.stats);
  EXPECT_EQ(back.metric, "");
}

TEST(Record, RoundTripOfDigests) {
  Record r = full_record();
  RankDigest exact{3, "node01", DeviceInfo{1, "CPU", "", "SN-42"}, Digest{"9f8e7d6c5b4a3921", "C", "OpenBLAS, 4 threads", {}, 0}};
  RankDigest sampled{4, "node02", DeviceInfo{0, "GPU", "GPU-1", ""},
                     Digest{"0011223344556677", "gradients", "cuBLASLt 130000",
                            {0.5, -1.25, std::numeric_limits<double>::quiet_NaN()}, 1e-4}};
  r.digests = {exact, sampled};
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j.at("digests").at(0), nlohmann::json::parse(R"({"rank": 3, "host": "node01",
      "device": {"index": 1, "name": "CPU", "uuid": null, "serial": "SN-42"}, "hash": "9f8e7d6c5b4a3921",
      "covers": "C", "setting": "OpenBLAS, 4 threads", "bit_exact": true})"));
  EXPECT_EQ(j.at("digests").at(1).at("bit_exact"), false);
  EXPECT_EQ(j.at("digests").at(1).at("tolerance"), 1e-4);
  const Record back = record_from_json(nlohmann::json::parse(j.dump()));   // NaN is written null
  EXPECT_EQ(to_json(back).dump(), j.dump());
  ASSERT_EQ(back.digests.size(), 2u);
  EXPECT_EQ(back.digests[0].device.serial, "SN-42");
  EXPECT_TRUE(back.digests[0].digest.bit_exact());
  ASSERT_EQ(back.digests[1].digest.sample.size(), 3u);
  EXPECT_EQ(back.digests[1].digest.sample[1], -1.25);
  EXPECT_TRUE(std::isnan(back.digests[1].digest.sample[2]));
  EXPECT_EQ(back.digests[1].digest.setting, "cuBLASLt 130000");
}

TEST(Record, FromJsonRejectsBadInput) {
  nlohmann::json j = to_json(full_record());
  j["verdict"] = "meh";
  EXPECT_THROW(record_from_json(j), std::runtime_error);
  j = to_json(full_record());
  j["schema"] = 2;
  EXPECT_THROW(record_from_json(j), std::runtime_error);
  j = to_json(full_record());
  j.erase("host");
  EXPECT_THROW(record_from_json(j), FieldError);
  j = to_json(full_record());
  j["rank"] = "three";
  EXPECT_THROW(record_from_json(j), FieldError);
}

// What a record read back lacks or holds of the wrong type is named by its path in the record,
// in the harness's words (never the JSON library's), and a figure out of range is refused.
TEST(Record, FromJsonNamesTheField) {
  auto error = [](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json j = to_json(full_record());
    change(j);
    try {
      record_from_json(j);
    } catch (const FieldError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error([](auto& j) { j.erase("host"); }), "host: required field is missing");
  EXPECT_EQ(error([](auto& j) { j["rank"] = "three"; }), "rank: expected a whole number, got string");
  EXPECT_EQ(error([](auto& j) { j["rank"] = 1e300; }), "rank: expected a whole number from -2147483648 to 2147483647, got 1e+300");
  EXPECT_EQ(error([](auto& j) { j["stats"]["median"] = "fast"; }), "stats.median: expected a number, got string");
  EXPECT_EQ(error([](auto& j) { j["device"] = 3; }), "device: expected an object or null, got number");
  EXPECT_EQ(error([](auto& j) { j["digests"][0]["rank"] = nullptr; }), "digests[0].rank: expected a whole number, got null");
  EXPECT_EQ(error([](auto& j) { j["telemetry"] = {{"throttled", "yes"}}; }), "telemetry.throttled: expected true or false, got string");
  EXPECT_EQ(error([](auto& j) { j["arrival"] = {{"late_ranks", {3}}, {"late_s", nlohmann::json::object()}}; }),
            "arrival.late_s.3: required field is missing");
  EXPECT_EQ(error([](auto& j) { j["schema"] = "1"; }), "schema: unsupported record schema \"1\" (this rackqual reads schema 1)");
  EXPECT_EQ(error([](auto& j) { j = nlohmann::json::array(); }), "record: expected an object, got array");
  // A statistic that was not finite is written null and read back as NaN.
  nlohmann::json j = to_json(full_record());
  j["stats"]["cv"] = nullptr;
  EXPECT_TRUE(std::isnan(record_from_json(j).stats->cv));
}

// A records file read strictly names the line and says what is wrong in rackqual's words: JSON
// that does not parse, a number past a double's range, nesting far deeper than a record's.
TEST(Record, ParseRecordsNamesTheLine) {
  auto error = [](const std::string& text) {
    try {
      parse_records("r.jsonl", text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good = to_json(full_record()).dump();
  EXPECT_EQ(parse_records("r.jsonl", good + "\n\n  \r\n" + good).size(), 2u);
  EXPECT_EQ(error(good + "\n{\"schema\": "), "r.jsonl:2: record: not a rackqual record: malformed JSON at column 12");
  EXPECT_EQ(error("{\"schema\": 1e999}"), "r.jsonl:1: record: not a rackqual record: a number too large for a double");
  EXPECT_EQ(error(std::string(100, '[') + std::string(100, ']')),
            "r.jsonl:1: record: not a rackqual record: nested deeper than 64 levels");
  EXPECT_EQ(error("\n{\"schema\": 1}"), "r.jsonl:2: record: not a rackqual record: run_id: required field is missing");
}

TEST(Record, ParseVerdict) {
  for (Verdict v : {Verdict::pass, Verdict::skip, Verdict::warn, Verdict::fail, Verdict::error})
    EXPECT_EQ(parse_verdict(std::string(to_string(v))), v);
  EXPECT_EQ(parse_verdict("PASS"), std::nullopt);
  EXPECT_EQ(parse_verdict(""), std::nullopt);
}

TEST(Record, UtcNowFormat) {
  EXPECT_TRUE(std::regex_match(utc_now(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)"))) << utc_now();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(RecordWriter, AppendsOneLinePerRecord) {
  unit::TempDir dir;
  const std::string path = (dir.path() / "records.jsonl").string();
  Record a = full_record(), b = full_record();
  b.check = "second";
  b.verdict = Verdict::fail;
  {
    RecordWriter w(path);
    w.append(a);
    w.append(b);
  }
  {
    RecordWriter w(path);
    w.append_line(R"({"note": "raw"})");
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  expect_same(record_from_json(nlohmann::json::parse(lines[0])), a);
  expect_same(record_from_json(nlohmann::json::parse(lines[1])), b);
  EXPECT_EQ(lines[2], R"({"note": "raw"})");
}

TEST(RecordWriter, LinesStayWholeUnderConcurrentWriters) {
  unit::TempDir dir;
  const std::string path = (dir.path() / "records.jsonl").string();
  constexpr int writers = 4, each = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t)
    threads.emplace_back([&, t] {
      RecordWriter w(path);
      Record r = full_record();
      r.rank = t;
      r.reason = std::string(200000, static_cast<char>('a' + t));
      for (int i = 0; i < each; ++i) w.append(r);
    });
  for (auto& t : threads) t.join();
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(writers * each));
  for (const auto& line : lines) {
    const Record r = record_from_json(nlohmann::json::parse(line));
    EXPECT_EQ(r.reason, std::string(200000, static_cast<char>('a' + r.rank)));
  }
}

TEST(RecordWriter, UnwritablePathThrows) {
  unit::TempDir dir;
  EXPECT_THROW(RecordWriter((dir.path() / "no" / "such" / "dir.jsonl").string()), std::runtime_error);
}

}  // namespace
}  // namespace rackqual
