#pragma once
// A record: one measured figure with all its context (schema 1), and the JSON Lines sink.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/base/scope.hpp"
#include "rackqual/base/stats.hpp"
#include "rackqual/base/verdict.hpp"

namespace rackqual {

inline constexpr int record_schema = 1;

// One rank's output digest at a consensus point (Op::digest), with where it was computed.
struct RankDigest {
  int rank = 0;
  std::string host;
  DeviceInfo device;   // its name is the model the vote groups by
  Digest digest;
};

struct Record {
  std::string run_id;
  std::string time;          // ISO 8601, UTC
  std::string suite;
  std::string check;
  std::string kind;
  std::string backend;
  std::optional<Scope> scope;   // none for a record of no check (a hang before any began)
  std::string group;         // the node or rack the figure belongs to
  int rank = 0;
  std::string host;
  std::string rack;
  std::optional<DeviceInfo> device;   // none for group figures
  nlohmann::json params = nlohmann::json::object();
  std::string metric;        // empty for an error without a figure
  std::optional<double> value;
  std::string unit;
  std::optional<Better> better; // none without a figure
  std::optional<Stats> stats;
  bool correct = false;
  std::string correct_detail;
  nlohmann::json telemetry;  // device telemetry over the measurement (null where none)
  nlohmann::json timing;     // how it was timed: launches per timed batch, batches, repetitions
  nlohmann::json arrival;    // collectives: how late each rank reached the samples' common start
  nlohmann::json isolation;  // a culprit isolation's probe or culprit: what was tested, what it proved
  std::vector<RankDigest> digests;   // consensus: each rank's output digest (vote.hpp); empty without
  std::string criterion;     // as written; empty when none applies
  Verdict verdict = Verdict::error;
  std::string reason;
};

// The record's scope as records spell it ("gpu", "node", ...; empty without one).
std::string scope_text(const Record& r);

nlohmann::json to_json(const Record& r);
// Throws FieldError naming a missing or mistyped field by its path ("stats.median").
Record record_from_json(const nlohmann::json& j);
// The same for nlohmann::json's conversions (typed exchange between ranks, api/exchange.hpp).
inline void to_json(nlohmann::json& j, const Record& r) { j = to_json(r); }
inline void from_json(const nlohmann::json& j, Record& r) { r = record_from_json(j); }
nlohmann::json to_json(const RankDigest& d);
RankDigest rank_digest_from_json(const nlohmann::json& j);   // throws FieldError, as record_from_json
inline void to_json(nlohmann::json& j, const RankDigest& d) { j = to_json(d); }
inline void from_json(const nlohmann::json& j, RankDigest& d) { d = rank_digest_from_json(j); }
std::optional<Verdict> parse_verdict(const std::string& text);

// Appends records to a JSON Lines file, one write and flush per record, so a run killed
// halfway leaves every finished record on disk and every line whole.
class RecordWriter {
 public:
  // Opens `path` for appending, created where missing; a link at it is refused, not followed.
  explicit RecordWriter(const std::string& path);
  // Appends to `fd`, open for writing (RunFolder::create), and closes it at the end.
  explicit RecordWriter(int fd) : fd_(fd) {}
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  void append(const Record& r);
  void append_line(const std::string& json_line);

 private:
  int fd_ = -1;
};

// Now, as ISO 8601 UTC with milliseconds.
std::string utc_now();

}  // namespace rackqual
