// A stand-in for libnvidia-ml: one device at PCI bus 0000:18:00.0 with fixed readings, an energy
// counter that grows by 2500 mJ per read, violation-time counters for the six performance
// policies (answered both as field values and by the older call), NVLink links (four until a test
// sets more), NVLink fabric registration (not supported until a test sets it), and setters
// (fake_nvml_*) the tests reach with dlsym. Readings a sampling thread
// takes while a test changes them are atomic.
// Built twice: fake_nvml exports every entry point rackqual uses; with FAKE_NVML_OLD_DRIVER it
// lacks the newer ones (clock event reasons, TemperatureV, energy, remapped rows, violation
// status, field values, fabric information by versioned struct), as an old driver does.
#include <atomic>
#include <cctype>
#include <cstring>
#include <set>
#include <string>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using nvmlReturn_t = int;
struct Device {};
using nvmlDevice_t = Device*;
constexpr nvmlReturn_t kSuccess = 0, kInvalidArgument = 2, kNotSupported = 3, kNotFound = 6, kInsufficientSize = 7;

struct ViolationTime {
  unsigned long long referenceTime;
  unsigned long long violationTime;
};
// nvmlFieldValue_t, with its value union reduced to the unsigned long long counters served here.
struct FieldValue {
  unsigned fieldId;
  unsigned scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  unsigned long long value;
};
// nvmlGpuFabricInfo_t and nvmlGpuFabricInfo_v3_t (v2 is v3 without healthSummary).
struct FabricInfo {
  unsigned char clusterUuid[16];
  nvmlReturn_t status;
  unsigned cliqueId;
  unsigned char state;
};
struct FabricInfoV3 {
  unsigned version;
  unsigned char clusterUuid[16];
  nvmlReturn_t status;
  unsigned cliqueId;
  unsigned char state;
  unsigned healthMask;
  unsigned char healthSummary;
};
constexpr unsigned kFabricV2 = 36u | (2u << 24), kFabricV3 = sizeof(FabricInfoV3) | (3u << 24);
struct Uuid {
  unsigned char bytes[16];
};
constexpr Uuid kClusterUuid = {{0x5c, 0x1a, 0x7e, 0x02, 0x9b, 0x44, 0x4f, 0x31, 0x8d, 0x20, 0x6e, 0x0b, 0xa1, 0xc3, 0x55, 0x7f}};
struct TemperatureV1 {
  unsigned version;
  unsigned sensorType;
  int temperature;
};

Device the_device;
bool initialized = false;
nvmlReturn_t init_result = kSuccess;
std::atomic<unsigned long long> clock_events = 0;
std::atomic<unsigned long long> energy_mj = 1'000'000;
// power, thermal, sync_boost, board_limit, low_utilization, reliability (nvmlPerfPolicyType_t 0-5)
constexpr int kPolicies = 6;
std::atomic<unsigned long long> violation_ns[kPolicies] = {5'000'000, 0, 0, 0, 0, 0};
// The field ids of those counters in nvml.h (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP 74,
// _SW_THERM_SLOWDOWN 269, _SYNC_BOOST 76, NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT 77, _LOW_UTILIZATION 78,
// _RELIABILITY 79), and the ones a test made unsupported.
constexpr unsigned kViolationFields[kPolicies] = {74, 269, 76, 77, 78, 79};
std::set<unsigned> failing_fields;
std::atomic<unsigned> sm_mhz = 1980;
std::atomic<unsigned> power_mw = 312'500;
std::set<std::string> failing;
unsigned nvlinks = 4;
unsigned char fabric_state = 0;   // NVML_GPU_FABRIC_STATE_NOT_SUPPORTED
nvmlReturn_t fabric_status = kSuccess;
unsigned clique_id = 0;
Uuid cluster_uuid = kClusterUuid;
unsigned fabric_health_mask = 0;
unsigned char fabric_health_summary = 0;
unsigned fabric_max_version = 3;

// Every device call starts here: NVML must be initialised, the handle ours, the function not made to fail.
nvmlReturn_t check(const char* function, nvmlDevice_t device) {
  if (!initialized) return 1;  // NVML_ERROR_UNINITIALIZED
  if (device != &the_device) return kInvalidArgument;
  return failing.count(function) ? kNotSupported : kSuccess;
}

nvmlReturn_t copy(const char* value, char* out, unsigned length) {
  if (std::strlen(value) + 1 > length) return kInsufficientSize;
  std::strcpy(out, value);
  return kSuccess;
}

std::string lower(const char* s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

#define CHECK_DEVICE(device)                                        \
  if (const nvmlReturn_t rc = check(__func__, device); rc != kSuccess) \
  return rc

// ---- setters for the tests ----
FAKE_EXPORT void fake_nvml_reset() {
  init_result = kSuccess;
  clock_events = 0;
  energy_mj = 1'000'000;
  for (auto& ns : violation_ns) ns = 0;
  violation_ns[0] = 5'000'000;
  sm_mhz = 1980;
  power_mw = 312'500;
  failing.clear();
  failing_fields.clear();
  nvlinks = 4;
  fabric_state = 0;
  fabric_status = kSuccess;
  clique_id = 0;
  cluster_uuid = kClusterUuid;
  fabric_health_mask = 0;
  fabric_health_summary = 0;
  fabric_max_version = 3;
}
FAKE_EXPORT void fake_nvml_set_init_result(int rc) { init_result = rc; }
FAKE_EXPORT void fake_nvml_set_clock_events(unsigned long long mask) { clock_events = mask; }
FAKE_EXPORT void fake_nvml_set_sm_clock(unsigned mhz) { sm_mhz = mhz; }
FAKE_EXPORT void fake_nvml_set_power_mw(unsigned milliwatts) { power_mw = milliwatts; }
FAKE_EXPORT void fake_nvml_add_violation_ns(int policy, unsigned long long ns) {
  if (policy >= 0 && policy < kPolicies) violation_ns[policy] += ns;
}
FAKE_EXPORT void fake_nvml_fail(const char* function) { failing.insert(function); }
// nvmlDeviceGetFieldValues answers NOT_SUPPORTED for this field, as a driver without it does.
FAKE_EXPORT void fake_nvml_fail_field(unsigned field) { failing_fields.insert(field); }
FAKE_EXPORT void fake_nvml_set_nvlinks(unsigned count) { nvlinks = count; }
// Fabric registration: state 0-3 (not supported, not started, in progress, completed), its status, the clique.
FAKE_EXPORT void fake_nvml_set_fabric(unsigned state, int status, unsigned clique) {
  fabric_state = static_cast<unsigned char>(state);
  fabric_status = status;
  clique_id = clique;
}
// The 16 bytes of the cluster UUID (all zeros on a single-node NVSwitch system such as HGX H100).
FAKE_EXPORT void fake_nvml_set_cluster_uuid(const unsigned char* uuid) { std::memcpy(cluster_uuid.bytes, uuid, 16); }
// The health the versioned call reports, and the newest struct version it accepts (2 or 3).
FAKE_EXPORT void fake_nvml_set_fabric_health(unsigned mask, unsigned summary, unsigned max_version) {
  fabric_health_mask = mask;
  fabric_health_summary = static_cast<unsigned char>(summary);
  fabric_max_version = max_version;
}

// ---- NVML ----
FAKE_EXPORT nvmlReturn_t nvmlInit_v2() {
  initialized = init_result == kSuccess;
  return init_result;
}
FAKE_EXPORT nvmlReturn_t nvmlShutdown() {
  initialized = false;
  return kSuccess;
}
FAKE_EXPORT const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case kSuccess: return "Success";
    case kNotSupported: return "Not Supported";
    case kNotFound: return "Not Found";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}
FAKE_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned length) {
  return copy("580.65.06", version, length);
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus, nvmlDevice_t* device) {
  if (!initialized) return 1;
  const std::string id = lower(bus);
  if (id != "0000:18:00.0" && id != "00000000:18:00.0") return kNotFound;
  *device = &the_device;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* out, unsigned length) {
  CHECK_DEVICE(d);
  return copy("NVIDIA H100 80GB HBM3", out, length);
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* out, unsigned length) {
  CHECK_DEVICE(d);
  return copy("GPU-0c6b1f0e-7d2a-4e55-9a11-3f2e8d9c0b42", out, length);
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t d, char* out, unsigned length) {
  CHECK_DEVICE(d);
  return copy("1654922001234", out, length);
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t d, char* out, unsigned length) {
  CHECK_DEVICE(d);
  return copy("96.00.74.00.01", out, length);
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, unsigned type, unsigned* mhz) {
  CHECK_DEVICE(d);
  if (type == 1) *mhz = sm_mhz;  // NVML_CLOCK_SM
  else if (type == 2) *mhz = 2619;  // NVML_CLOCK_MEM
  else return kInvalidArgument;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t d, unsigned type, unsigned* mhz) {
  CHECK_DEVICE(d);
  if (type != 1) return kInvalidArgument;
  *mhz = 1980;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetDefaultApplicationsClock(nvmlDevice_t d, unsigned type, unsigned* mhz) {
  CHECK_DEVICE(d);
  if (type != 1) return kInvalidArgument;
  *mhz = 1755;
  return kSuccess;
}
#ifndef FAKE_NVML_OLD_DRIVER
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long* mask) {
  CHECK_DEVICE(d);
  *mask = clock_events;
  return kSuccess;
}
#endif
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long* mask) {
  CHECK_DEVICE(d);
  *mask = clock_events;
  return kSuccess;
}
#ifndef FAKE_NVML_OLD_DRIVER
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t d, TemperatureV1* t) {
  CHECK_DEVICE(d);
  if (t->version != (sizeof(TemperatureV1) | (1u << 24))) return 25;  // NVML_ERROR_ARGUMENT_VERSION_MISMATCH
  if (t->sensorType != 0) return kInvalidArgument;
  t->temperature = 45;
  return kSuccess;
}
#endif
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, unsigned sensor, unsigned* celsius) {
  CHECK_DEVICE(d);
  if (sensor != 0) return kInvalidArgument;
  *celsius = 44;  // differs from TemperatureV's, so the tests see which one answered
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned* milliwatts) {
  CHECK_DEVICE(d);
  *milliwatts = power_mw;
  return kSuccess;
}
#ifndef FAKE_NVML_OLD_DRIVER
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long* millijoules) {
  CHECK_DEVICE(d);
  *millijoules = energy_mj += 2500;
  return kSuccess;
}
#endif
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, unsigned type, unsigned counter,
                                                     unsigned long long* count) {
  CHECK_DEVICE(d);
  if (type > 1 || counter > 1) return kInvalidArgument;
  // corrected volatile 1, uncorrected volatile 0, corrected aggregate 7, uncorrected aggregate 2
  const unsigned long long counts[2][2] = {{1, 0}, {7, 2}};
  *count = counts[counter][type];
  return kSuccess;
}
#ifndef FAKE_NVML_OLD_DRIVER
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t d, unsigned* correctable, unsigned* uncorrectable,
                                                   unsigned* pending, unsigned* failure) {
  CHECK_DEVICE(d);
  *correctable = 3;
  *uncorrectable = 1;
  *pending = 1;
  *failure = 0;
  return kSuccess;
}
#endif
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t d, unsigned* v) {
  CHECK_DEVICE(d);
  *v = 4;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t d, unsigned* v) {
  CHECK_DEVICE(d);
  *v = 5;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t d, unsigned* v) {
  CHECK_DEVICE(d);
  *v = 8;
  return kSuccess;
}
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMaxPcieLinkWidth(nvmlDevice_t d, unsigned* v) {
  CHECK_DEVICE(d);
  *v = 16;
  return kSuccess;
}
// Four links unless a test sets more; link 2 is down.
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned link, unsigned* active) {
  CHECK_DEVICE(d);
  if (link >= nvlinks) return kInvalidArgument;
  *active = link == 2 ? 0 : 1;
  return kSuccess;
}
#ifndef FAKE_NVML_OLD_DRIVER
// The six policies 0-5; the totals (10, 11) are not counted here.
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetViolationStatus(nvmlDevice_t d, unsigned policy, ViolationTime* t) {
  CHECK_DEVICE(d);
  if (policy >= kPolicies) return kNotSupported;
  t->referenceTime = 1'700'000'000'000'000ull;
  t->violationTime = violation_ns[policy];
  return kSuccess;
}
// The six violation-time fields, as unsigned long long ns; any other field is not supported.
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, FieldValue* values) {
  CHECK_DEVICE(d);
  if (count < 0 || !values) return kInvalidArgument;
  for (FieldValue* v = values; v != values + count; ++v) {
    v->nvmlReturn = kNotSupported;
    v->timestamp = 1'700'000'000'000'000ll;
    for (int policy = 0; policy < kPolicies; ++policy)
      if (v->fieldId == kViolationFields[policy] && !failing_fields.count(v->fieldId)) {
        v->valueType = 3;  // NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
        v->value = violation_ns[policy];
        v->nvmlReturn = kSuccess;
      }
  }
  return kSuccess;
}
#endif
#ifndef FAKE_NVML_OLD_DRIVER
// Fills a v2 struct (36 bytes) or, up to the version a test allows, a v3 one.
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t d, FabricInfoV3* info) {
  CHECK_DEVICE(d);
  const bool v3 = info->version == kFabricV3 && fabric_max_version >= 3;
  if (!v3 && info->version != kFabricV2) return 25;  // NVML_ERROR_ARGUMENT_VERSION_MISMATCH
  std::memcpy(info->clusterUuid, cluster_uuid.bytes, sizeof cluster_uuid.bytes);
  info->status = fabric_status;
  info->cliqueId = clique_id;
  info->state = fabric_state;
  info->healthMask = fabric_health_mask;
  if (v3) info->healthSummary = fabric_health_summary;
  return kSuccess;
}
#endif
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t d, FabricInfo* info) {
  CHECK_DEVICE(d);
  std::memcpy(info->clusterUuid, cluster_uuid.bytes, sizeof cluster_uuid.bytes);
  info->status = fabric_status;
  info->cliqueId = clique_id;
  info->state = fabric_state;
  return kSuccess;
}
