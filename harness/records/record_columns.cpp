#include "rackqual/records/record_columns.hpp"

#include "rackqual/records/json_lines.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace rackqual {
namespace {

using json_lines::missing_time;
constexpr double missing_number = std::numeric_limits<double>::quiet_NaN();

// Maps keyed by std::string and looked up by string_view without a copy.
struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

std::string number_text(double v) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  return {text, end};
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
    columns.push_back(Column{std::move(name), type, {}, {}, {}, {}, {}, {}, {}});
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
      case Column::Type::long_text: break;   // the history's reader's, never this one's
    }
  }

  std::size_t length(const Column& c) const {
    switch (c.type) {
      case Column::Type::number: return c.numbers.size();
      case Column::Type::boolean: return c.booleans.size();
      case Column::Type::text: return c.codes.size();
      case Column::Type::time: return c.times.size();
      case Column::Type::long_text: return c.booleans.size();
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
        c.times.push_back(value.get_string().get(text) ? missing_time : json_lines::parse_time(text));
        break;
      }
      case Column::Type::text: {
        std::string_view text;
        c.codes.push_back(value.get_string().get(text) ? code(index, simdjson::minify(value)) : code(index, text));
        break;
      }
      case Column::Type::long_text: break;
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

  // One line, readable simdjson::SIMDJSON_PADDING bytes past its end.
  void add_line(const char* data, std::size_t size, const std::string& file, long line, bool unterminated) {
    simdjson::dom::object record;
    std::string why;
    switch (json_lines::parse_record(parser, data, size, unterminated, record, why)) {
      case json_lines::LineKind::record: add_record(record); break;
      case json_lines::LineKind::skipped: skipped.push_back({file, line, std::move(why)}); break;
      case json_lines::LineKind::blank: break;
    }
  }

  void begin_source(const std::string& name) {
    if (source < 0) source = column("source", Column::Type::text);
    source_code = code(source, name);
  }
};

RecordColumnReader::RecordColumnReader() : state_(std::make_unique<State>()) {}
RecordColumnReader::~RecordColumnReader() = default;

void RecordColumnReader::read_file(const std::string& path) {
  State& state = *state_;
  bool begun = false;
  const bool read = json_lines::for_each_line(path, [&](const char* data, std::size_t size, long line, bool unterminated) {
    if (!begun) state.begin_source(path), begun = true;
    state.add_line(data, size, path, line, unterminated);
  });
  if (!read) state.skipped.push_back({path, 0, "cannot be read"});
  else if (!begun) state.begin_source(path);
}

void RecordColumnReader::read_text(std::string_view text, const std::string& name) {
  state_->begin_source(name);
  json_lines::for_each_line(simdjson::padded_string(text), [&](const char* data, std::size_t size, long line, bool unterminated) {
    state_->add_line(data, size, name, line, unterminated);
  });
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
