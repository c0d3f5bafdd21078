// Record files into columns: flattening, types, dictionaries, and lines that are not records.
#include "rackqual/records/record_columns.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace rackqual {
namespace {

const Column& column(const RecordColumns& read, const std::string& name) {
  for (const auto& c : read.columns)
    if (c.name == name) return c;
  throw std::out_of_range("no column " + name);
}

std::string text(const Column& c, std::size_t row) { return c.codes.at(row) < 0 ? "<missing>" : c.values.at(static_cast<std::size_t>(c.codes.at(row))); }

constexpr const char* head = R"({"schema":1,"run_id":"r1","check":"gemm","verdict":"pass",)";

TEST(RecordColumns, FlattensObjectsOneLevelAndKeepsDeeperValuesAsJsonText) {
  RecordColumnReader reader;
  reader.read_text(std::string(head) + R"("host":"h0","value":1.5,"device":{"index":0,"name":"H100"},"params":{"sizes":[1024],"m":{"a":1}},"correct":{"ok":true},"time":"2026-11-26T00:00:01.250Z"})" "\n" +
                       head + R"("host":"h1","value":null,"device":null,"correct":{"ok":false},"time":"1970-01-01T00:00:00Z"})" "\n",
                   "mem");
  const auto read = reader.take();
  ASSERT_EQ(read.rows, 2u);
  EXPECT_TRUE(read.skipped.empty());
  EXPECT_EQ(text(column(read, "host"), 1), "h1");
  EXPECT_EQ(column(read, "host").values.size(), 2u);
  EXPECT_EQ(column(read, "value").numbers[0], 1.5);
  EXPECT_TRUE(std::isnan(column(read, "value").numbers[1]));
  EXPECT_EQ(column(read, "device.index").numbers[0], 0);
  EXPECT_TRUE(std::isnan(column(read, "device.index").numbers[1]));
  EXPECT_EQ(text(column(read, "params.sizes"), 0), "[1024]");
  EXPECT_EQ(text(column(read, "params.m"), 0), R"({"a":1})");
  EXPECT_EQ(text(column(read, "params.m"), 1), "<missing>");
  EXPECT_EQ(column(read, "correct.ok").booleans, (std::vector<std::int8_t>{1, 0}));
  EXPECT_EQ(column(read, "time").times, (std::vector<std::int64_t>{1'795'651'201'250'000'000LL, 0}));
  EXPECT_EQ(text(column(read, "source"), 0), "mem");
}

// A time outside 1678 to 2261 has no nanosecond count in 64 bits: missing, not an overflow.
TEST(RecordColumns, ATimeBeyondTheNanosecondRangeIsMissing) {
  RecordColumnReader reader;
  reader.read_text(std::string(head) + R"("time":"9999-12-31T23:59:59Z"})" "\n" + head + R"("time":"1677-01-01T00:00:00Z"})" "\n" +
                       head + R"("time":"2261-12-31T00:00:00Z"})",
                   "mem");
  const auto times = column(reader.take(), "time").times;
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0], std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(times[1], std::numeric_limits<std::int64_t>::min());
  EXPECT_GT(times[2], 0);
}

TEST(RecordColumns, AColumnMeetingAnotherTypeBecomesTextKeepingWhatItHeld) {
  RecordColumnReader reader;
  reader.read_text(std::string(head) + R"("x":2})" "\n" + head + R"("x":"two"})" "\n" + head + R"("x":false})" "\n" +
                       head + R"("x":3,"x":4})" "\n",
                   "mem");
  const auto read = reader.take();
  const Column& x = column(read, "x");
  ASSERT_EQ(x.type, Column::Type::text);
  EXPECT_EQ(text(x, 0), "2");
  EXPECT_EQ(text(x, 1), "two");
  EXPECT_EQ(text(x, 2), "false");
  EXPECT_EQ(text(x, 3), "4");   // a key given twice: the last one counts
}

TEST(RecordColumns, LinesThatAreNotRecordsAreSkippedWithTheirLineAndWhy) {
  RecordColumnReader reader;
  reader.read_text(std::string(head) + R"("host":"h0"})" "\n" + "{not json\n" + R"({"schema":2,"run_id":"r","check":"c","verdict":"pass"})" "\n" +
                       R"({"schema":1,"check":"c","verdict":"pass"})" "\n" + "\n" + head + R"("host":"h1"})" "\n" + head + R"("host":)",
                   "mem");
  const auto read = reader.take();
  EXPECT_EQ(read.rows, 2u);
  ASSERT_EQ(read.skipped.size(), 4u);
  EXPECT_EQ(read.skipped[0].line, 2);
  EXPECT_EQ(read.skipped[0].reason.rfind("malformed JSON", 0), 0u) << read.skipped[0].reason;
  EXPECT_EQ(read.skipped[1].line, 3);
  EXPECT_EQ(read.skipped[1].reason, "not a rackqual record: no \"schema\": 1");
  EXPECT_EQ(read.skipped[2].reason, "not a rackqual record: no string \"run_id\"");
  EXPECT_EQ(read.skipped[3].line, 7);
  EXPECT_EQ(read.skipped[3].reason, "truncated: the file ends mid-record");
  EXPECT_EQ(text(column(read, "host"), 1), "h1");
}

TEST(RecordColumns, AFileThatCannotBeReadIsSaidNotThrown) {
  RecordColumnReader reader;
  reader.read_file("/nonexistent/records.jsonl");
  const auto read = reader.take();
  EXPECT_EQ(read.rows, 0u);
  ASSERT_EQ(read.skipped.size(), 1u);
  EXPECT_EQ(read.skipped[0].reason, "cannot be read");
  // A folder opens as a stream that reads nothing: said as well, not taken for an empty file.
  reader.read_file("/tmp");
  ASSERT_EQ(reader.take().skipped.size(), 1u);
}

}  // namespace
}  // namespace rackqual
