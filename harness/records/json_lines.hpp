#pragma once
// What the two readers of record files share (record_columns.cpp for data frames,
// history_columns.cpp for the fleet history): the lines of a file, the `time` field, and what
// makes a line a record of schema 1. Internal to the column reader library, the one place
// simdjson is included.
#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

namespace rackqual::json_lines {

inline constexpr std::int64_t missing_time = std::numeric_limits<std::int64_t>::min();

// "2026-11-26T00:04:35.223Z" (any number of fraction digits) as ns since the epoch; missing_time
// when malformed or outside 1678..2261 (what 64-bit nanoseconds hold).
std::int64_t parse_time(std::string_view t);

// Why a parsed line is not a rackqual record; empty when it is one.
std::string foreign(simdjson::dom::element line);

// Calls on_line(data, size, number, unterminated) for every line of a file, each readable
// simdjson::SIMDJSON_PADDING bytes past its end (simdjson reads ahead); `unterminated` for a last
// line without a newline (a run killed mid-write). False when the file cannot be read.
using LineHandler = std::function<void(const char* data, std::size_t size, long number, bool unterminated)>;
bool for_each_line(const std::string& path, const LineHandler& on_line);

// The same over text in memory.
void for_each_line(const simdjson::padded_string& text, const LineHandler& on_line);

// The line as a record, or why it is none: parse_failed (`why` says), or a JSON value that is
// not a record (`why` says). `blank` lines are neither.
enum class LineKind { record, blank, skipped };
LineKind parse_record(simdjson::dom::parser& parser, const char* data, std::size_t size, bool unterminated,
                      simdjson::dom::object& record, std::string& why);

}  // namespace rackqual::json_lines
