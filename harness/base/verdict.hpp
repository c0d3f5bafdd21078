#pragma once
// The outcome of one check, ordered from best to worst.
#include <string>
#include <string_view>

namespace rackqual {

enum class Verdict { pass, skip, warn, fail, error };

std::string_view to_string(Verdict v);
// The worse of two verdicts: error > fail > warn > skip > pass.
Verdict worst(Verdict a, Verdict b);

}  // namespace rackqual
