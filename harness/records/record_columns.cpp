#include "rackqual/records/record_columns.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

namespace rackqual {
namespace {

constexpr std::int64_t missing_time = std::numeric_limits<std::int64_t>::min();
constexpr double missing_number = std::numeric_limits<double>::quiet_NaN();

// Maps keyed by std::string and looked up by string_view without a copy.
struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

template <class T>
bool number_at(std::string_view text, std::size_t at, std::size_t length, T& out) {
  if (at + length > text.size()) return false;
  const char* begin = text.data() + at;
  const auto [end, error] = std::from_chars(begin, begin + length, out);
  return error == std::errc() && end == begin + length;
}

// "2026-11-26T00:04:35.223Z" (any number of fraction digits) as ns since the epoch; none when malformed.
std::int64_t parse_time(std::string_view t) {
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t.back() != 'Z')
    return missing_time;
  if (!number_at(t, 0, 4, year) || !number_at(t, 5, 2, month) || !number_at(t, 8, 2, day) || !number_at(t, 11, 2, hour) ||
      !number_at(t, 14, 2, minute) || !number_at(t, 17, 2, second))
    return missing_time;
  std::int64_t nanoseconds = 0;
  if (t[19] == '.') {
    std::int64_t scale = 100'000'000;
    for (std::size_t i = 20; i + 1 < t.size(); ++i, scale /= 10) {
      if (t[i] < '0' || t[i] > '9') return missing_time;
      nanoseconds += (t[i] - '0') * scale;
    }
  } else if (t.size() != 20) {
    return missing_time;
  }
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return missing_time;
  // Nanoseconds in 64 bits reach 292 years either side of 1970 (pandas' range, 1677 to 2262).
  if (year < 1678 || year > 2261) return missing_time;
  const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
  return ((static_cast<std::int64_t>(days) * 24 + hour) * 60 + minute) * 60'000'000'000LL + second * 1'000'000'000LL +
         nanoseconds;
}

std::string number_text(double v) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  return {text, end};
}

// Why a parsed line is not a record of this schema; empty when it is one.
std::string foreign(simdjson::dom::element line) {
  simdjson::dom::object record;
  if (line.get_object().get(record)) return "not a rackqual record: not a JSON object";
  int64_t schema = 0;
  if (record["schema"].get_int64().get(schema) || schema != 1) return "not a rackqual record: no \"schema\": 1";
  for (const char* field : {"run_id", "check", "verdict"}) {
    std::string_view text;
    if (record[field].get_string().get(text)) return std::string("not a rackqual record: no string \"") + field + "\"";
  }
  return "";
}

}  // namespace

struct RecordColumnReader::State {
  simdjson::dom::parser parser;
  std::vector<Column> columns;
  std::vector<StringMap<std::int32_t>> dictionaries;   // per column: its text values' codes
  // A top-level key: its column (a scalar), and its children's columns (an object's keys).
  struct Slot {
    int column = -1;
    StringMap<int> children;
  };
  StringMap<Slot> slots;
  int source = -1;
  std::int32_t source_code = -1;
  std::size_t rows = 0;
  std::vector<SkippedLine> skipped;

  int column(std::string name, Column::Type type) {
    columns.push_back(Column{std::move(name), type, {}, {}, {}, {}, {}});
    dictionaries.emplace_back();
    return static_cast<int>(columns.size()) - 1;
  }

  // Fills `c` with missing values up to `row` rows.
  void pad(Column& c, std::size_t row) {
    switch (c.type) {
      case Column::Type::number: c.numbers.resize(row, missing_number); break;
      case Column::Type::boolean: c.booleans.resize(row, -1); break;
      case Column::Type::text: c.codes.resize(row, -1); break;
      case Column::Type::time: c.times.resize(row, missing_time); break;
    }
  }

  std::size_t length(const Column& c) const {
    switch (c.type) {
      case Column::Type::number: return c.numbers.size();
      case Column::Type::boolean: return c.booleans.size();
      case Column::Type::text: return c.codes.size();
      case Column::Type::time: return c.times.size();
    }
    return 0;
  }

  std::int32_t code(int index, std::string_view text) {
    auto& dictionary = dictionaries[index];
    const auto found = dictionary.find(text);
    if (found != dictionary.end()) return found->second;
    auto& values = columns[index].values;
    const auto c = static_cast<std::int32_t>(values.size());
    values.emplace_back(text);
    dictionary.emplace(std::string(text), c);
    return c;
  }

  // A column that met a value of another type holds text from then on: what it held, written out.
  void to_text(int index) {
    Column& c = columns[index];
    std::vector<std::int32_t> codes;
    const Column::Type was = c.type;
    c.type = Column::Type::text;
    if (was == Column::Type::number)
      for (double v : c.numbers) codes.push_back(std::isnan(v) ? -1 : code(index, number_text(v)));
    if (was == Column::Type::boolean)
      for (auto v : c.booleans) codes.push_back(v < 0 ? -1 : code(index, v ? "true" : "false"));
    c.numbers.clear();
    c.booleans.clear();
    c.codes = std::move(codes);
  }

  // The value of column `index` in the current row; a key given twice in one record: the last.
  void set(int index, simdjson::dom::element value) {
    Column& c = columns[index];
    if (c.type != Column::Type::time && c.type != Column::Type::text && c.type != type_of(value, "")) to_text(index);
    pad(c, rows);
    if (length(c) > rows) drop_current(c);
    switch (c.type) {
      case Column::Type::number: c.numbers.push_back(value.get_double().value_unsafe()); break;
      case Column::Type::boolean: c.booleans.push_back(value.get_bool().value_unsafe() ? 1 : 0); break;
      case Column::Type::time: {
        std::string_view text;
        c.times.push_back(value.get_string().get(text) ? missing_time : parse_time(text));
        break;
      }
      case Column::Type::text: {
        std::string_view text;
        c.codes.push_back(value.get_string().get(text) ? code(index, simdjson::minify(value)) : code(index, text));
        break;
      }
    }
  }

  // Drops the current row's value.
  static void drop_current(Column& c) {
    if (!c.numbers.empty()) c.numbers.pop_back();
    if (!c.booleans.empty()) c.booleans.pop_back();
    if (!c.codes.empty()) c.codes.pop_back();
    if (!c.times.empty()) c.times.pop_back();
  }

  static Column::Type type_of(simdjson::dom::element value, std::string_view name) {
    switch (value.type()) {
      case simdjson::dom::element_type::BOOL: return Column::Type::boolean;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE: return Column::Type::number;
      case simdjson::dom::element_type::STRING: return name == "time" ? Column::Type::time : Column::Type::text;
      default: return Column::Type::text;
    }
  }

  void add_record(simdjson::dom::object record) {
    for (auto [key, value] : record) {
      if (value.is_null()) continue;
      auto found_slot = slots.find(key);
      if (found_slot == slots.end()) found_slot = slots.emplace(std::string(key), Slot{}).first;
      Slot& slot = found_slot->second;
      if (value.type() == simdjson::dom::element_type::OBJECT) {
        for (auto [child_key, child] : simdjson::dom::object(value)) {
          if (child.is_null()) continue;
          auto found = slot.children.find(child_key);
          if (found == slot.children.end()) {
            const std::string name = std::string(key) + "." + std::string(child_key);
            found = slot.children.emplace(std::string(child_key), column(name, type_of(child, ""))).first;
          }
          set(found->second, child);
        }
        continue;
      }
      if (slot.column < 0) slot.column = column(std::string(key), type_of(value, key));
      set(slot.column, value);
    }
    if (source < 0) source = column("source", Column::Type::text);
    pad(columns[source], rows);
    columns[source].codes.push_back(source_code);
    ++rows;
  }

  // One line; `capacity` bytes from `data` are readable (simdjson reads past the line's end).
  void add_line(const char* data, std::size_t size, const std::string& file, long line, bool unterminated) {
    std::size_t blank = 0;
    while (blank < size && (data[blank] == ' ' || data[blank] == '\t' || data[blank] == '\r')) ++blank;
    if (blank == size) return;
    simdjson::dom::element parsed;
    if (const auto error = parser.parse(data, size, false).get(parsed)) {
      skipped.push_back({file, line, unterminated ? "truncated: the file ends mid-record"
                                                  : std::string("malformed JSON: ") + simdjson::error_message(error)});
      return;
    }
    if (auto why = foreign(parsed); !why.empty()) {
      skipped.push_back({file, line, std::move(why)});
      return;
    }
    add_record(simdjson::dom::object(parsed));
  }

  void begin_source(const std::string& name) {
    if (source < 0) source = column("source", Column::Type::text);
    source_code = code(source, name);
  }
};

RecordColumnReader::RecordColumnReader() : state_(std::make_unique<State>()) {}
RecordColumnReader::~RecordColumnReader() = default;

void RecordColumnReader::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code unknown;
  if (!in || std::filesystem::is_directory(path, unknown)) {   // a folder opens, and reads as nothing
    state_->skipped.push_back({path, 0, "cannot be read"});
    return;
  }
  state_->begin_source(path);
  // Chunks of whole lines, up to 64 MiB (a small file is one chunk, its buffer no larger than
  // itself); what follows the last newline waits for the next chunk.
  const auto size = std::filesystem::file_size(path, unknown);
  const std::size_t chunk = std::clamp<std::size_t>(unknown ? 0 : size + 1, 4096, 64u << 20);
  std::vector<char> buffer;
  std::size_t held = 0;
  long line = 0;
  for (bool end = false; !end;) {
    buffer.resize(held + chunk + simdjson::SIMDJSON_PADDING);
    in.read(buffer.data() + held, static_cast<std::streamsize>(chunk));
    held += static_cast<std::size_t>(in.gcount());
    end = !in;
    std::size_t start = 0;
    while (const void* newline = std::memchr(buffer.data() + start, '\n', held - start)) {
      const std::size_t stop = static_cast<const char*>(newline) - buffer.data();
      state_->add_line(buffer.data() + start, stop - start, path, ++line, false);
      start = stop + 1;
    }
    std::memmove(buffer.data(), buffer.data() + start, held - start);
    held -= start;
    if (end && held) state_->add_line(buffer.data(), held, path, ++line, true);
  }
}

void RecordColumnReader::read_text(std::string_view text, const std::string& name) {
  state_->begin_source(name);
  const simdjson::padded_string padded(text);
  long line = 0;
  std::size_t start = 0;
  while (start < padded.size()) {
    const void* newline = std::memchr(padded.data() + start, '\n', padded.size() - start);
    const std::size_t stop = newline ? static_cast<const char*>(newline) - padded.data() : padded.size();
    state_->add_line(padded.data() + start, stop - start, name, ++line, newline == nullptr);
    start = stop + 1;
  }
}

RecordColumns RecordColumnReader::take() {
  RecordColumns out;
  out.rows = state_->rows;
  for (auto& c : state_->columns) state_->pad(c, state_->rows);
  out.columns = std::move(state_->columns);
  out.skipped = std::move(state_->skipped);
  state_ = std::make_unique<State>();
  return out;
}

}  // namespace rackqual
