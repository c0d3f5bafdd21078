// NVML loaded with dlopen. The few types, constants and entry points used here are declared
// below from NVML's public C API, so the build needs neither nvml.h nor a driver.
#include "kernels/cuda/nvml.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace rackqual::cuda {
namespace {

using json = nlohmann::json;

// ---- NVML's C API (the subset used here) ----
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;

// C enums, passed as 32-bit integers.
constexpr unsigned NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2;                          // nvmlClockType_t
constexpr unsigned NVML_TEMPERATURE_GPU = 0;                                        // nvmlTemperatureSensors_t
constexpr unsigned NVML_MEMORY_ERROR_TYPE_CORRECTED = 0;                            // nvmlMemoryErrorType_t
constexpr unsigned NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1;
constexpr unsigned NVML_VOLATILE_ECC = 0, NVML_AGGREGATE_ECC = 1;                   // nvmlEccCounterType_t
// How long each performance policy held the clocks below the applications clocks: read as the
// field value nvml.h names for it (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP 74, _SW_THERM_SLOWDOWN
// 269, _SYNC_BOOST 76, NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT 77, _LOW_UTILIZATION 78, _RELIABILITY 79,
// its translation of the deprecated nvmlDeviceGetViolationStatus), else through that call with the
// nvmlPerfPolicyType_t (NVML_PERF_POLICY_POWER 0, _THERMAL 1, _SYNC_BOOST 2, _BOARD_LIMIT 3,
// _LOW_UTILIZATION 4, _RELIABILITY 5).
struct PerfPolicy {
  unsigned policy;
  unsigned field;
  const char* name;
};
constexpr PerfPolicy kPerfPolicies[] = {{0, 74, "power"},      {1, 269, "thermal"},        {2, 76, "sync_boost"},
                                        {3, 77, "board_limit"}, {4, 78, "low_utilization"}, {5, 79, "reliability"}};
constexpr unsigned NVML_FEATURE_ENABLED = 1;                                        // nvmlEnableState_t
// NVML_NVLINK_MAX_LINKS: 18 in nvml.h up to NVML 13.0, 36 in NVML 13.4's. Links past a device's own
// are refused and left out, so the larger bound serves every driver.
constexpr unsigned kNvlinkMaxLinks = 36;

// nvmlViolationTime_t as NVML's reference documents it: two unsigned long long fields.
struct nvmlViolationTime_t {
  unsigned long long referenceTime;  // CPU timestamp, us
  unsigned long long violationTime;  // ns, cumulative
};
static_assert(sizeof(nvmlViolationTime_t) == 16);
// nvmlFieldValue_t (nvmlDeviceGetFieldValues) and its value union, as nvml.h declares them.
union nvmlValue_t {
  double dVal;
  int siVal;
  unsigned uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  long long sllVal;
  unsigned short usVal;
};
struct nvmlFieldValue_t {
  unsigned fieldId;
  unsigned scopeId;
  long long timestamp;    // us
  long long latencyUsec;
  int valueType;          // nvmlValueType_t
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
};
static_assert(sizeof(nvmlFieldValue_t) == 40);
// nvmlValueType_t: the integer types a counter may come as.
constexpr int NVML_VALUE_TYPE_UNSIGNED_INT = 1, NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
              NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3, NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4;
struct nvmlTemperature_v1_t {
  unsigned version;
  unsigned sensorType;
  int temperature;
};
// NVML_STRUCT_VERSION(Temperature, 1)
constexpr unsigned nvmlTemperature_v1 = sizeof(nvmlTemperature_v1_t) | (1u << 24);

// nvmlClocksEventReason* bits (the older nvmlClocksThrottleReason* names share the values).
constexpr unsigned long long kGpuIdle = 0x1, kSwPowerCap = 0x4, kHwSlowdown = 0x8, kSwThermalSlowdown = 0x20,
                             kHwThermalSlowdown = 0x40, kHwPowerBrakeSlowdown = 0x80;
constexpr std::pair<unsigned long long, const char*> kReasonNames[] = {
    {kGpuIdle, "gpu_idle"},
    {0x2, "applications_clocks_setting"},
    {kSwPowerCap, "sw_power_cap"},
    {kHwSlowdown, "hw_slowdown"},
    {0x10, "sync_boost"},
    {kSwThermalSlowdown, "sw_thermal_slowdown"},
    {kHwThermalSlowdown, "hw_thermal_slowdown"},
    {kHwPowerBrakeSlowdown, "hw_power_brake_slowdown"},
    {0x100, "display_clock_setting"},
    {0x200, "board_limit"},   // nvmlClocksEventReasonBoardLimit, from NVML 13.4's nvml.h
    {0x400, "reliability"},   // nvmlClocksEventReasonReliability
};
// The reasons that mean the clocks were held down by heat or the hardware. The power cap
// (kSwPowerCap) is not among them: a GPU under full load is meant to run at its power limit.
constexpr unsigned long long kThrottleReasons =
    kHwSlowdown | kSwThermalSlowdown | kHwThermalSlowdown | kHwPowerBrakeSlowdown;

// nvmlGpuFabricInfo_t (nvmlDeviceGetGpuFabricInfo) and nvmlGpuFabricInfo_v3_t
// (nvmlDeviceGetGpuFabricInfoV), as nvml.h declares them; state is an unsigned char
// (nvmlGpuFabricState_t: NOT_SUPPORTED 0, NOT_STARTED 1, IN_PROGRESS 2, COMPLETED 3). The v2 struct
// is v3 without its last field, healthSummary, so one v3 buffer serves a call for either version.
constexpr unsigned kFabricUuidLength = 16;
struct nvmlGpuFabricInfo_t {
  unsigned char clusterUuid[kFabricUuidLength];
  nvmlReturn_t status;
  unsigned cliqueId;
  unsigned char state;
};
struct nvmlGpuFabricInfo_v3_t {
  unsigned version;
  unsigned char clusterUuid[kFabricUuidLength];
  nvmlReturn_t status;
  unsigned cliqueId;
  unsigned char state;
  unsigned healthMask;          // v2 and later
  unsigned char healthSummary;  // v3
};
static_assert(sizeof(nvmlGpuFabricInfo_t) == 28 && sizeof(nvmlGpuFabricInfo_v3_t) == 40);
// NVML_STRUCT_VERSION(GpuFabricInfo, 3) and (GpuFabricInfo, 2): sizeof(nvmlGpuFabricInfo_v2_t) is 36.
constexpr unsigned nvmlGpuFabricInfo_v3 = sizeof(nvmlGpuFabricInfo_v3_t) | (3u << 24);
constexpr unsigned nvmlGpuFabricInfo_v2 = 36u | (2u << 24);
constexpr const char* kFabricStates[] = {"not_supported", "not_started", "in_progress", "completed"};
constexpr unsigned char kFabricCompleted = 3;
// NVML_GPU_FABRIC_HEALTH_SUMMARY_*: NOT_SUPPORTED 0 (left empty), HEALTHY 1, UNHEALTHY 2, LIMITED_CAPACITY 3.
constexpr const char* kFabricHealthSummaries[] = {"", "healthy", "unhealthy", "limited_capacity"};

using InitFn = nvmlReturn_t (*)();
using ErrorStringFn = const char* (*)(nvmlReturn_t);
using SystemTextFn = nvmlReturn_t (*)(char*, unsigned);
using HandleByPciBusIdFn = nvmlReturn_t (*)(const char*, nvmlDevice_t*);
using DeviceTextFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned);
using DeviceUintFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*);
using DeviceU64Fn = nvmlReturn_t (*)(nvmlDevice_t, unsigned long long*);
using DeviceKindUintFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned, unsigned*);  // clocks, temperature, NVLink state
using TemperatureVFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlTemperature_v1_t*);
using EccFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned, unsigned, unsigned long long*);
using RemappedRowsFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*, unsigned*, unsigned*, unsigned*);
using ViolationFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned, nvmlViolationTime_t*);
using FieldValuesFn = nvmlReturn_t (*)(nvmlDevice_t, int, nvmlFieldValue_t*);
using FabricFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlGpuFabricInfo_t*);
using FabricVFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlGpuFabricInfo_v3_t*);

// ---- helpers ----

// The out-value of `fn(args..., &out)`, or nothing when fn is missing or fails.
template <typename T, typename Fn, typename... Args>
std::optional<T> query(Fn fn, Args... args) {
  T out{};
  if (fn && fn(args..., &out) == NVML_SUCCESS) return out;
  return std::nullopt;
}

template <typename T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json text(DeviceTextFn fn, nvmlDevice_t device) {
  char buffer[256] = {};
  if (!fn || fn(device, buffer, sizeof buffer - 1) != NVML_SUCCESS) return nullptr;
  return std::string(buffer);
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// A counter read as a field value; nothing where the driver did not fill it.
std::optional<unsigned long long> field_counter(const nvmlFieldValue_t& v) {
  if (v.nvmlReturn != NVML_SUCCESS) return std::nullopt;
  switch (v.valueType) {
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: return v.value.ullVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG: return v.value.ulVal;
    case NVML_VALUE_TYPE_UNSIGNED_INT: return v.value.uiVal;
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
      if (v.value.sllVal >= 0) return static_cast<unsigned long long>(v.value.sllVal);
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::string fabric_uuid(const unsigned char* b) {
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return uuid;
}

}  // namespace

struct Nvml::Api {
  void* library = nullptr;
  InitFn init = nullptr;
  InitFn shutdown = nullptr;
  ErrorStringFn error_string = nullptr;
  SystemTextFn driver_version = nullptr;
  HandleByPciBusIdFn handle_by_pci_bus_id = nullptr;
  DeviceTextFn name = nullptr, uuid = nullptr, serial = nullptr, vbios = nullptr;
  DeviceKindUintFn clock = nullptr, max_clock = nullptr, default_applications_clock = nullptr;
  DeviceU64Fn clock_event_reasons = nullptr, clock_throttle_reasons = nullptr;
  TemperatureVFn temperature_v = nullptr;
  DeviceKindUintFn temperature = nullptr;
  DeviceUintFn power = nullptr;
  DeviceU64Fn energy = nullptr;
  EccFn ecc = nullptr;
  RemappedRowsFn remapped_rows = nullptr;
  DeviceUintFn pcie_gen = nullptr, pcie_max_gen = nullptr, pcie_width = nullptr, pcie_max_width = nullptr;
  DeviceKindUintFn nvlink_state = nullptr;
  ViolationFn violation = nullptr;
  FieldValuesFn field_values = nullptr;
  FabricFn fabric = nullptr;
  FabricVFn fabric_v = nullptr;

  template <typename Fn>
  void resolve(Fn& fn, const char* symbol) {
    fn = reinterpret_cast<Fn>(dlsym(library, symbol));
  }

  void resolve_all() {
    resolve(init, "nvmlInit_v2");
    resolve(shutdown, "nvmlShutdown");
    resolve(error_string, "nvmlErrorString");
    resolve(driver_version, "nvmlSystemGetDriverVersion");
    resolve(handle_by_pci_bus_id, "nvmlDeviceGetHandleByPciBusId_v2");
    resolve(name, "nvmlDeviceGetName");
    resolve(uuid, "nvmlDeviceGetUUID");
    resolve(serial, "nvmlDeviceGetSerial");
    resolve(vbios, "nvmlDeviceGetVbiosVersion");
    resolve(clock, "nvmlDeviceGetClockInfo");
    resolve(max_clock, "nvmlDeviceGetMaxClockInfo");
    resolve(default_applications_clock, "nvmlDeviceGetDefaultApplicationsClock");
    resolve(clock_event_reasons, "nvmlDeviceGetCurrentClocksEventReasons");      // newer drivers
    resolve(clock_throttle_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");  // its older name
    resolve(temperature_v, "nvmlDeviceGetTemperatureV");                          // newer drivers
    resolve(temperature, "nvmlDeviceGetTemperature");
    resolve(power, "nvmlDeviceGetPowerUsage");
    resolve(energy, "nvmlDeviceGetTotalEnergyConsumption");
    resolve(ecc, "nvmlDeviceGetTotalEccErrors");
    resolve(remapped_rows, "nvmlDeviceGetRemappedRows");
    resolve(pcie_gen, "nvmlDeviceGetCurrPcieLinkGeneration");
    resolve(pcie_max_gen, "nvmlDeviceGetMaxPcieLinkGeneration");
    resolve(pcie_width, "nvmlDeviceGetCurrPcieLinkWidth");
    resolve(pcie_max_width, "nvmlDeviceGetMaxPcieLinkWidth");
    resolve(nvlink_state, "nvmlDeviceGetNvLinkState");
    resolve(violation, "nvmlDeviceGetViolationStatus");  // deprecated in NVML 13.0
    resolve(field_values, "nvmlDeviceGetFieldValues");
    resolve(fabric_v, "nvmlDeviceGetGpuFabricInfoV");   // newer drivers
    resolve(fabric, "nvmlDeviceGetGpuFabricInfo");
  }

  std::string error_text(nvmlReturn_t rc) const {
    const char* s = error_string ? error_string(rc) : nullptr;
    return s ? std::string(s) : "NVML error " + std::to_string(rc);
  }

  std::optional<unsigned long long> clock_mask(nvmlDevice_t device) const {
    auto mask = query<unsigned long long>(clock_event_reasons, device);
    if (!mask) mask = query<unsigned long long>(clock_throttle_reasons, device);
    return mask;
  }

  json clock_reasons(nvmlDevice_t device) const {
    const auto mask = clock_mask(device);
    if (!mask) return nullptr;
    json names = json::array();
    for (const auto& [bit, reason] : kReasonNames)
      if (*mask & bit) names.push_back(reason);
    return {{"mask", *mask}, {"names", names}};
  }

  json temperature_c(nvmlDevice_t device) const {
    if (temperature_v) {
      nvmlTemperature_v1_t t{nvmlTemperature_v1, NVML_TEMPERATURE_GPU, 0};
      if (temperature_v(device, &t) == NVML_SUCCESS) return t.temperature;
    }
    return or_null(query<unsigned>(temperature, device, NVML_TEMPERATURE_GPU));
  }

  json ecc_totals(nvmlDevice_t device, unsigned counter) const {
    auto total = [&](unsigned type) { return or_null(query<unsigned long long>(ecc, device, type, counter)); };
    return {{"corrected", total(NVML_MEMORY_ERROR_TYPE_CORRECTED)},
            {"uncorrected", total(NVML_MEMORY_ERROR_TYPE_UNCORRECTED)}};
  }

  json remapped(nvmlDevice_t device) const {
    unsigned correctable = 0, uncorrectable = 0, pending = 0, failure = 0;
    if (!remapped_rows || remapped_rows(device, &correctable, &uncorrectable, &pending, &failure) != NVML_SUCCESS)
      return nullptr;
    return {{"correctable", correctable},
            {"uncorrectable", uncorrectable},
            {"pending", pending != 0},
            {"failure", failure != 0}};
  }

  // The links NVML answers for; null when it answers for none (no NVLink, or not supported).
  json nvlinks(nvmlDevice_t device) const {
    json links = json::array();
    for (unsigned link = 0; link < kNvlinkMaxLinks; ++link)
      if (const auto state = query<unsigned>(nvlink_state, device, link))
        links.push_back({{"link", link}, {"active", *state == NVML_FEATURE_ENABLED}});
    return links.empty() ? json(nullptr) : links;
  }

  json violation_ns(nvmlDevice_t device, unsigned policy) const {
    nvmlViolationTime_t t{};
    if (!violation || violation(device, policy, &t) != NVML_SUCCESS) return nullptr;
    return t.violationTime;
  }

  // Every performance policy's cumulative violation time: its field value, else the older call
  // (null where the driver has neither).
  json violations_ns(nvmlDevice_t device) const {
    nvmlFieldValue_t values[std::size(kPerfPolicies)] = {};
    for (std::size_t i = 0; i < std::size(kPerfPolicies); ++i) values[i].fieldId = kPerfPolicies[i].field;
    const bool read = field_values && field_values(device, static_cast<int>(std::size(values)), values) == NVML_SUCCESS;
    json out = json::object();
    for (std::size_t i = 0; i < std::size(kPerfPolicies); ++i) {
      const auto ns = read ? field_counter(values[i]) : std::nullopt;
      out[kPerfPolicies[i].name] = ns ? json(*ns) : violation_ns(device, kPerfPolicies[i].policy);
    }
    return out;
  }

  // The device's fabric information through the newest call and struct the driver knows:
  // nvmlDeviceGetGpuFabricInfoV with v3, then v2, then nvmlDeviceGetGpuFabricInfo (version 0).
  std::optional<nvmlGpuFabricInfo_v3_t> fabric_info(nvmlDevice_t device) const {
    for (const unsigned version : {nvmlGpuFabricInfo_v3, nvmlGpuFabricInfo_v2}) {
      nvmlGpuFabricInfo_v3_t info{};
      info.version = version;
      if (fabric_v && fabric_v(device, &info) == NVML_SUCCESS) {
        info.version = version;
        return info;
      }
    }
    nvmlGpuFabricInfo_t old{};
    if (!fabric || fabric(device, &old) != NVML_SUCCESS) return std::nullopt;
    nvmlGpuFabricInfo_v3_t info{};
    std::copy(std::begin(old.clusterUuid), std::end(old.clusterUuid), std::begin(info.clusterUuid));
    info.status = old.status;
    info.cliqueId = old.cliqueId;
    info.state = old.state;
    return info;
  }

  std::optional<GpuFabric> gpu_fabric(nvmlDevice_t device) const;

  json power_w(nvmlDevice_t device) const {
    const auto milliwatts = query<unsigned>(power, device);
    return milliwatts ? json(*milliwatts / 1000.0) : json(nullptr);
  }
};

Nvml::Nvml(const std::string& library) : api_(std::make_unique<Api>()) {
  dlerror();
  api_->library = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api_->library) {
    const char* error = dlerror();
    why_ = one_line(error ? error : "dlopen " + library + " failed");
    api_.reset();
    return;
  }
  api_->resolve_all();
  if (!api_->init || !api_->handle_by_pci_bus_id) {
    why_ = library + " lacks nvmlInit_v2 or nvmlDeviceGetHandleByPciBusId_v2";
  } else if (const nvmlReturn_t rc = api_->init(); rc != NVML_SUCCESS) {
    why_ = one_line("nvmlInit_v2: " + api_->error_text(rc));
  } else {
    return;
  }
  dlclose(api_->library);
  api_.reset();
}

Nvml::~Nvml() {
  if (!api_) return;
  if (api_->shutdown) api_->shutdown();
  dlclose(api_->library);
}

bool Nvml::available() const { return api_ != nullptr; }

const std::string& Nvml::why() const { return why_; }

std::string Nvml::driver_version() const {
  if (!api_ || !api_->driver_version) return "";
  char buffer[96] = {};
  return api_->driver_version(buffer, sizeof buffer - 1) == NVML_SUCCESS ? buffer : "";
}

nlohmann::json Nvml::snapshot(const std::string& pci_bus_id) const {
  if (!api_) return {{"available", false}, {"why", why_}};
  const Api& a = *api_;
  nvmlDevice_t d = nullptr;
  if (const nvmlReturn_t rc = a.handle_by_pci_bus_id(pci_bus_id.c_str(), &d); rc != NVML_SUCCESS)
    return {{"available", false}, {"why", one_line("no NVML device at " + pci_bus_id + ": " + a.error_text(rc))}};

  const std::string driver = driver_version();
  const auto fabric = a.gpu_fabric(d);
  return {
      {"available", true},
      {"pci_bus_id", pci_bus_id},
      {"name", text(a.name, d)},
      {"uuid", text(a.uuid, d)},
      {"serial", text(a.serial, d)},
      {"vbios", text(a.vbios, d)},
      {"driver", driver.empty() ? json(nullptr) : json(driver)},
      {"clocks",
       {{"sm_mhz", or_null(query<unsigned>(a.clock, d, NVML_CLOCK_SM))},
        {"mem_mhz", or_null(query<unsigned>(a.clock, d, NVML_CLOCK_MEM))},
        {"sm_max_mhz", or_null(query<unsigned>(a.max_clock, d, NVML_CLOCK_SM))},
        {"sm_default_mhz", or_null(query<unsigned>(a.default_applications_clock, d, NVML_CLOCK_SM))}}},
      {"clock_event_reasons", a.clock_reasons(d)},
      {"temperature_c", a.temperature_c(d)},
      {"power_w", a.power_w(d)},
      {"energy_mj", or_null(query<unsigned long long>(a.energy, d))},
      {"ecc", {{"volatile", a.ecc_totals(d, NVML_VOLATILE_ECC)}, {"aggregate", a.ecc_totals(d, NVML_AGGREGATE_ECC)}}},
      {"remapped_rows", a.remapped(d)},
      {"pcie",
       {{"gen", or_null(query<unsigned>(a.pcie_gen, d))},
        {"max_gen", or_null(query<unsigned>(a.pcie_max_gen, d))},
        {"width", or_null(query<unsigned>(a.pcie_width, d))},
        {"max_width", or_null(query<unsigned>(a.pcie_max_width, d))}}},
      {"nvlink", a.nvlinks(d)},
      {"violation_ns", a.violations_ns(d)},
      {"fabric", fabric ? fabric->to_json() : json(nullptr)},
  };
}

nlohmann::json Nvml::sample(const std::string& pci_bus_id) const {
  if (!api_) return {{"available", false}, {"why", why_}};
  const Api& a = *api_;
  nvmlDevice_t d = nullptr;
  if (const nvmlReturn_t rc = a.handle_by_pci_bus_id(pci_bus_id.c_str(), &d); rc != NVML_SUCCESS)
    return {{"available", false}, {"why", one_line("no NVML device at " + pci_bus_id + ": " + a.error_text(rc))}};
  return {{"sm_mhz", or_null(query<unsigned>(a.clock, d, NVML_CLOCK_SM))},
          {"power_w", a.power_w(d)},
          {"temperature_c", a.temperature_c(d)},
          {"clock_event_mask", or_null(a.clock_mask(d))}};
}

// A cluster UUID of zeros is no multi-node fabric: Fabric Manager registers the GPUs of a
// single-node NVSwitch system (HGX/DGX H100, H200, B200) so, and NCCL reads it as no MNNVL.
std::optional<std::string> GpuFabric::domain() const {
  if (!registered || cluster_uuid.empty() || cluster_uuid == "00000000-0000-0000-0000-000000000000") return std::nullopt;
  return cluster_uuid + "/" + std::to_string(clique_id);
}

namespace {

// One two-bit field of the fabric health mask (NVML_GPU_FABRIC_HEALTH_MASK_*: 1 TRUE, 2 FALSE,
// 0 NOT_SUPPORTED): true, false, or null where not supported.
json health_flag(unsigned mask, unsigned shift) {
  const unsigned v = (mask >> shift) & 0x3;
  return v == 1 ? json(true) : v == 2 ? json(false) : json(nullptr);
}

// NVML_GPU_FABRIC_HEALTH_MASK_INCORRECT_CONFIGURATION_*, in order from 1; 0 is NOT_SUPPORTED.
constexpr const char* kIncorrectConfigurations[] = {"none",         "incorrect_sysguid",    "incorrect_chassis_sn",
                                                    "no_partition", "insufficient_nvlinks", "incompatible_gpu_fw",
                                                    "invalid_location"};

}  // namespace

nlohmann::json GpuFabric::health() const {
  if (!health_mask) return nullptr;
  const unsigned m = *health_mask, config = (m >> 8) & 0xf;  // NVML_GPU_FABRIC_HEALTH_MASK_SHIFT_* and _WIDTH_*
  json incorrect = nullptr;
  if (config >= 1 && config <= std::size(kIncorrectConfigurations)) incorrect = kIncorrectConfigurations[config - 1];
  else if (config != 0) incorrect = "unknown (" + std::to_string(config) + ")";
  return {{"degraded_bw", health_flag(m, 0)},
          {"route_recovery", health_flag(m, 2)},
          {"route_unhealthy", health_flag(m, 4)},
          {"access_timeout_recovery", health_flag(m, 6)},
          {"incorrect_configuration", incorrect}};
}

nlohmann::json GpuFabric::to_json() const {
  const auto d = domain();
  return {{"state", state},
          {"registered", registered},
          {"status", status},
          {"cluster_uuid", cluster_uuid},
          {"clique_id", clique_id},
          {"domain", d ? json(*d) : json(nullptr)},
          {"health_mask", health_mask ? json(*health_mask) : json(nullptr)},
          {"health_summary", health_summary},
          {"health", health()}};
}

std::optional<GpuFabric> Nvml::Api::gpu_fabric(nvmlDevice_t device) const {
  const auto info = fabric_info(device);
  if (!info) return std::nullopt;
  GpuFabric f;
  f.state = info->state < std::size(kFabricStates) ? kFabricStates[info->state]
                                                   : "unknown (" + std::to_string(info->state) + ")";
  const bool completed = info->state == kFabricCompleted;
  f.registered = completed && info->status == NVML_SUCCESS;
  if (completed && info->status != NVML_SUCCESS) f.status = one_line(error_text(info->status));
  f.cluster_uuid = fabric_uuid(info->clusterUuid);
  f.clique_id = info->cliqueId;
  if (info->version == nvmlGpuFabricInfo_v2 || info->version == nvmlGpuFabricInfo_v3) f.health_mask = info->healthMask;
  if (info->version == nvmlGpuFabricInfo_v3) {
    const unsigned char summary = info->healthSummary;
    f.health_summary = summary < std::size(kFabricHealthSummaries) ? kFabricHealthSummaries[summary]
                                                                   : "unknown (" + std::to_string(summary) + ")";
  }
  return f;
}

std::optional<GpuFabric> Nvml::gpu_fabric(const std::string& pci_bus_id) const {
  if (!api_) return std::nullopt;
  nvmlDevice_t d = nullptr;
  if (api_->handle_by_pci_bus_id(pci_bus_id.c_str(), &d) != NVML_SUCCESS) return std::nullopt;
  return api_->gpu_fabric(d);
}

namespace {

const json* find_path(const json& j, std::initializer_list<const char*> keys) {
  const json* at = &j;
  for (const char* key : keys) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::optional<double> number(const json& j, std::initializer_list<const char*> keys) {
  const json* v = find_path(j, keys);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

// Counters (energy, violation time) as exact integers.
std::optional<unsigned long long> counter(const json& j, std::initializer_list<const char*> keys) {
  const json* v = find_path(j, keys);
  if (!v || !v->is_number_integer()) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<unsigned long long>();
  const long long signed_value = v->get<long long>();
  if (signed_value < 0) return std::nullopt;
  return static_cast<unsigned long long>(signed_value);
}

// How much a counter grew between two snapshots; nothing when either lacks it or it went back (driver reload).
std::optional<unsigned long long> growth(const json& before, const json& after,
                                         std::initializer_list<const char*> keys) {
  const auto b = counter(before, keys), a = counter(after, keys);
  if (!b || !a || *a < *b) return std::nullopt;
  return *a - *b;
}

bool usable(const json& snapshot) { return snapshot.is_object() && snapshot.value("available", true) == true; }

std::string unusable_why(const json& snapshot) {
  if (snapshot.is_object() && snapshot.contains("why") && snapshot["why"].is_string()) return snapshot["why"];
  return "no telemetry snapshot";
}

std::string milliseconds(unsigned long long ns) {
  char text[32];
  const double ms = static_cast<double>(ns) / 1e6;
  std::snprintf(text, sizeof text, ms >= 10 ? "%.0f ms" : "%.2g ms", ms);
  return text;
}

// {min, median, max} of one reading over the samples that have it; null when none has.
json spread(const json& samples, const char* key) {
  std::vector<double> values;
  if (samples.is_array())
    for (const auto& sample : samples)
      if (const auto v = number(sample, {key})) values.push_back(*v);
  if (values.empty()) return nullptr;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {{"min", values.front()}, {"median", median}, {"max", values.back()}};
}

// Whether the clock-event reasons of a reading explain a low SM clock as intended behaviour: the
// GPU was idle, or nothing but its power limit (nvmlClocksEventReasonSwPowerCap) held the clock.
bool low_clock_expected(const std::optional<unsigned long long>& mask) {
  return mask && ((*mask & kGpuIdle) || (*mask & ~kGpuIdle) == kSwPowerCap);
}

// The median SM clock of the samples whose reasons do not explain a low clock (see above).
std::optional<double> busy_sm_clock(const json& samples) {
  json busy = json::array();
  if (samples.is_array())
    for (const auto& sample : samples)
      if (!low_clock_expected(counter(sample, {"clock_event_mask"}))) busy.push_back(sample);
  const json s = spread(busy, "sm_mhz");
  if (s.is_null()) return std::nullopt;
  return s["median"].get<double>();
}

// The window's average power: from the energy counter where it ticked, else the median of the
// power readings sampled, else those at the window's ends; null with none of them.
json average_power(const json& before, const json& after, double seconds, const json& samples,
                   const std::optional<unsigned long long>& millijoules) {
  if (millijoules && *millijoules > 0 && seconds > 0) return static_cast<double>(*millijoules) / 1000.0 / seconds;
  // No energy counter, or one that did not tick within a short window: the power readings.
  const json sampled = spread(samples, "power_w");
  const auto p0 = number(before, {"power_w"}), p1 = number(after, {"power_w"});
  if (!sampled.is_null()) return sampled["median"];
  if (p0 && p1) return (*p0 + *p1) / 2;
  if (p0 || p1) return p0 ? *p0 : *p1;
  return nullptr;
}

// Seconds each performance policy held the clocks down within the window, by policy.
json violation_seconds(const json& before, const json& after) {
  json violation_s = json::object();
  for (const PerfPolicy& p : kPerfPolicies) {
    const auto ns = growth(before, after, {"violation_ns", p.name});
    violation_s[p.name] = ns ? json(static_cast<double>(*ns) / 1e9) : json(nullptr);
  }
  return violation_s;
}

// Why the window counts as throttled, "; "-separated; empty when it does not.
std::string throttle_reasons(const json& before, const json& after, const json& samples) {
  std::string why;
  auto add = [&why](const std::string& part) { why += (why.empty() ? "" : "; ") + part; };

  // Hardware and thermal clock-event reasons seen in any sample or at the close.
  unsigned long long seen = 0;
  const auto mask = counter(after, {"clock_event_reasons", "mask"});
  if (mask) seen |= *mask;
  if (samples.is_array())
    for (const auto& sample : samples)
      if (const auto m = counter(sample, {"clock_event_mask"})) seen |= *m;
  for (const auto& [bit, name] : kReasonNames)
    if (seen & bit & kThrottleReasons) add(name);
  if (const auto ns = growth(before, after, {"violation_ns", "thermal"}); ns && *ns > 0)
    add("thermal violation " + milliseconds(*ns));

  // A low SM clock counts only while the GPU is busy and not merely at its power limit.
  auto reference = number(after, {"clocks", "sm_default_mhz"});
  if (!reference || *reference <= 0) reference = number(after, {"clocks", "sm_max_mhz"});
  std::optional<double> sm = busy_sm_clock(samples);
  if (!sm && !low_clock_expected(mask)) sm = number(after, {"clocks", "sm_mhz"});
  if (sm && reference && *reference > 0 && *sm < 0.75 * *reference) {
    char text[96];
    std::snprintf(text, sizeof text, "sm clock %.0f MHz < 75%% of %.0f MHz", *sm, *reference);
    add(text);
  }
  return why;
}

}  // namespace

nlohmann::json summarize_window(const nlohmann::json& before, const nlohmann::json& after, double seconds,
                                const nlohmann::json& samples) {
  if (!usable(before) || !usable(after))
    return {{"available", false}, {"why", unusable_why(usable(before) ? after : before)}, {"throttled", false}};

  json w = {{"before", before}, {"after", after}, {"seconds", seconds}};
  const auto millijoules = growth(before, after, {"energy_mj"});
  w["energy_j"] = millijoules ? json(static_cast<double>(*millijoules) / 1000.0) : json(nullptr);
  w["avg_power_w"] = average_power(before, after, seconds, samples, millijoules);
  w["samples"] = samples.is_array() ? samples.size() : 0;
  w["sm_clock_mhz"] = spread(samples, "sm_mhz");
  w["power_w"] = spread(samples, "power_w");
  w["temperature_c"] = spread(samples, "temperature_c");
  w["violation_s"] = violation_seconds(before, after);
  const std::string why = throttle_reasons(before, after, samples);
  w["throttled"] = !why.empty();
  w["throttle_reasons"] = why;
  return w;
}

}  // namespace rackqual::cuda
