#include "rackqual/base/error.hpp"

namespace rackqual {

InputError::InputError(std::string file, int line, std::string field, std::string message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + field + ": " + message),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)),
      message_(std::move(message)) {}

}  // namespace rackqual
