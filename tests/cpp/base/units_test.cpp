#include "rackqual/base/units.hpp"

#include <gtest/gtest.h>

namespace rackqual {
namespace {

TEST(ParseBytes, PlainNumbers) {
  EXPECT_EQ(parse_bytes("0"), 0);
  EXPECT_EQ(parse_bytes("123"), 123);
  EXPECT_EQ(parse_bytes("123B"), 123);
  EXPECT_EQ(parse_bytes("1e6"), 1000000);
}

TEST(ParseBytes, BinaryUnits) {
  EXPECT_EQ(parse_bytes("4KiB"), 4096);
  EXPECT_EQ(parse_bytes("64MiB"), 64LL << 20);
  EXPECT_EQ(parse_bytes("8GiB"), 8LL << 30);
  EXPECT_EQ(parse_bytes("1TiB"), 1LL << 40);
  EXPECT_EQ(parse_bytes("1.5KiB"), 1536);
}

TEST(ParseBytes, DecimalUnits) {
  EXPECT_EQ(parse_bytes("1kB"), 1000);
  EXPECT_EQ(parse_bytes("1KB"), 1000);
  EXPECT_EQ(parse_bytes("1MB"), 1000000);
  EXPECT_EQ(parse_bytes("1GB"), 1000000000);
  EXPECT_EQ(parse_bytes("2TB"), 2000000000000);
}

TEST(ParseBytes, SpaceBeforeUnit) { EXPECT_EQ(parse_bytes("2 MiB"), 2LL << 20); }

TEST(ParseBytes, Rejects) {
  EXPECT_EQ(parse_bytes(""), std::nullopt);
  EXPECT_EQ(parse_bytes("abc"), std::nullopt);
  EXPECT_EQ(parse_bytes("MiB"), std::nullopt);
  EXPECT_EQ(parse_bytes("4XB"), std::nullopt);
  EXPECT_EQ(parse_bytes("4mib"), std::nullopt);
  EXPECT_EQ(parse_bytes("0.5"), std::nullopt);
  EXPECT_EQ(parse_bytes("1.1B"), std::nullopt);
  EXPECT_EQ(parse_bytes("inf"), std::nullopt);
  EXPECT_EQ(parse_bytes("nan"), std::nullopt);
  EXPECT_EQ(parse_bytes("1e19"), std::nullopt);
  EXPECT_EQ(parse_bytes("16EiB"), std::nullopt);
}

TEST(ParseBytes, NegativeIsParsedForTheCallerToBound) { EXPECT_EQ(parse_bytes("-4KiB"), -4096); }

TEST(ParseSeconds, Units) {
  EXPECT_DOUBLE_EQ(*parse_seconds("300s"), 300);
  EXPECT_DOUBLE_EQ(*parse_seconds("300"), 300);
  EXPECT_DOUBLE_EQ(*parse_seconds("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_seconds("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(*parse_seconds("50ms"), 0.05);
  EXPECT_DOUBLE_EQ(*parse_seconds("20us"), 20e-6);
  EXPECT_DOUBLE_EQ(*parse_seconds("2m"), 120);
  EXPECT_DOUBLE_EQ(*parse_seconds("3min"), 180);
  EXPECT_DOUBLE_EQ(*parse_seconds("1h"), 3600);
}

TEST(ParseSeconds, Rejects) {
  EXPECT_EQ(parse_seconds(""), std::nullopt);
  EXPECT_EQ(parse_seconds("s"), std::nullopt);
  EXPECT_EQ(parse_seconds("fast"), std::nullopt);
  EXPECT_EQ(parse_seconds("5d"), std::nullopt);
  EXPECT_EQ(parse_seconds("5 sec"), std::nullopt);
  EXPECT_EQ(parse_seconds("inf"), std::nullopt);
}

TEST(FormatBytes, ExactBinaryUnits) {
  EXPECT_EQ(format_bytes(1024), "1KiB");
  EXPECT_EQ(format_bytes(64LL << 20), "64MiB");
  EXPECT_EQ(format_bytes(8LL << 30), "8GiB");
  EXPECT_EQ(format_bytes(2LL << 40), "2TiB");
  EXPECT_EQ(format_bytes(1536LL << 20), "1536MiB");
}

TEST(FormatBytes, OtherwiseBytes) {
  EXPECT_EQ(format_bytes(0), "0B");
  EXPECT_EQ(format_bytes(1000), "1000B");
  EXPECT_EQ(format_bytes(1536), "1536B");
}

TEST(FormatBytes, RoundTripsThroughParse) {
  for (std::int64_t b : {std::int64_t{1}, std::int64_t{4096}, std::int64_t{3} << 30, std::int64_t{123456789}})
    EXPECT_EQ(parse_bytes(format_bytes(b)), b) << b;
}

}  // namespace
}  // namespace rackqual
