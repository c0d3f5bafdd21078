// Record files into the history's columns: the text of objects and numbers, extra fields, shares
// read side by side.
#include "rackqual/records/history_columns.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace rackqual {
namespace {

const Column& column(const RecordColumns& read, const std::string& name) {
  for (const auto& c : read.columns)
    if (c.name == name) return c;
  throw std::out_of_range("no column " + name);
}

std::string text(const Column& c, std::size_t row) {
  if (c.type == Column::Type::long_text)
    return c.booleans.at(row) ? c.bytes.substr(static_cast<std::size_t>(c.offsets[row]), static_cast<std::size_t>(c.offsets[row + 1] - c.offsets[row]))
                              : "<missing>";
  return c.codes.at(row) < 0 ? "<missing>" : c.values.at(static_cast<std::size_t>(c.codes.at(row)));
}

constexpr const char* head = R"({"schema":1,"run_id":"r1","check":"gemm","verdict":"pass","time":"2026-11-26T00:00:01Z",)";

std::string write(const std::string& name, const std::string& lines) {
  const auto path = std::filesystem::temp_directory_path() / ("rackqual-history-columns-" + name + ".jsonl");
  std::ofstream(path) << lines;
  return path.string();
}

TEST(HistoryColumns, ObjectsAreSortedCompactJsonWithNumbersAsArrowWritesThem) {
  const auto path = write("objects", std::string(head) +
      R"("params":{"m":512,"tiny":1.25e-7,"small":1e-6,"mid":1500000000.5,"big":1152921504606846976,"dtype":"bf16","sizes":[1, 2],"off":null},)"
      R"("telemetry":{"note":"caf\u00e9 \ud83d\ude80","x":-0.0},"value":3})" "\n");
  const auto shares = read_history_columns({path}, 1);
  ASSERT_EQ(shares.size(), 1u);
  const auto& read = shares[0];
  ASSERT_EQ(read.rows, 1u);
  EXPECT_EQ(text(column(read, "params"), 0),
            R"({"big":1.152921504606847e+18,"dtype":"bf16","m":512,"mid":1500000000.5,"sizes":[1,2],"small":0.000001,"tiny":1.25e-7})");
  EXPECT_EQ(text(column(read, "telemetry"), 0), R"({"note":"caf\u00e9 \ud83d\ude80","x":0})");
  EXPECT_EQ(column(read, "value").numbers[0], 3);
  EXPECT_EQ(text(column(read, "timing"), 0), "<missing>");
  EXPECT_EQ(text(column(read, "source"), 0), path);
}

TEST(HistoryColumns, UnknownFieldsAndMembersGoToExtraAndAMissingParamsIsEmpty) {
  const auto path = write("extra", std::string(head) + R"("device":{"index":1,"pci":"0:1"},"later":{"b":2,"a":"x"},"flag":true})" "\n");
  const auto read = read_history_columns({path}, 1).at(0);
  EXPECT_EQ(text(column(read, "extra"), 0), R"({"device.pci":"0:1","flag":true,"later.a":"x","later.b":2})");
  EXPECT_EQ(column(read, "device.index").numbers[0], 1);
  EXPECT_EQ(text(column(read, "params"), 0), "{}");
  EXPECT_TRUE(std::isnan(column(read, "stats.median").numbers[0]));
}

TEST(HistoryColumns, SharesKeepTheOrderOfTheFilesAndNameTheLinesTheySkip) {
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i)
    paths.push_back(write("share" + std::to_string(i), std::string(head) + R"("host":"h)" + std::to_string(i) + "\"}\n{broken\n"));
  const auto shares = read_history_columns(paths, 2);
  ASSERT_EQ(shares.size(), 2u);
  std::vector<std::string> hosts;
  std::size_t skipped = 0;
  for (const auto& share : shares) {
    for (std::size_t row = 0; row < share.rows; ++row) hosts.push_back(text(column(share, "host"), row));
    skipped += share.skipped.size();
    for (const auto& line : share.skipped) EXPECT_EQ(line.line, 2);
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"h0", "h1", "h2", "h3"}));
  EXPECT_EQ(skipped, 4u);
}

}  // namespace
}  // namespace rackqual
