#pragma once
// Sizes and durations as crews write them: "64MiB", "4GiB", "1e6", "300s", "2m".
#include <cstdint>
#include <optional>
#include <string>

namespace rackqual {

// Bytes from "123", "4KiB", "64MiB", "8GiB", "1TiB", "1kB", "1MB", "1GB" (SI for kB/MB/GB).
std::optional<std::int64_t> parse_bytes(const std::string& text);
// Seconds from "300s", "250ms", "2m", "1h" or a plain number of seconds.
std::optional<double> parse_seconds(const std::string& text);
// "64MiB" when exact in binary units, else the byte count.
std::string format_bytes(std::int64_t bytes);

}  // namespace rackqual
