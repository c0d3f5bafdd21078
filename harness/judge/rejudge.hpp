#pragma once
// Records read back and judged again by a suite's criteria, exactly as a run judges them: the
// CLI's `rackqual judge` and the Python module share it, so both give the same verdicts.
#include <string>
#include <string_view>
#include <vector>

#include "rackqual/plan/prepared_suite.hpp"
#include "rackqual/records/record.hpp"

namespace rackqual {

// Every figure of a planned check judged by its point's bounds (judge_figure), then against its
// peers of the same run and check and by the consensus vote (judge_peers). Records of checks the
// suite lacks or at points it does not plan, error and skip records, and isolation's probes and
// culprits keep the verdicts they have.
std::vector<Record> rejudge(std::vector<Record> records, const PreparedSuite& suite);

// A records file read strictly: a line that is not a whole record is an InputError naming its
// file, line and field; blank lines are skipped.
std::vector<Record> read_records(const std::string& path);
// The same from the file's text, read elsewhere from `path` (which errors name).
std::vector<Record> parse_records(const std::string& path, std::string_view text);

// The suite prepared for the backend and device the records were measured on (the first
// record's that names one), against `platform_name` when given. Throws InputError.
PreparedSuite prepare_for_records(const std::string& suite_path, const std::vector<Record>& records,
                                  const std::string& platform_name = "");

// A records file judged again by the suite at `suite_path`, prepared for the records' backend
// and device (prepare_for_records): what `rackqual judge` and the Python module both return.
std::vector<Record> judge_file(const std::string& records_path, const std::string& suite_path,
                               const std::string& platform_name = "");

}  // namespace rackqual
