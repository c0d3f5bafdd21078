// Records: read strictly (rackqual judge), judged again by fuzz/judge_suite.yaml and written
// back out; and read into columns (the Python loader), which never throws and skips bad lines.
#include <cstdint>
#include <memory>

#include "oracle.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/records/record_columns.hpp"

namespace {

const rackqual::PreparedSuite& judge_suite() {
  static const rackqual::PreparedSuite prepared = [] {
    rackqual::PreparedSuite p;
    p.path = RACKQUAL_SOURCE_DIR "/fuzz/judge_suite.yaml";
    p.suite = std::make_unique<rackqual::Suite>(rackqual::load_suite(p.path));
    p.platform = rackqual::load_platform(RACKQUAL_SOURCE_DIR "/suites/platforms/host.yaml");
    p.plans = rackqual::plan_suite(*p.suite, p.platform);
    return p;
  }();
  return prepared;
}

void check_columns(std::string_view text) {
  rackqual::RecordColumnReader reader;
  try {
    reader.read_text(text, "records.jsonl");
  } catch (const std::exception& e) {
    rackqual::fuzz::finding(std::string("the column reader threw: ") + e.what());
  }
  const rackqual::RecordColumns read = reader.take();
  for (const auto& c : read.columns) {
    std::size_t rows = 0;
    switch (c.type) {
      case rackqual::Column::Type::number: rows = c.numbers.size(); break;
      case rackqual::Column::Type::boolean: rows = c.booleans.size(); break;
      case rackqual::Column::Type::time: rows = c.times.size(); break;
      case rackqual::Column::Type::text:
        rows = c.codes.size();
        for (auto code : c.codes)
          if (code < -1 || code >= static_cast<std::int32_t>(c.values.size())) rackqual::fuzz::finding("column " + c.name + ": a code past its values");
        break;
    }
    if (rows != read.rows) rackqual::fuzz::finding("column " + c.name + " is not as long as the others");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& suite = judge_suite();
  rackqual::fuzz::expect_clean(text, [&] {
    auto records = rackqual::rejudge(rackqual::parse_records("records.jsonl", text), suite);
    for (const auto& r : records) {
      const std::string line = rackqual::to_json(r).dump();
      rackqual::record_from_json(nlohmann::json::parse(line));   // what is written reads back
    }
  });
  check_columns(text);
  return 0;
}
