#include "rackqual/world.hpp"

#include <mpi.h>

#include <cstdlib>
#include <set>
#include <stdexcept>

#include "group_impl.hpp"

namespace rackqual {
namespace {

std::string processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, static_cast<std::size_t>(length));
}

// RACKQUAL_HOST and RACKQUAL_RACK override what MPI says: a documented seam for testing
// and chaos drills (several "hosts" on one machine), and for sites whose names mislead.
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

World::World(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    throw std::runtime_error("the MPI library does not support MPI_THREAD_MULTIPLE, which the deadline watchdog needs");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);

  const std::string host = env_or("RACKQUAL_HOST", processor_name());
  const std::string rack = env_or("RACKQUAL_RACK", host);
  const std::vector<std::string> hosts = gather(host + "\n" + rack);
  std::string table;
  for (const auto& h : hosts) table += h + "\n";
  table = broadcast(table);

  placements_.resize(static_cast<std::size_t>(size_));
  std::size_t pos = 0;
  for (auto& p : placements_) {
    std::size_t nl = table.find('\n', pos);
    p.host = table.substr(pos, nl - pos);
    pos = nl + 1;
    nl = table.find('\n', pos);
    p.rack = table.substr(pos, nl - pos);
    pos = nl + 1;
  }
  for (int r = 0; r < size_; ++r) {
    auto& p = placements_[r];
    p.local_rank = 0;
    p.local_size = 0;
    for (int q = 0; q < size_; ++q) {
      if (placements_[q].host != p.host) continue;
      if (q < r) ++p.local_rank;
      ++p.local_size;
    }
  }
}

World::~World() {
  for (auto& [scope, group] : groups_) {
    MPI_Comm comm = group.impl().comm;
    MPI_Comm_free(&comm);
  }
  groups_.clear();
  MPI_Finalize();
}

std::vector<std::string> World::hosts() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& p : placements_)
    if (seen.insert(p.host).second) out.push_back(p.host);
  return out;
}

const Group& World::group(Scope scope) {
  auto it = groups_.find(scope);
  if (it != groups_.end()) return it->second;

  // Ranks of one group share a name; the color is the first world rank with that name.
  auto name_of = [&](int r) -> std::string {
    switch (scope) {
      case Scope::gpu: return placements_[r].host;
      case Scope::node:
      case Scope::nvlink_domain: return placements_[r].host;
      case Scope::rack: return placements_[r].rack;
      case Scope::cluster: return "cluster";
    }
    return "";
  };
  int color = rank_;
  if (scope != Scope::gpu) {
    for (int q = 0; q < size_; ++q) {
      if (name_of(q) == name_of(rank_)) {
        color = q;
        break;
      }
    }
  }
  auto impl = std::make_shared<Group::Impl>();
  MPI_Comm_split(MPI_COMM_WORLD, color, rank_, &impl->comm);
  MPI_Comm_rank(impl->comm, &impl->rank);
  MPI_Comm_size(impl->comm, &impl->size);
  impl->name = name_of(rank_);
  for (int q = 0; q < size_; ++q)
    if ((scope == Scope::gpu && q == rank_) || (scope != Scope::gpu && name_of(q) == name_of(rank_)))
      impl->world_ranks.push_back(q);
  return groups_.emplace(scope, Group(impl)).first->second;
}

std::vector<std::string> World::gather(const std::string& text) const { return gather_text(MPI_COMM_WORLD, text); }

std::string World::broadcast(const std::string& text) const {
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string out = rank_ == 0 ? text : std::string(static_cast<std::size_t>(length), '\0');
  MPI_Bcast(out.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
}

int World::max(int value) const {
  int out = 0;
  MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

void World::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace rackqual
