#pragma once
// What a run will do, decided when the suite loads: the selected checks, their measurement
// points, and for every point the absolute bounds each metric is judged by (the platform peak
// looked up once, its unit checked against the metric's). Judging is then a comparison.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rackqual/input/criteria.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"

namespace rackqual {

struct PointPlan {
  Params params;                                 // one value of the swept parameter, if any
  std::map<std::string, Bounds> bounds;          // metric -> its criterion at this point
  std::map<std::string, double> peaks;           // metric -> the platform figure it compares with (mfu
                                                 // is model_tflops over model_tflops' figure)
};

struct CheckPlan {
  const Check* check = nullptr;
  std::vector<PointPlan> points;
};

// Plans every check and returns those `only` selects (all when empty), in suite order. Throws InputError
// (file:line: field: message) for an unknown check id, a criterion relative to a peak the
// platform lacks, or a peak whose unit is not the metric's.
std::vector<CheckPlan> plan_suite(const Suite& suite, const Platform& platform, const std::vector<std::string>& only = {});

}  // namespace rackqual
