#include "rackqual/records/json_lines.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace rackqual::json_lines {
namespace {

template <class T>
bool number_at(std::string_view text, std::size_t at, std::size_t length, T& out) {
  if (at + length > text.size()) return false;
  const char* begin = text.data() + at;
  const auto [end, error] = std::from_chars(begin, begin + length, out);
  return error == std::errc() && end == begin + length;
}

}  // namespace

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

bool for_each_line(const std::string& path, const LineHandler& on_line) {
  std::ifstream in(path, std::ios::binary);
  std::error_code unknown;
  if (!in || std::filesystem::is_directory(path, unknown)) return false;   // a folder opens, and reads as nothing
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
      on_line(buffer.data() + start, stop - start, ++line, false);
      start = stop + 1;
    }
    std::memmove(buffer.data(), buffer.data() + start, held - start);
    held -= start;
    if (end && held) on_line(buffer.data(), held, ++line, true);
  }
  return true;
}

void for_each_line(const simdjson::padded_string& text, const LineHandler& on_line) {
  long line = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const void* newline = std::memchr(text.data() + start, '\n', text.size() - start);
    const std::size_t stop = newline ? static_cast<const char*>(newline) - text.data() : text.size();
    on_line(text.data() + start, stop - start, ++line, newline == nullptr);
    start = stop + 1;
  }
}

LineKind parse_record(simdjson::dom::parser& parser, const char* data, std::size_t size, bool unterminated,
                      simdjson::dom::object& record, std::string& why) {
  std::size_t blank = 0;
  while (blank < size && (data[blank] == ' ' || data[blank] == '\t' || data[blank] == '\r')) ++blank;
  if (blank == size) return LineKind::blank;
  simdjson::dom::element parsed;
  if (const auto error = parser.parse(data, size, false).get(parsed)) {
    why = unterminated ? "truncated: the file ends mid-record" : std::string("malformed JSON: ") + simdjson::error_message(error);
    return LineKind::skipped;
  }
  why = foreign(parsed);
  if (!why.empty()) return LineKind::skipped;
  record = simdjson::dom::object(parsed);
  return LineKind::record;
}

}  // namespace rackqual::json_lines
