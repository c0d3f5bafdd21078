#pragma once
// Record files read straight into the fleet history's columns (python/rackqual/history.py's
// RECORDS), for `rackqual ingest`: no data frame between the JSON Lines and the Parquet, and the
// files read on several threads. Every value is stored as the data-frame path stores it
// (rackqual.load, then history.to_table), so that a night ingested either way compares with the
// other:
//   - the record fields kept as text hold their text as written (a number as JSON gives it,
//     an array minified);
//   - params, telemetry, timing, arrival and isolation are JSON objects with sorted keys and no
//     spaces, their null members left out; a string member is JSON-quoted with non-ASCII
//     escaped (Python's json.dumps), unless it is JSON text of an array or object itself;
//   - a number is written as an integer where it is one (below 2^53), else as its shortest
//     round trip, fixed for decimal exponents -6 to 9 and d.ddde+X beyond (Arrow's cast to text);
//   - any other field (and any unknown member of device, stats or correct) goes to `extra`, as
//     one object keyed by its name (an object's members as `name.member`).
// Where the data-frame path differs, it is on input rackqual never writes: a key given twice in
// one object (here the last whole value wins), a field that is a number in one record and text
// in another (here each value keeps its own type), a record's own `source` field (here the file
// it came from is the source).
#include <string>
#include <vector>

#include "rackqual/records/record_columns.hpp"

namespace rackqual {

// The records of `paths` in `threads` shares of consecutive files (of about equal bytes), read
// side by side: one RecordColumns per share, in the order of the paths. Every share has these
// columns, in this order:
//   text:      run_id suite check kind backend scope group host rack metric unit better
//              criterion verdict source device.name correct.detail params timing
//   long_text: reason device.serial device.uuid telemetry arrival isolation digests extra
//   number:    rank value schema device.index stats.n stats.median stats.min stats.max stats.cv
//              stats.p10 stats.p90 stats.p95
//   boolean:   correct.ok
//   time:      time
// A line that is not a record is skipped and said, as the data-frame reader does; a file that
// cannot be read is skipped at line 0.
std::vector<RecordColumns> read_history_columns(const std::vector<std::string>& paths, int threads);

}  // namespace rackqual
