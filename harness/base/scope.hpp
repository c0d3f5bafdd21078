#pragma once
// Who takes part in one measurement.
#include <optional>
#include <string>
#include <string_view>

namespace rackqual {

// gpu: each device alone; node: the devices of each host; nvlink_domain: the devices joined
// by one NVLink fabric (one host until an inventory says otherwise); rack: each rack; cluster: all.
enum class Scope { gpu, node, nvlink_domain, rack, cluster };

std::string_view to_string(Scope s);
std::optional<Scope> parse_scope(std::string_view text);

}  // namespace rackqual
