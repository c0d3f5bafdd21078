#pragma once
// Record files read into columns, for data frames: one row per record; top-level fields by
// name, objects flattened one level with dots (device.name, params.m, stats.median), anything
// deeper and every array as JSON text. Strings are dictionary-encoded, so that millions of rows
// over a few hosts cost an integer each. A line that is not a record is skipped and said, never
// thrown: a run killed mid-write leaves a truncated last line, and a results tree may hold
// foreign files.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rackqual {

struct Column {
  // long_text: text with few repeats (a reason, a telemetry object) kept as written, not coded.
  enum class Type { number, boolean, text, time, long_text };
  std::string name;
  Type type = Type::number;
  std::vector<double> numbers;          // number: NaN where missing
  std::vector<std::int8_t> booleans;    // boolean: 0, 1, or -1 where missing
  std::vector<std::int32_t> codes;      // text: an index into `values`, -1 where missing
  std::vector<std::string> values;      // text: the distinct strings
  std::vector<std::int64_t> times;      // time (the `time` field): ns since the epoch, UTC; INT64_MIN where missing
  std::string bytes;                    // long_text: the values one after another, row i at offsets[i]..offsets[i + 1]
  std::vector<std::int64_t> offsets;    // long_text: rows + 1 of them; `booleans` is 1 where a row has a value
};

// A line left out, where and why.
struct SkippedLine {
  std::string file;
  long line = 0;
  std::string reason;
};

struct RecordColumns {
  std::size_t rows = 0;
  std::vector<Column> columns;   // in order of first appearance
  std::vector<SkippedLine> skipped;
};

class RecordColumnReader {
 public:
  RecordColumnReader();
  ~RecordColumnReader();
  // Appends the records of a JSON Lines file; `source` gives the `source` column its value.
  void read_file(const std::string& path);
  // Appends the records of JSON Lines text; `name` stands for the file in skipped lines.
  void read_text(std::string_view text, const std::string& name);
  // The columns read so far, every one `rows` long; the reader starts again empty.
  RecordColumns take();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rackqual
