#pragma once
// Every default of how a check is measured and watched, named once. A suite's `defaults:` and
// a check's own keys override the first three.
namespace rackqual::defaults {

inline constexpr int repetitions = 5;         // timed repetitions; their median is the headline
inline constexpr double min_time_s = 0.2;     // seconds each repetition should last
inline constexpr double deadline_s = 600;     // seconds a check may take before it is an error

inline constexpr int warmup_launches = 2;       // untimed launches before calibration
inline constexpr int calibration_launches = 3;  // launches timed to size batches and repetitions
// A timed sample is a batch of launches between two timer marks lasting at least this long
// (up to batch_max_launches), so that the marks' own cost, the launch latency of small
// operations, and what a collective's ranks take to get going after their common start
// vanish in it.
inline constexpr double batch_min_s = 10e-3;
inline constexpr long batch_max_launches = 256;   // launches queued behind one start mark
// Stream entries (Op::stream_entries) one held batch may queue. CUDA does not document its
// per-stream launch queue; it holds about a thousand entries, and past it the host blocks inside
// a launch while the stream waits for the host: the hold times out. Half of that leaves room for
// the timer's own entries and for drivers with a shorter queue.
inline constexpr long held_stream_entries = 512;
inline constexpr long most_batches = 10'000'000;  // per repetition, for operations near zero time

// The watchdog, the last resort behind a check's own deadline, fires at
// deadline * watchdog_factor + watchdog_grace_s.
inline constexpr double watchdog_factor = 1.1;
inline constexpr double watchdog_grace_s = 5;
// Once rank 0 gives up on ranks that never arrived, the others have this long to regroup
// without them before the run ends as it would without that choice.
inline constexpr double regroup_s = 10;

// A rank that arrives last at a collective's timed samples by more than this margin (median
// over samples) is named in the record's `arrival`.
inline constexpr double late_arrival_margin_s = 1e-3;

}  // namespace rackqual::defaults
