#pragma once
// Values exchanged between the ranks of a group, typed: anything nlohmann::json converts
// (numbers, strings, vectors, maps, and types with to_json/from_json) travels as one JSON text
// over the group's gather and broadcast, so that no caller writes a text protocol of its own.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rackqual/api/group.hpp"

namespace rackqual {

// Every rank's value, in group rank order, on the leader (the others get an empty vector).
template <typename T>
std::vector<T> gather_values(const Group& group, const T& value) {
  std::vector<T> out;
  for (const std::string& text : group.gather(nlohmann::json(value).dump()))
    out.push_back(nlohmann::json::parse(text).template get<T>());
  return out;
}

// `root`'s value, on every rank (what the others pass is not sent).
template <typename T>
T broadcast_value(const Group& group, const T& value, int root = 0) {
  const bool sending = group.rank() == root;
  return nlohmann::json::parse(group.broadcast(sending ? nlohmann::json(value).dump() : "", root)).template get<T>();
}

// Every rank's value, in group rank order, on every rank.
template <typename T>
std::vector<T> all_gather_values(const Group& group, const T& value) {
  return broadcast_value(group, gather_values(group, value));
}

}  // namespace rackqual
