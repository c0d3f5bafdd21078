#pragma once
// Names that may become part of a path (a platform profile's file, a run folder, a check's id in
// a file name): letters, digits, '.', '_' and '-', not starting with '.'. A name is never a path:
// no '/', no "..", nothing hidden.
#include <optional>
#include <string>

namespace rackqual {

// What is wrong with `text` as a name, in words; nothing when it is one.
std::optional<std::string> name_problem(const std::string& text);
bool is_name(const std::string& text);

}  // namespace rackqual
