#include "rackqual/records/history_columns.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <thread>
#include <unordered_map>

#include "rackqual/records/json_lines.hpp"

namespace rackqual {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using Type = Column::Type;

// The columns, in the header's order.
enum Out : int {
  run_id, suite, check, kind, backend, scope, group, host, rack, metric, unit, better, criterion, verdict, source,
  device_name, correct_detail, params, timing,
  reason, device_serial, device_uuid, telemetry, arrival, isolation, digests, extra,
  rank, value, schema, device_index, stats_n, stats_median, stats_min, stats_max, stats_cv, stats_p10, stats_p90, stats_p95,
  correct_ok, time, out_count
};
constexpr std::array<const char*, out_count> out_names = {
    "run_id", "suite", "check", "kind", "backend", "scope", "group", "host", "rack", "metric", "unit", "better",
    "criterion", "verdict", "source", "device.name", "correct.detail", "params", "timing",
    "reason", "device.serial", "device.uuid", "telemetry", "arrival", "isolation", "digests", "extra",
    "rank", "value", "schema", "device.index", "stats.n", "stats.median", "stats.min", "stats.max", "stats.cv",
    "stats.p10", "stats.p90", "stats.p95", "correct.ok", "time"};

Type type_of(int out) {
  if (out <= timing) return Type::text;
  if (out <= extra) return Type::long_text;
  if (out <= stats_p95) return Type::number;
  return out == correct_ok ? Type::boolean : Type::time;
}

bool is_object_column(int out) {
  return out == params || out == timing || out == telemetry || out == arrival || out == isolation;
}

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

// What a top-level key is: a column of its own, a struct whose members are columns, or extra.
struct Field {
  int out = -1;                 // the column of a scalar or object field
  const StringMap<int>* members = nullptr;   // device, stats, correct: member -> column
};

const StringMap<Field>& fields() {
  static const StringMap<int> device{{"index", device_index}, {"name", device_name}, {"serial", device_serial}, {"uuid", device_uuid}};
  static const StringMap<int> stats{{"n", stats_n}, {"median", stats_median}, {"min", stats_min}, {"max", stats_max},
                                    {"cv", stats_cv}, {"p10", stats_p10}, {"p90", stats_p90}, {"p95", stats_p95}};
  static const StringMap<int> correct{{"ok", correct_ok}, {"detail", correct_detail}};
  static const StringMap<Field> all = [] {
    StringMap<Field> f{{"device", {-1, &device}}, {"stats", {-1, &stats}}, {"correct", {-1, &correct}}};
    for (int out : {run_id, suite, check, kind, backend, scope, group, host, rack, metric, unit, better, criterion, verdict,
                    reason, params, timing, telemetry, arrival, isolation, digests, rank, value, schema, time})
      f.emplace(out_names[out], Field{out, nullptr});
    return f;
  }();
  return all;
}

// ---------------------------------------------------------------------------------------------
// Values as text, as the data-frame path writes them

bool integral(double v) { return std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9007199254740992.0; }

// An integer where the number is one below 2^53; else the shortest round trip, fixed for decimal
// exponents -6..9, else d.ddde+X (how Arrow casts a double to text).
void append_number(std::string& out, double v) {
  char text[40];
  if (integral(v)) {
    out.append(text, std::to_chars(text, text + sizeof text, static_cast<std::int64_t>(v)).ptr);
    return;
  }
  const char* end = std::to_chars(text, text + sizeof text, v, std::chars_format::scientific).ptr;
  std::string_view s(text, static_cast<std::size_t>(end - text));   // -d.ddde-XX
  if (s.front() == '-') out += '-', s.remove_prefix(1);
  const std::size_t e = s.find('e');
  std::string digits(s.substr(0, e));
  if (digits.size() > 1) digits.erase(1, 1);   // the point
  int exponent = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+'), s.data() + s.size(), exponent);
  const int n = static_cast<int>(digits.size());
  if (exponent < -6 || exponent > 9) {
    out += digits[0];
    if (n > 1) out.append(".").append(digits, 1);
    out.append(exponent < 0 ? "e-" : "e+").append(std::to_string(std::abs(exponent)));
  } else if (exponent < 0) {
    out.append("0.").append(static_cast<std::size_t>(-exponent - 1), '0').append(digits);
  } else if (n <= exponent + 1) {
    out.append(digits).append(static_cast<std::size_t>(exponent + 1 - n), '0');
  } else {
    out.append(digits, 0, exponent + 1).append(".").append(digits, exponent + 1);
  }
}

// A string as Python's json.dumps writes it: quoted, escaped, non-ASCII as \uXXXX.
void append_quoted(std::string& out, std::string_view s) {
  const auto hex = [&out](unsigned u) {
    char text[8];
    std::snprintf(text, sizeof text, "\\u%04x", u);
    out += text;
  };
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t plain = i;   // a run of characters written as they are, appended at once
    while (plain < s.size() && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' && s[plain] != '\\') ++plain;
    if (plain > i) {
      out.append(s, i, plain - i);
      i = plain;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    if (c < 0x80) {
      hex(c);
      continue;
    }
    // UTF-8 (simdjson has validated it) to a code point, then UTF-16 units.
    const int length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    unsigned point = c & (0x7fu >> length);
    for (int k = 1; k < length; ++k) point = (point << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
    i += length - 1;
    if (point >= 0x10000) {
      point -= 0x10000;
      hex(0xd800 + (point >> 10));
      hex(0xdc00 + (point & 0x3ff));
    } else {
      hex(point);
    }
  }
  out += '"';
}

double as_double(element v) {
  double d = 0;
  switch (v.type()) {
    case element_type::INT64: return static_cast<double>(v.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(v.get_uint64().value_unsafe());
    case element_type::DOUBLE: return v.get_double().value_unsafe();
    case element_type::BOOL: return v.get_bool().value_unsafe() ? 1 : 0;
    case element_type::STRING: {
      const std::string_view s = v.get_string().value_unsafe();
      const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (error == std::errc() && end == s.data() + s.size()) return d;
      break;
    }
    default: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

bool is_number(element v) {
  const auto t = v.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

}  // namespace

namespace {

// One share's reader: the columns, their dictionaries, and the current record's values.
class HistoryReader {
 public:
  HistoryReader() {
    out_.columns.resize(out_count);
    for (int c = 0; c < out_count; ++c) {
      out_.columns[c].name = out_names[c];
      out_.columns[c].type = type_of(c);
      if (out_.columns[c].type == Type::long_text) out_.columns[c].offsets.push_back(0);
    }
  }

  void read_file(const std::string& path) {
    const bool read = json_lines::for_each_line(path, [&](const char* data, std::size_t size, long line, bool unterminated) {
      simdjson::dom::object record;
      std::string why;
      switch (json_lines::parse_record(parser_, data, size, unterminated, record, why)) {
        case json_lines::LineKind::record: add(record, path); break;
        case json_lines::LineKind::skipped: out_.skipped.push_back({path, line, std::move(why)}); break;
        case json_lines::LineKind::blank: break;
      }
    });
    if (!read) out_.skipped.push_back({path, 0, "cannot be read"});
  }

  RecordColumns take() { return std::move(out_); }

 private:
  simdjson::dom::parser parser_, inner_;   // inner_: strings that may be JSON text themselves
  RecordColumns out_;
  std::array<StringMap<std::int32_t>, out_count> dictionaries_;
  std::array<element, out_count> values_;
  std::array<bool, out_count> has_{};
  std::vector<std::pair<std::string, element>> extra_;
  std::string text_;

  // The record's fields to values_ and extra_ (a key given twice: the last), then one row.
  void add(simdjson::dom::object record, const std::string& path) {
    has_.fill(false);
    extra_.clear();
    std::size_t position = 0;
    for (auto [key, value] : record) {
      const Field* field = field_at(position++, key);
      if (value.is_null()) continue;
      if (!field) {
        to_extra(std::string(key), value);
      } else if (field->members) {
        if (value.type() == element_type::OBJECT) take_members(key, simdjson::dom::object(value), *field->members);
      } else if (value.type() == element_type::OBJECT && !is_object_column(field->out)) {
        to_extra(std::string(key), value);   // a scalar field given as an object: its members, as the loader flattens
      } else {
        values_[field->out] = value;
        has_[field->out] = true;
      }
    }
    emit(path);
  }

  // The field a record's `position`-th key names (none: extra). Records of one file mostly give
  // the same keys in the same order: the key at this position last time is tried first.
  const Field* field_at(std::size_t position, std::string_view key) {
    if (position >= keys_.size()) keys_.resize(position + 1);
    auto& [last_key, last_field] = keys_[position];
    if (key == last_key) return last_field;
    const auto found = fields().find(key);
    last_key = key;
    last_field = found == fields().end() ? nullptr : &found->second;
    return last_field;
  }
  std::vector<std::pair<std::string, const Field*>> keys_;

  void take_members(std::string_view key, simdjson::dom::object object, const StringMap<int>& members) {
    for (auto [member, value] : object) {
      if (value.is_null()) continue;
      const auto found = members.find(member);
      if (found == members.end()) {
        extra_.emplace_back(std::string(key) + "." + std::string(member), value);
      } else {
        values_[found->second] = value;
        has_[found->second] = true;
      }
    }
  }

  // An unknown field: an object flattened one level, anything else as it is.
  void to_extra(std::string name, element value) {
    if (value.type() != element_type::OBJECT) {
      extra_.emplace_back(std::move(name), value);
      return;
    }
    for (auto [member, child] : simdjson::dom::object(value))
      if (!child.is_null()) extra_.emplace_back(name + "." + std::string(member), child);
  }

  // A scalar as a text column holds it: a string as written, a number as append_number, true or
  // false, an array minified.
  void scalar_text(element v) {
    if (v.type() == element_type::STRING) text_.append(v.get_string().value_unsafe());
    else if (is_number(v)) append_number(text_, as_double(v));
    else if (v.type() == element_type::BOOL) text_ += v.get_bool().value_unsafe() ? "true" : "false";
    else text_ += simdjson::minify(v);
  }

  // A member's value inside a JSON object: a string quoted (unless it is JSON text of an array or
  // object, kept as it is), anything else as scalar_text.
  void member_json(element v) {
    if (v.type() != element_type::STRING) return scalar_text(v);
    const std::string_view s = v.get_string().value_unsafe();
    if (!s.empty() && (s.front() == '[' || s.front() == '{')) {
      element parsed;
      if (!inner_.parse(simdjson::padded_string(s)).get(parsed)) {
        text_.append(s);
        return;
      }
    }
    append_quoted(text_, s);
  }

  // Members (name, value) as one JSON object, sorted by name, the last of equal names; false for none.
  template <class Name>
  bool object_text(std::vector<std::pair<Name, element>>& members) {
    if (members.empty()) return false;
    const auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (!std::is_sorted(members.begin(), members.end(), by_name))   // rackqual writes them sorted
      std::stable_sort(members.begin(), members.end(), by_name);
    text_ += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
      if (text_.size() > 1) text_ += ',';
      append_quoted(text_, members[i].first);
      text_ += ':';
      member_json(members[i].second);
    }
    text_ += '}';
    return true;
  }

  // Column `c`'s text for this row in text_; false where the row has none.
  bool text_of(int c) {
    text_.clear();
    if (c == extra) return object_text(extra_);
    if (!has_[c]) return false;
    if (!is_object_column(c) || values_[c].type() != element_type::OBJECT) {
      scalar_text(values_[c]);
      return true;
    }
    members_.clear();
    for (auto [member, child] : simdjson::dom::object(values_[c]))
      if (!child.is_null()) members_.emplace_back(member, child);
    return object_text(members_);
  }
  std::vector<std::pair<std::string_view, element>> members_;   // views into the parsed line

  std::int32_t code(int c, std::string_view text) {
    // Neighbouring records mostly share a value (the run, the check, the host): the last one first.
    auto& [last_text, last_code] = last_[c];
    if (last_code >= 0 && text == last_text) return last_code;
    last_text = text;
    last_code = dictionary_code(c, text);
    return last_code;
  }
  std::array<std::pair<std::string, std::int32_t>, out_count> last_ = [] {
    std::array<std::pair<std::string, std::int32_t>, out_count> none;
    none.fill({"", -1});
    return none;
  }();

  std::int32_t dictionary_code(int c, std::string_view text) {
    auto& dictionary = dictionaries_[c];
    if (const auto found = dictionary.find(text); found != dictionary.end()) return found->second;
    auto& values = out_.columns[c].values;
    const auto next = static_cast<std::int32_t>(values.size());
    values.emplace_back(text);
    dictionary.emplace(std::string(text), next);
    return next;
  }

  void emit(const std::string& path) {
    for (int c = 0; c < out_count; ++c) {
      Column& column = out_.columns[c];
      switch (column.type) {
        case Type::text: {
          if (c == source || (has_[c] && values_[c].type() == element_type::STRING && !is_object_column(c))) {
            // Text as written: coded straight from the line, no copy.
            column.codes.push_back(code(c, c == source ? std::string_view(path) : values_[c].get_string().value_unsafe()));
            break;
          }
          const bool present = text_of(c);
          column.codes.push_back(present ? code(c, text_) : c == params ? code(c, "{}") : -1);
          break;
        }
        case Type::long_text: {
          const bool present = text_of(c);
          column.bytes += text_;
          column.offsets.push_back(static_cast<std::int64_t>(column.bytes.size()));
          column.booleans.push_back(present ? 1 : 0);
          break;
        }
        case Type::number:
          column.numbers.push_back(has_[c] ? as_double(values_[c]) : std::numeric_limits<double>::quiet_NaN());
          break;
        case Type::boolean: column.booleans.push_back(has_[c] ? boolean(values_[c]) : -1); break;
        case Type::time: {
          std::string_view t;
          column.times.push_back(has_[c] && !values_[c].get_string().get(t) ? json_lines::parse_time(t) : json_lines::missing_time);
          break;
        }
      }
    }
    ++out_.rows;
  }

  static std::int8_t boolean(element v) {
    if (v.type() == element_type::BOOL) return v.get_bool().value_unsafe() ? 1 : 0;
    std::string_view s;
    if (v.get_string().get(s)) return -1;
    return s == "true" ? 1 : s == "false" ? 0 : -1;
  }
};

// Consecutive shares of about equal bytes, at most `threads` of them, none empty: each file goes
// to the share its middle byte falls in.
std::vector<std::vector<std::string>> shares(const std::vector<std::string>& paths, int threads) {
  std::vector<std::uintmax_t> sizes;
  std::uintmax_t total = 0;
  for (const auto& path : paths) {
    std::error_code unknown;
    const auto size = std::filesystem::file_size(path, unknown);
    sizes.push_back(unknown ? 0 : size);
    total += sizes.back();
  }
  const std::size_t n = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), 1, std::max<std::size_t>(paths.size(), 1));
  std::vector<std::vector<std::string>> out(n);
  std::uintmax_t before = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::size_t k = total ? (before + sizes[i] / 2) * n / total : i * n / paths.size();
    out[std::min(k, n - 1)].push_back(paths[i]);
    before += sizes[i];
  }
  std::erase_if(out, [](const auto& share) { return share.empty(); });
  return out;
}

}  // namespace

std::vector<RecordColumns> read_history_columns(const std::vector<std::string>& paths, int threads) {
  const auto parts = shares(paths, threads);
  std::vector<RecordColumns> out(parts.size());
  std::vector<std::exception_ptr> failed(parts.size());
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < parts.size(); ++i)
    workers.emplace_back([&, i] {
      try {
        HistoryReader reader;
        for (const auto& path : parts[i]) reader.read_file(path);
        out[i] = reader.take();
      } catch (...) {   // out of memory, mostly: thrown again on the caller's thread
        failed[i] = std::current_exception();
      }
    });
  for (auto& worker : workers) worker.join();
  for (const auto& failure : failed)
    if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace rackqual
