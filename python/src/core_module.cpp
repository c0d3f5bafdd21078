// rackqual._core: the harness the CLI is built from, for Python. Suites, kinds, judging records
// again, a suite run in-process on one rank, and record files read into columns.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "kernels/common/collective.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/base/dtype.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/stats.hpp"
#include "rackqual/base/topology.hpp"
#include "rackqual/base/version.hpp"
#include "rackqual/input/fault.hpp"
#include "rackqual/input/inventory.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "rackqual/plan/memory_fit.hpp"
#include "rackqual/plan/prepared_suite.hpp"
#include "rackqual/records/file_writer.hpp"
#include "rackqual/records/history_columns.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/record_columns.hpp"
#include "rackqual/run/backend_choice.hpp"
#include "rackqual/run/runner.hpp"
#include "rackqual/world/fake_world.hpp"

namespace py = pybind11;
using namespace rackqual;

namespace {

py::object to_python(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(j.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(j.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(j.get<double>());
    case nlohmann::json::value_t::string: return py::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const auto& item : j) out.append(to_python(item));
      return out;
    }
    default: {
      py::dict out;
      for (const auto& [key, value] : j.items()) out[py::str(key)] = to_python(value);
      return out;
    }
  }
}

const Kind& kind_named(const std::string& name) {
  const Kind* kind = KindRegistry::instance().find(name);
  if (!kind) throw FieldError("kind", "no kind named '" + name + "'");
  return *kind;
}

py::dict describe_kind(const Kind& kind) {
  py::list params, metrics, scopes;
  for (const auto& p : kind.params())
    params.append(py::dict(py::arg("name") = p.name, py::arg("type") = std::string(to_string(p.type)),
                           py::arg("default") = p.default_value, py::arg("help") = p.help, py::arg("choices") = p.choices));
  for (const auto& m : kind.metrics())
    metrics.append(py::dict(py::arg("name") = m.name, py::arg("unit") = m.unit,
                            py::arg("better") = std::string(to_string(m.better)), py::arg("help") = m.help));
  for (Scope s : kind.scopes()) scopes.append(std::string(to_string(s)));
  return py::dict(py::arg("name") = kind.name(), py::arg("help") = kind.help(), py::arg("scopes") = scopes,
                  py::arg("params") = params, py::arg("metrics") = metrics);
}

py::dict describe_suite(const PreparedSuite& prepared) {
  py::list checks;
  for (const CheckPlan& plan : prepared.plans) {
    const Check& c = *plan.check;
    py::list criteria, points;
    for (const auto& criterion : c.criteria) criteria.append(criterion.text);
    for (const PointPlan& point : plan.points) {
      py::dict bounds;
      for (const auto& [metric, b] : point.bounds) {
        py::dict d;
        for (const auto& [key, value] : {std::pair{"min", b.min}, {"max", b.max}, {"warn_below", b.warn_below},
                                         {"warn_above", b.warn_above}, {"peak", b.peak}})
          d[key] = value ? py::object(py::float_(*value)) : py::object(py::none());
        d["text"] = b.text;
        bounds[py::str(metric)] = d;
      }
      points.append(py::dict(py::arg("params") = to_python(point.params.to_json()), py::arg("bounds") = bounds));
    }
    checks.append(py::dict(py::arg("id") = c.id, py::arg("kind") = c.kind->name(),
                           py::arg("scope") = std::string(to_string(c.scope)), py::arg("params") = to_python(c.params.to_json()),
                           py::arg("criteria") = criteria, py::arg("points") = points,
                           py::arg("repetitions") = c.repetitions, py::arg("min_time") = c.min_time,
                           py::arg("deadline") = c.deadline, py::arg("line") = c.line));
  }
  return py::dict(py::arg("name") = prepared.suite->name, py::arg("path") = prepared.path,
                  py::arg("hash") = prepared.suite->hash, py::arg("platform") = prepared.platform.name,
                  py::arg("checks") = checks);
}

// A numpy array over a vector's own storage.
template <class T>
py::array_t<T> array_of(std::vector<T>&& values) {
  auto* held = new std::vector<T>(std::move(values));
  py::capsule owner(held, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(held->size()), held->data(), owner);
}

// A numpy array of bytes over a string's own storage.
py::array_t<std::uint8_t> bytes_of(std::string&& text) {
  auto* held = new std::string(std::move(text));
  py::capsule owner(held, [](void* p) { delete static_cast<std::string*>(p); });
  return py::array_t<std::uint8_t>(static_cast<py::ssize_t>(held->size()), reinterpret_cast<const std::uint8_t*>(held->data()), owner);
}

// Columns as (name, type, data, values): numbers float64, booleans int8 (-1 missing), text int32
// codes into `values` (-1 missing), time int64 ns since the epoch (INT64_MIN missing), long text
// (offsets int64, bytes uint8, present int8) with values None.
py::tuple to_python(RecordColumns&& read) {
  py::list columns, skipped;
  for (Column& c : read.columns) {
    switch (c.type) {
      case Column::Type::number: columns.append(py::make_tuple(c.name, "number", array_of(std::move(c.numbers)), py::none())); break;
      case Column::Type::boolean: columns.append(py::make_tuple(c.name, "boolean", array_of(std::move(c.booleans)), py::none())); break;
      case Column::Type::time: columns.append(py::make_tuple(c.name, "time", array_of(std::move(c.times)), py::none())); break;
      case Column::Type::text: columns.append(py::make_tuple(c.name, "text", array_of(std::move(c.codes)), c.values)); break;
      case Column::Type::long_text:
        columns.append(py::make_tuple(c.name, "long_text", py::make_tuple(array_of(std::move(c.offsets)), bytes_of(std::move(c.bytes)),
                                                                          array_of(std::move(c.booleans))), py::none()));
        break;
    }
  }
  for (const auto& s : read.skipped) skipped.append(py::make_tuple(s.file, s.line, s.reason));
  return py::make_tuple(read.rows, columns, skipped);
}

// A point's parameters from a record's (numbers or text), every other one at its default.
Params params_of(const Kind& kind, const py::dict& given) {
  Params params;
  for (const auto& spec : kind.params()) {
    std::string text = spec.default_value;
    if (given.contains(spec.name)) {
      const py::handle value = given[py::str(spec.name)];
      if (py::isinstance<py::list>(value)) {
        std::vector<std::string> items;
        for (const auto& item : value) items.push_back(py::str(item));
        params.set(spec.name, parse_param_list(spec, items));
        continue;
      }
      text = py::str(value);
    }
    if (text.empty()) throw FieldError(spec.name, "required");
    params.set(spec.name, parse_param(spec, text));
  }
  params.set_typed(kind.decode(params));
  return params;
}

// Runs a suite on one rank in this process (the host backend, or cuda where it binds a GPU).
py::tuple run_here(const std::string& suite_path, const std::string& out_dir, const std::string& backend_name,
                   const std::vector<std::string>& only, const std::vector<std::string>& faults) {
  RunOptions options;
  options.out_dir = out_dir;
  for (const auto& f : faults) options.faults.push_back(parse_fault(f));
  options.command_line = "rackqual._core.run " + suite_path;
  const Placement here = local_identity();
  FakeCluster cluster({{here.host, here.rack}});
  FakeWorld world(cluster, 0);
  BackendChoice choice = choose_backend(world, backend_name);   // as `rackqual run` chooses, on one rank
  options.backend_choice = choice.how;
  Backend& backend = *choice.backend;
  PreparedSuite prepared = prepare_suite(suite_path, backend.name(), backend.device(0).name, only);
  check_memory(prepared, backend.device(0), 1);
  Runner runner(world, backend, *prepared.suite, prepared.platform, std::move(prepared.plans), std::move(options));
  int code = 0;
  {
    py::gil_scoped_release unlocked;
    code = runner.run();
  }
  return py::make_tuple(code, runner.dir());
}

// Every kind, described.
py::list kinds() {
  py::list out;
  for (const Kind* kind : KindRegistry::instance().all()) out.append(describe_kind(*kind));
  return out;
}

// A records file judged again, as JSON Lines.
std::string judge_text(const std::string& records_path, const std::string& suite_path, const std::string& platform) {
  std::string out;
  for (const Record& r : judge_file(records_path, suite_path, platform)) out += to_json(r).dump() + "\n";
  return out;
}

// Record files read into columns, without the GIL while reading.
py::tuple columns_of_files(const std::vector<std::string>& paths) {
  RecordColumnReader reader;
  {
    py::gil_scoped_release unlocked;
    for (const auto& path : paths) reader.read_file(path);
  }
  return to_python(reader.take());
}

// Record files read into the history's columns, on `threads` threads, without the GIL: a list of
// shares, each as to_python gives it.
py::list history_columns_of_files(const std::vector<std::string>& paths, int threads) {
  std::vector<RecordColumns> shares;
  {
    py::gil_scoped_release unlocked;
    shares = read_history_columns(paths, threads);
  }
  py::list out;
  for (auto& share : shares) out.append(to_python(std::move(share)));
  return out;
}

// The status each records file's manifest gives its run (None without one), without the GIL.
std::vector<std::optional<std::string>> statuses_of(const std::vector<std::string>& records_paths) {
  py::gil_scoped_release unlocked;
  std::vector<std::optional<std::string>> out;
  for (const auto& path : records_paths) out.push_back(manifest_status(path));
  return out;
}

// JSON Lines text read into columns.
py::tuple columns_of_text(const std::string& text, const std::string& name) {
  RecordColumnReader reader;
  reader.read_text(text, name);
  return to_python(reader.take());
}

// An inventory as dicts: cluster, racks, their hosts.
py::dict describe_inventory(const std::string& path) {
  const Inventory inventory = load_inventory(path);
  py::list racks;
  for (const InventoryRack& rack : inventory.racks) {
    py::list hosts;
    for (const InventoryHost& h : rack.hosts) hosts.append(py::dict(py::arg("name") = h.name, py::arg("gpus") = h.gpus));
    racks.append(py::dict(py::arg("name") = rack.name, py::arg("leaf_switch") = rack.leaf_switch, py::arg("hosts") = hosts));
  }
  return py::dict(py::arg("path") = inventory.path, py::arg("cluster") = inventory.cluster, py::arg("racks") = racks);
}

// What one transformer_step does per rank at these parameters.
std::map<std::string, double> step_work(const py::dict& params, int ranks) {
  const Kind& kind = kind_named("transformer_step");
  return kind.work(params_of(kind, params), ranks);
}

// Every element type with its traits, in declaration order.
py::list element_types() {
  py::list types;
  for (DType t : all_dtypes()) {
    const DTypeTraits& x = traits(t);
    types.append(py::dict(py::arg("name") = x.name, py::arg("bytes") = x.bytes, py::arg("floating") = x.floating,
                          py::arg("unit_roundoff") = x.unit_roundoff, py::arg("cuda_name") = x.cuda_name,
                          py::arg("nccl_name") = x.nccl_name, py::arg("numpy_name") = x.numpy_name,
                          py::arg("help") = x.help));
  }
  return types;
}

std::vector<std::string> dtype_names_by_precision() {
  std::vector<std::string> names;
  for (DType t : dtypes_by_precision()) names.emplace_back(to_string(t));
  return names;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rackqual's C++ harness: suites, kinds, judging, in-process runs, record columns";
  m.attr("__version__") = version;
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);
  py::register_exception<FieldError>(m, "FieldError", PyExc_ValueError);
  py::register_exception<SetupError>(m, "SetupError", PyExc_RuntimeError);

  m.def("kinds", &kinds,
        "Every benchmark kind: name, help, scopes, params (name, type, default, help, choices), metrics (name, unit, better, help).");

  m.def("load_suite", [](const std::string& path, const std::string& backend, const std::string& device,
                         const std::string& platform) { return describe_suite(prepare_suite(path, backend, device, {}, platform)); },
        py::arg("path"), py::arg("backend") = "host", py::arg("device") = "", py::arg("platform") = "",
        "Loads, validates and plans a suite for a backend; raises InputError (file:line: field: message).");

  m.def("judge", &judge_text, py::arg("records"), py::arg("suite"), py::arg("platform") = "",
        "Judges a records file again by a suite's criteria, as `rackqual judge` does; returns JSON Lines.");

  m.def("run", &run_here, py::arg("suite"), py::arg("out") = "results", py::arg("backend") = "auto",
        py::arg("only") = std::vector<std::string>{}, py::arg("faults") = std::vector<std::string>{},
        "Runs a suite on one rank in this process; returns (exit code, run folder).");

  m.def("read_records", &columns_of_files, py::arg("paths"),
        "Reads record files into columns: (rows, [(name, type, data, values)], [(file, line, reason)]).");

  m.def("read_history", &history_columns_of_files, py::arg("paths"), py::arg("threads") = 1,
        "Reads record files into the fleet history's columns (history.RECORDS, flattened), in shares of consecutive "
        "files read on `threads` threads: [(rows, [(name, type, data, values)], [(file, line, reason)])].");
  m.def("manifest_statuses", &statuses_of, py::arg("records_paths"),
        "The status (running, finished, aborted) each records file's manifest.json gives its run; None without one.");
  m.def("read_records_text", &columns_of_text, py::arg("text"), py::arg("name") = "<text>",
        "Reads JSON Lines text into columns, as read_records does.");

  m.def("load_inventory", &describe_inventory, py::arg("path"),
        "Reads and validates an inventory: cluster, racks (name, leaf_switch, hosts: name, gpus); raises InputError.");

  m.def("step_work", &step_work, py::arg("params"), py::arg("ranks"),
        "What one training step (transformer_step) does per rank at these parameters on a group of `ranks`: flops, "
        "memory_bytes (estimated), allreduce_bytes, parameters.");

  m.def("write_file_whole", &write_file_whole, py::arg("path"), py::arg("text"),
        "Writes a file whole as every rackqual file is written (a new PATH.tmp, synced, renamed over PATH; never "
        "through a link); raises SetupError naming the path.");
  m.attr("MAD_TO_STANDARD_DEVIATION") = mad_to_standard_deviation;
  m.def("element_types", &element_types,
        "Every element type: name, bytes, floating, unit_roundoff, cuda_name, nccl_name, numpy_name (empty where the "
        "library has none), help.");
  m.attr("DTYPES_BY_PRECISION") = py::tuple(py::cast(dtype_names_by_precision()));
  m.def("allreduce_bus_factor", &collective::allreduce_bus_factor, py::arg("ranks"),
        "busbw / algbw of an all-reduce over `ranks` ranks: 2(n-1)/n (nccl-tests' convention).");
}
