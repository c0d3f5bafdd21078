#include "kernels/cuda/nvml.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

namespace rackqual::cuda {
namespace {

using json = nlohmann::json;

// ---- no NVML ----

TEST(NvmlAbsent, MissingLibraryIsUnavailableWithWhy) {
  Nvml nvml("libdoes-not-exist.so");
  EXPECT_FALSE(nvml.available());
  EXPECT_NE(nvml.why().find("libdoes-not-exist.so"), std::string::npos) << nvml.why();
  EXPECT_EQ(nvml.why().find('\n'), std::string::npos);
  EXPECT_EQ(nvml.driver_version(), "");
  const json s = nvml.snapshot("0000:18:00.0");
  EXPECT_EQ(s["available"], false);
  EXPECT_EQ(s["why"], nvml.why());
}

TEST(NvmlAbsent, LibraryWithoutNvmlIsUnavailable) {
  Nvml nvml("libm.so.6");
  EXPECT_FALSE(nvml.available());
  EXPECT_NE(nvml.why().find("nvmlInit_v2"), std::string::npos) << nvml.why();
}

TEST(NvmlAbsent, WindowOfUnavailableSnapshotsIsUnavailable) {
  Nvml nvml("libdoes-not-exist.so");
  const json w = summarize_window(nvml.snapshot("0000:18:00.0"), nvml.snapshot("0000:18:00.0"), 1.0);
  EXPECT_EQ(w["available"], false);
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["why"], nvml.why());

  const json ok = {{"available", true}, {"energy_mj", 0}};
  EXPECT_EQ(summarize_window(ok, {{"available", false}, {"why", "gone"}}, 1.0)["why"], "gone");
  EXPECT_EQ(summarize_window(nullptr, ok, 1.0)["available"], false);
}

// ---- summarize_window on synthetic snapshots ----

json busy(unsigned long long mask = 0) {
  return {{"available", true},
          {"clocks", {{"sm_mhz", 1800}, {"sm_max_mhz", 1980}, {"sm_default_mhz", 1755}}},
          {"clock_event_reasons", {{"mask", mask}, {"names", json::array()}}},
          {"violation_ns", {{"power", 1'000'000}, {"thermal", 0}}}};
}

TEST(NvmlWindow, EnergyAndAveragePower) {
  json before = busy(), after = busy();
  before["energy_mj"] = 1000;
  after["energy_mj"] = 6000;
  before["power_w"] = 100.0;
  after["power_w"] = 900.0;
  const json w = summarize_window(before, after, 2.0);
  EXPECT_DOUBLE_EQ(w["energy_j"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 2.5);  // from energy, not the power readings
  EXPECT_DOUBLE_EQ(w["seconds"].get<double>(), 2.0);
  EXPECT_EQ(w["before"], before);
  EXPECT_EQ(w["after"], after);
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");
}

TEST(NvmlWindow, PowerReadingsWhenNoEnergyCounter) {
  json before = busy(), after = busy();
  before["power_w"] = 100.0;
  after["power_w"] = 300.0;
  const json w = summarize_window(before, after, 2.0);
  EXPECT_TRUE(w["energy_j"].is_null());
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 200.0);
}

TEST(NvmlWindow, PowerReadingsWhenEnergyCounterDidNotTick) {
  json before = busy(), after = busy();
  before["energy_mj"] = after["energy_mj"] = 6000;
  before["power_w"] = 300.0;
  after["power_w"] = 310.0;
  const json w = summarize_window(before, after, 0.01);
  EXPECT_DOUBLE_EQ(w["energy_j"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 305.0);
}

TEST(NvmlWindow, CounterThatWentBackIsNull) {
  json before = busy(), after = busy();
  before["energy_mj"] = 6000;
  after["energy_mj"] = 1000;
  after["power_w"] = 250.0;
  const json w = summarize_window(before, after, 1.0);
  EXPECT_TRUE(w["energy_j"].is_null());
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 250.0);
}

TEST(NvmlWindow, MissingFieldsAreNull) {
  const json bare = {{"available", true}};
  const json w = summarize_window(bare, bare, 1.0);
  EXPECT_TRUE(w["energy_j"].is_null());
  EXPECT_TRUE(w["avg_power_w"].is_null());
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");

  json nulls = busy();
  nulls["energy_mj"] = nullptr;
  nulls["power_w"] = nullptr;
  nulls["clocks"]["sm_mhz"] = nullptr;
  nulls["clock_event_reasons"] = nullptr;
  nulls["violation_ns"]["power"] = nullptr;
  const json n = summarize_window(busy(), nulls, 1.0);
  EXPECT_TRUE(n["energy_j"].is_null());
  EXPECT_TRUE(n["avg_power_w"].is_null());
  EXPECT_EQ(n["throttled"], false);
}

TEST(NvmlWindow, EachThrottleReasonBit) {
  const std::pair<unsigned long long, const char*> throttles[] = {{0x8, "hw_slowdown"},
                                                                  {0x20, "sw_thermal_slowdown"},
                                                                  {0x40, "hw_thermal_slowdown"},
                                                                  {0x80, "hw_power_brake_slowdown"}};
  for (const auto& [bit, name] : throttles) {
    const json w = summarize_window(busy(), busy(bit), 1.0);
    EXPECT_EQ(w["throttled"], true) << name;
    EXPECT_EQ(w["throttle_reasons"], name);
  }
  // Idle, applications clocks, the power cap, sync boost and display clocks are not throttling.
  for (unsigned long long bit : {0x1ull, 0x2ull, 0x4ull, 0x10ull, 0x100ull})
    EXPECT_EQ(summarize_window(busy(), busy(bit), 1.0)["throttled"], false) << bit;
  // A reason set before the window but gone after it does not count.
  EXPECT_EQ(summarize_window(busy(0x40), busy(), 1.0)["throttled"], false);
}

TEST(NvmlWindow, ViolationTimeGrowth) {
  json after = busy(0x4);
  after["violation_ns"]["power"] = 121'000'000;  // 120 ms more than before: at the power cap, not throttled
  json w = summarize_window(busy(0), after, 1.0);
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");
  EXPECT_DOUBLE_EQ(w["violation_s"]["power"].get<double>(), 0.12);
  EXPECT_DOUBLE_EQ(w["violation_s"]["thermal"].get<double>(), 0.0);
  EXPECT_TRUE(w["violation_s"]["sync_boost"].is_null());  // the snapshots lack it

  after = busy(0x4);
  after["violation_ns"]["thermal"] = 2'500'000;
  w = summarize_window(busy(), after, 1.0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "thermal violation 2.5 ms");
  EXPECT_DOUBLE_EQ(w["violation_s"]["thermal"].get<double>(), 0.0025);

  EXPECT_EQ(summarize_window(busy(), busy(), 1.0)["throttled"], false);  // unchanged counters
}

// Samples a sampling thread took at `sm_mhz` clocks, with `mask` clock-event reasons.
json samples_at(std::initializer_list<unsigned> sm_mhz, unsigned long long mask = 0) {
  json samples = json::array();
  double t = 0;
  for (unsigned mhz : sm_mhz)
    samples.push_back({{"t_s", t += 0.1}, {"sm_mhz", mhz}, {"power_w", 600.0 + mhz / 100}, {"temperature_c", 60},
                       {"clock_event_mask", mask}});
  return samples;
}

TEST(NvmlWindow, SpreadOfTheSamples) {
  json samples = samples_at({1980, 1700, 1500, 1900});
  samples[1]["temperature_c"] = 70;
  samples[2]["power_w"] = nullptr;  // a reading that failed is left out of its spread
  const json w = summarize_window(busy(), busy(), 0.5, samples);
  EXPECT_EQ(w["samples"], 4);
  EXPECT_EQ(w["sm_clock_mhz"], json({{"min", 1500.0}, {"median", 1800.0}, {"max", 1980.0}}));
  EXPECT_EQ(w["power_w"], json({{"min", 617.0}, {"median", 619.0}, {"max", 619.0}}));
  EXPECT_EQ(w["temperature_c"], json({{"min", 60.0}, {"median", 60.0}, {"max", 70.0}}));
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 619.0);  // no energy counter: the samples' median
  EXPECT_EQ(w["throttled"], false);

  const json none = summarize_window(busy(), busy(), 0.5);
  EXPECT_EQ(none["samples"], 0);
  EXPECT_TRUE(none["sm_clock_mhz"].is_null());
  EXPECT_TRUE(none["power_w"].is_null());
  EXPECT_TRUE(none["temperature_c"].is_null());
}

TEST(NvmlWindow, HardwareReasonInAnySampleThrottles) {
  json samples = samples_at({1800, 1800, 1800}, 0x4);
  samples[1]["clock_event_mask"] = 0x4 | 0x40;  // heat in the middle of the measurement, gone by the close
  const json w = summarize_window(busy(), busy(0x4), 1.0, samples);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "hw_thermal_slowdown");
}

TEST(NvmlWindow, PowerCapAloneIsNotThrottled) {
  json after = busy(0x4);
  after["violation_ns"]["power"] = 801'000'000;
  const json w = summarize_window(busy(0x4), after, 1.0, samples_at({1650, 1700, 1620}, 0x4));
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");
  EXPECT_DOUBLE_EQ(w["violation_s"]["power"].get<double>(), 0.8);
}

TEST(NvmlWindow, LowClockAtThePowerCapAloneIsNotThrottled) {
  // Busy at 1200 MHz with nothing but the power limit holding the clock: running as meant to.
  json w = summarize_window(busy(0x4), busy(0x4), 1.0, samples_at({1200, 1210, 1190}, 0x4));
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");

  json after = busy(0x4);  // no samples: the closing reading, power-capped, is left out too
  after["clocks"]["sm_mhz"] = 1200;
  EXPECT_EQ(summarize_window(busy(), after, 1.0)["throttled"], false);

  // The power cap with another reason (sync boost) does not explain the low clock.
  w = summarize_window(busy(), busy(), 1.0, samples_at({1200, 1210, 1190}, 0x4 | 0x10));
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1200 MHz < 75% of 1755 MHz");
  after["clock_event_reasons"]["mask"] = 0x4 | 0x10;
  EXPECT_EQ(summarize_window(busy(), after, 1.0)["throttled"], true);

  // Power-capped samples are left out; the others are still judged.
  json samples = samples_at({1200, 1210}, 0x4);
  for (const json& s : samples_at({1150, 1160, 1170})) samples.push_back(s);
  w = summarize_window(busy(), busy(), 1.0, samples);
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1160 MHz < 75% of 1755 MHz");
}

TEST(NvmlWindow, LowClockIsJudgedOnTheBusySamples) {
  // Busy at 1200 MHz during the measurement, back at 1800 by the close.
  json samples = samples_at({1200, 1210, 1190});
  samples.push_back({{"t_s", 0.4}, {"sm_mhz", 345}, {"clock_event_mask", 0x1}});  // idle: left out
  json w = summarize_window(busy(), busy(), 1.0, samples);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1200 MHz < 75% of 1755 MHz");
  EXPECT_EQ(w["sm_clock_mhz"]["min"], 345.0);  // the spread keeps every sample

  w = summarize_window(busy(), busy(), 1.0, samples_at({1700, 1750, 1690}));
  EXPECT_EQ(w["throttled"], false);
}

TEST(NvmlWindow, LowSmClockWhileBusy) {
  json after = busy();
  after["clocks"]["sm_mhz"] = 1200;  // < 0.75 * 1755
  json w = summarize_window(busy(), after, 1.0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1200 MHz < 75% of 1755 MHz");

  after["clocks"]["sm_mhz"] = 1400;  // 80% of the default clock
  EXPECT_EQ(summarize_window(busy(), after, 1.0)["throttled"], false);

  after["clocks"]["sm_default_mhz"] = nullptr;  // then the max clock is the reference
  w = summarize_window(busy(), after, 1.0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1400 MHz < 75% of 1980 MHz");

  after["clock_event_reasons"]["mask"] = 0x1;  // idle: a low clock is expected
  EXPECT_EQ(summarize_window(busy(), after, 1.0)["throttled"], false);
}

// ---- a fake NVML library ----

class FakeNvml : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test's own handle keeps the library (and its state) loaded between Nvml instances.
    handle_ = dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    call<void (*)()>("fake_nvml_reset");
  }
  void TearDown() override {
    if (handle_) dlclose(handle_);
  }
  template <typename Fn, typename... Args>
  void call(const char* name, Args... args) {
    auto fn = reinterpret_cast<Fn>(dlsym(handle_, name));
    ASSERT_NE(fn, nullptr) << name;
    fn(args...);
  }
  void fail(const char* function) { call<void (*)(const char*)>("fake_nvml_fail", function); }

  void* handle_ = nullptr;
};

TEST_F(FakeNvml, Snapshot) {
  Nvml nvml(FAKE_NVML_PATH);
  ASSERT_TRUE(nvml.available()) << nvml.why();
  EXPECT_EQ(nvml.driver_version(), "580.65.06");
  const json s = nvml.snapshot("0000:18:00.0");
  EXPECT_EQ(s["available"], true);
  EXPECT_EQ(s["pci_bus_id"], "0000:18:00.0");
  EXPECT_EQ(s["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(s["uuid"], "GPU-0c6b1f0e-7d2a-4e55-9a11-3f2e8d9c0b42");
  EXPECT_EQ(s["serial"], "1654922001234");
  EXPECT_EQ(s["vbios"], "96.00.74.00.01");
  EXPECT_EQ(s["driver"], "580.65.06");
  EXPECT_EQ(s["clocks"], json({{"sm_mhz", 1980}, {"mem_mhz", 2619}, {"sm_max_mhz", 1980}, {"sm_default_mhz", 1755}}));
  EXPECT_EQ(s["clock_event_reasons"], json({{"mask", 0}, {"names", json::array()}}));
  EXPECT_EQ(s["temperature_c"], 45);
  EXPECT_DOUBLE_EQ(s["power_w"].get<double>(), 312.5);
  EXPECT_EQ(s["energy_mj"], 1'002'500);
  EXPECT_EQ(s["ecc"], json({{"volatile", {{"corrected", 1}, {"uncorrected", 0}}},
                            {"aggregate", {{"corrected", 7}, {"uncorrected", 2}}}}));
  EXPECT_EQ(s["remapped_rows"],
            json({{"correctable", 3}, {"uncorrectable", 1}, {"pending", true}, {"failure", false}}));
  EXPECT_EQ(s["pcie"], json({{"gen", 4}, {"max_gen", 5}, {"width", 8}, {"max_width", 16}}));
  EXPECT_EQ(s["nvlink"], json::parse(R"([{"link":0,"active":true},{"link":1,"active":true},
                                         {"link":2,"active":false},{"link":3,"active":true}])"));
  EXPECT_EQ(s["violation_ns"], json({{"power", 5'000'000},
                                     {"thermal", 0},
                                     {"sync_boost", 0},
                                     {"board_limit", 0},
                                     {"low_utilization", 0},
                                     {"reliability", 0}}));
}

TEST_F(FakeNvml, Sample) {
  call<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0x4ull);
  call<void (*)(unsigned)>("fake_nvml_set_power_mw", 650'000u);
  Nvml nvml(FAKE_NVML_PATH);
  const json s = nvml.sample("0000:18:00.0");
  EXPECT_EQ(s, json({{"sm_mhz", 1980}, {"power_w", 650.0}, {"temperature_c", 45}, {"clock_event_mask", 0x4}}));
  EXPECT_EQ(nvml.sample("0000:99:00.0")["available"], false);
  EXPECT_EQ(Nvml("libdoes-not-exist.so").sample("0000:18:00.0")["available"], false);
}

TEST_F(FakeNvml, ViolationDeltasOverAWindow) {
  Nvml nvml(FAKE_NVML_PATH);
  const json before = nvml.snapshot("0000:18:00.0");
  const unsigned long long added[] = {300'000'000, 0, 20'000'000, 5'000'000, 1'000'000'000, 0};
  for (int policy = 0; policy < 6; ++policy)
    call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", policy, added[policy]);
  json w = summarize_window(before, nvml.snapshot("0000:18:00.0"), 2.0);
  EXPECT_EQ(w["violation_s"], json({{"power", 0.3},
                                    {"thermal", 0.0},
                                    {"sync_boost", 0.02},
                                    {"board_limit", 0.005},
                                    {"low_utilization", 1.0},
                                    {"reliability", 0.0}}));
  EXPECT_EQ(w["throttled"], false);  // power, sync boost, board limit, low utilisation: not heat or hardware

  const json again = nvml.snapshot("0000:18:00.0");
  call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", 1, 40'000'000ull);  // thermal
  w = summarize_window(again, nvml.snapshot("0000:18:00.0"), 2.0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "thermal violation 40 ms");
  EXPECT_DOUBLE_EQ(w["violation_s"]["thermal"].get<double>(), 0.04);
  EXPECT_DOUBLE_EQ(w["violation_s"]["power"].get<double>(), 0.0);
}

TEST_F(FakeNvml, ViolationTimesAreReadAsFieldValues) {
  fail("nvmlDeviceGetViolationStatus");  // the deprecated call is not needed
  call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", 1, 7'000'000ull);  // thermal: field 269
  call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", 5, 9'000ull);      // reliability: field 79
  Nvml nvml(FAKE_NVML_PATH);
  EXPECT_EQ(nvml.snapshot("0000:18:00.0")["violation_ns"], json({{"power", 5'000'000},
                                                                 {"thermal", 7'000'000},
                                                                 {"sync_boost", 0},
                                                                 {"board_limit", 0},
                                                                 {"low_utilization", 0},
                                                                 {"reliability", 9'000}}));
}

TEST_F(FakeNvml, ViolationTimeFallsBackToTheOlderCallWhereAFieldIsMissing) {
  call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", 1, 7'000'000ull);
  call<void (*)(unsigned)>("fake_nvml_fail_field", 269u);  // a driver without the thermal field
  Nvml nvml(FAKE_NVML_PATH);
  EXPECT_EQ(nvml.snapshot("0000:18:00.0")["violation_ns"]["thermal"], 7'000'000);

  fail("nvmlDeviceGetViolationStatus");  // and without the older call: only that field is null
  json v = nvml.snapshot("0000:18:00.0")["violation_ns"];
  EXPECT_TRUE(v["thermal"].is_null());
  EXPECT_EQ(v["power"], 5'000'000);

  call<void (*)()>("fake_nvml_reset");
  fail("nvmlDeviceGetFieldValues");  // no field values at all: the older call answers every policy
  v = nvml.snapshot("0000:18:00.0")["violation_ns"];
  EXPECT_EQ(v["power"], 5'000'000);
  EXPECT_EQ(v["reliability"], 0);
}

TEST_F(FakeNvml, PowerCappedLowClockIsNotThrottled) {
  Nvml nvml(FAKE_NVML_PATH);
  const json before = nvml.snapshot("0000:18:00.0");
  call<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0x4ull);  // sw_power_cap
  call<void (*)(unsigned)>("fake_nvml_set_sm_clock", 1200u);
  const json samples = json::array({nvml.sample("0000:18:00.0"), nvml.sample("0000:18:00.0")});
  json w = summarize_window(before, nvml.snapshot("0000:18:00.0"), 1.0, samples);
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["sm_clock_mhz"]["median"], 1200.0);

  call<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0ull);  // no reason given: throttled
  w = summarize_window(before, nvml.snapshot("0000:18:00.0"), 1.0, json::array({nvml.sample("0000:18:00.0")}));
  EXPECT_EQ(w["throttle_reasons"], "sm clock 1200 MHz < 75% of 1755 MHz");
}

TEST_F(FakeNvml, NvlinkLinksPastEighteenAreReported) {
  call<void (*)(unsigned)>("fake_nvml_set_nvlinks", 36u);  // NVML_NVLINK_MAX_LINKS in NVML 13.4's nvml.h
  Nvml nvml(FAKE_NVML_PATH);
  const json links = nvml.snapshot("0000:18:00.0")["nvlink"];
  ASSERT_EQ(links.size(), 36u);
  EXPECT_EQ(links[35], json({{"link", 35}, {"active", true}}));
  EXPECT_EQ(links[2]["active"], false);
}

TEST_F(FakeNvml, UnknownBusIsUnavailable) {
  Nvml nvml(FAKE_NVML_PATH);
  const json s = nvml.snapshot("0000:99:00.0");
  EXPECT_EQ(s["available"], false);
  EXPECT_EQ(s["why"], "no NVML device at 0000:99:00.0: Not Found");
}

TEST_F(FakeNvml, FailingCallsLeaveTheirFieldNull) {
  for (const char* f : {"nvmlDeviceGetSerial", "nvmlDeviceGetMaxClockInfo", "nvmlDeviceGetPowerUsage",
                        "nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetRemappedRows", "nvmlDeviceGetNvLinkState",
                        "nvmlDeviceGetViolationStatus", "nvmlDeviceGetFieldValues", "nvmlDeviceGetTotalEccErrors",
                        "nvmlDeviceGetCurrPcieLinkWidth",
                        "nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"})
    fail(f);
  Nvml nvml(FAKE_NVML_PATH);
  const json s = nvml.snapshot("0000:18:00.0");
  EXPECT_EQ(s["available"], true);
  EXPECT_EQ(s["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_TRUE(s["serial"].is_null());
  EXPECT_TRUE(s["clocks"]["sm_max_mhz"].is_null());
  EXPECT_EQ(s["clocks"]["sm_mhz"], 1980);
  EXPECT_TRUE(s["power_w"].is_null());
  EXPECT_TRUE(s["energy_mj"].is_null());
  EXPECT_TRUE(s["remapped_rows"].is_null());
  EXPECT_TRUE(s["nvlink"].is_null());
  EXPECT_TRUE(s["violation_ns"]["power"].is_null());
  EXPECT_TRUE(s["ecc"]["aggregate"]["uncorrected"].is_null());
  EXPECT_TRUE(s["pcie"]["width"].is_null());
  EXPECT_EQ(s["pcie"]["gen"], 4);
  EXPECT_TRUE(s["clock_event_reasons"].is_null());

  const json w = summarize_window(s, nvml.snapshot("0000:18:00.0"), 1.0);
  EXPECT_TRUE(w["energy_j"].is_null());
  EXPECT_TRUE(w["avg_power_w"].is_null());
  EXPECT_EQ(w["throttled"], false);
}

TEST_F(FakeNvml, ClockEventReasonsFallBackToThrottleReasons) {
  fail("nvmlDeviceGetCurrentClocksEventReasons");
  call<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0x4ull | 0x100ull);
  Nvml nvml(FAKE_NVML_PATH);
  EXPECT_EQ(nvml.snapshot("0000:18:00.0")["clock_event_reasons"],
            json({{"mask", 0x104}, {"names", {"sw_power_cap", "display_clock_setting"}}}));
}

TEST_F(FakeNvml, WindowSeesEnergyAndThrottling) {
  Nvml nvml(FAKE_NVML_PATH);
  const json before = nvml.snapshot("0000:18:00.0");
  call<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0x4ull | 0x8ull);
  call<void (*)(int, unsigned long long)>("fake_nvml_add_violation_ns", 0, 120'000'000ull);
  call<void (*)(unsigned)>("fake_nvml_set_sm_clock", 1200u);
  const json after = nvml.snapshot("0000:18:00.0");
  const json w = summarize_window(before, after, 0.5);
  EXPECT_DOUBLE_EQ(w["energy_j"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 5.0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "hw_slowdown; sm clock 1200 MHz < 75% of 1755 MHz");
  EXPECT_DOUBLE_EQ(w["violation_s"]["power"].get<double>(), 0.12);
  EXPECT_EQ(after["clock_event_reasons"]["names"], json({"sw_power_cap", "hw_slowdown"}));
}

TEST_F(FakeNvml, QuietWindowIsNotThrottled) {
  Nvml nvml(FAKE_NVML_PATH);
  const json before = nvml.snapshot("0000:18:00.0");
  const json w = summarize_window(before, nvml.snapshot("0000:18:00.0"), 1.0);
  EXPECT_EQ(w["throttled"], false);
  EXPECT_EQ(w["throttle_reasons"], "");
}

TEST_F(FakeNvml, InitFailureIsUnavailableWithWhy) {
  call<void (*)(int)>("fake_nvml_set_init_result", 9);  // NVML_ERROR_DRIVER_NOT_LOADED
  Nvml nvml(FAKE_NVML_PATH);
  EXPECT_FALSE(nvml.available());
  EXPECT_EQ(nvml.why(), "nvmlInit_v2: Driver Not Loaded");
  EXPECT_EQ(nvml.snapshot("0000:18:00.0")["available"], false);
}

TEST_F(FakeNvml, FabricNotSupportedHasNoDomain) {
  Nvml nvml(FAKE_NVML_PATH);
  const auto fabric = nvml.gpu_fabric("0000:18:00.0");
  ASSERT_TRUE(fabric);
  EXPECT_EQ(fabric->state, "not_supported");
  EXPECT_FALSE(fabric->registered);
  EXPECT_EQ(fabric->domain(), std::nullopt);
  EXPECT_EQ(nvml.gpu_fabric("0000:99:00.0"), std::nullopt);   // no such device
  EXPECT_EQ(Nvml("libdoes-not-exist.so").gpu_fabric("0000:18:00.0"), std::nullopt);
}

TEST_F(FakeNvml, RegisteredFabricNamesTheDomainByClusterUuidAndClique) {
  call<void (*)(unsigned, int, unsigned)>("fake_nvml_set_fabric", 3u, 0, 7u);   // completed
  Nvml nvml(FAKE_NVML_PATH);
  const auto fabric = nvml.gpu_fabric("0000:18:00.0");
  ASSERT_TRUE(fabric);
  EXPECT_EQ(fabric->state, "completed");
  EXPECT_TRUE(fabric->registered);
  EXPECT_EQ(fabric->status, "");
  EXPECT_EQ(fabric->cluster_uuid, "5c1a7e02-9b44-4f31-8d20-6e0ba1c3557f");
  EXPECT_EQ(fabric->clique_id, 7u);
  EXPECT_EQ(fabric->domain(), "5c1a7e02-9b44-4f31-8d20-6e0ba1c3557f/7");

  fail("nvmlDeviceGetGpuFabricInfoV");   // the older entry point answers the same
  EXPECT_EQ(nvml.gpu_fabric("0000:18:00.0")->domain(), "5c1a7e02-9b44-4f31-8d20-6e0ba1c3557f/7");
  fail("nvmlDeviceGetGpuFabricInfo");
  EXPECT_EQ(nvml.gpu_fabric("0000:18:00.0"), std::nullopt);
}

TEST_F(FakeNvml, FabricNotYetOrBadlyRegisteredHasNoDomain) {
  call<void (*)(unsigned, int, unsigned)>("fake_nvml_set_fabric", 2u, 0, 7u);   // in progress
  Nvml nvml(FAKE_NVML_PATH);
  auto fabric = nvml.gpu_fabric("0000:18:00.0");
  EXPECT_EQ(fabric->state, "in_progress");
  EXPECT_EQ(fabric->domain(), std::nullopt);

  call<void (*)(unsigned, int, unsigned)>("fake_nvml_set_fabric", 3u, 3, 7u);   // completed, NOT_SUPPORTED
  fabric = nvml.gpu_fabric("0000:18:00.0");
  EXPECT_EQ(fabric->state, "completed");
  EXPECT_FALSE(fabric->registered);
  EXPECT_EQ(fabric->status, "Not Supported");
  EXPECT_EQ(fabric->domain(), std::nullopt);
}

// A single-node NVSwitch system (HGX/DGX H100, H200, B200): Fabric Manager registers every GPU,
// completed and successful, in clique 0 with a cluster UUID of zeros. That is no multi-node domain.
TEST_F(FakeNvml, SingleNodeNvswitchRegistrationHasNoDomain) {
  const unsigned char zeros[16] = {};
  call<void (*)(const unsigned char*)>("fake_nvml_set_cluster_uuid", zeros);
  call<void (*)(unsigned, int, unsigned)>("fake_nvml_set_fabric", 3u, 0, 0u);
  call<void (*)(unsigned, unsigned, unsigned)>("fake_nvml_set_fabric_health", 0u, 1u, 3u);  // healthy
  Nvml nvml(FAKE_NVML_PATH);
  const auto fabric = nvml.gpu_fabric("0000:18:00.0");
  ASSERT_TRUE(fabric);
  EXPECT_EQ(fabric->state, "completed");
  EXPECT_TRUE(fabric->registered);
  EXPECT_EQ(fabric->cluster_uuid, "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(fabric->clique_id, 0u);
  EXPECT_EQ(fabric->domain(), std::nullopt);
  EXPECT_EQ(fabric->health_summary, "healthy");

  const json recorded = nvml.snapshot("0000:18:00.0")["fabric"];
  EXPECT_EQ(recorded["state"], "completed");
  EXPECT_TRUE(recorded["domain"].is_null());

  fail("nvmlDeviceGetGpuFabricInfoV");  // the older call says the same
  EXPECT_EQ(nvml.gpu_fabric("0000:18:00.0")->domain(), std::nullopt);
}

TEST_F(FakeNvml, FabricHealthFromTheVersionedStructs) {
  // degraded_bw TRUE (1 << 0), route_recovery FALSE (2 << 2), route_unhealthy not supported,
  // access_timeout_recovery FALSE (2 << 6), incorrect_configuration INSUFFICIENT_NVLINKS (5 << 8).
  const unsigned mask = 1u | (2u << 2) | (2u << 6) | (5u << 8);
  call<void (*)(unsigned, int, unsigned)>("fake_nvml_set_fabric", 3u, 0, 7u);
  call<void (*)(unsigned, unsigned, unsigned)>("fake_nvml_set_fabric_health", mask, 3u, 3u);  // limited capacity
  Nvml nvml(FAKE_NVML_PATH);
  auto fabric = nvml.gpu_fabric("0000:18:00.0");
  EXPECT_EQ(fabric->health_mask, mask);
  EXPECT_EQ(fabric->health_summary, "limited_capacity");
  const json health = {{"degraded_bw", true},
                       {"route_recovery", false},
                       {"route_unhealthy", nullptr},
                       {"access_timeout_recovery", false},
                       {"incorrect_configuration", "insufficient_nvlinks"}};
  EXPECT_EQ(fabric->health(), health);
  EXPECT_EQ(fabric->domain(), "5c1a7e02-9b44-4f31-8d20-6e0ba1c3557f/7");  // health does not change the domain
  EXPECT_EQ(nvml.snapshot("0000:18:00.0")["fabric"], fabric->to_json());
  EXPECT_EQ(fabric->to_json()["health"], health);

  // A driver that knows only the v2 struct: the mask, no summary.
  call<void (*)(unsigned, unsigned, unsigned)>("fake_nvml_set_fabric_health", mask, 3u, 2u);
  fabric = nvml.gpu_fabric("0000:18:00.0");
  EXPECT_EQ(fabric->health_mask, mask);
  EXPECT_EQ(fabric->health_summary, "");

  fail("nvmlDeviceGetGpuFabricInfoV");  // the unversioned call gives no health
  fabric = nvml.gpu_fabric("0000:18:00.0");
  EXPECT_EQ(fabric->health_mask, std::nullopt);
  EXPECT_TRUE(fabric->health().is_null());
}

// An older driver: no clock event reasons (the throttle-reasons name answers), no TemperatureV,
// no energy counter, no remapped rows, no violation status.
TEST(FakeNvmlOldDriver, MissingSymbolsLeaveFieldsNull) {
  Nvml nvml(FAKE_NVML_OLD_PATH);
  ASSERT_TRUE(nvml.available()) << nvml.why();
  const json before = nvml.snapshot("00000000:18:00.0");
  EXPECT_EQ(before["available"], true);
  EXPECT_EQ(before["clock_event_reasons"], json({{"mask", 0}, {"names", json::array()}}));
  EXPECT_EQ(before["temperature_c"], 44);
  EXPECT_TRUE(before["energy_mj"].is_null());
  EXPECT_TRUE(before["remapped_rows"].is_null());
  EXPECT_EQ(before["serial"], "1654922001234");

  for (const char* policy : {"power", "thermal", "sync_boost", "board_limit", "low_utilization", "reliability"})
    EXPECT_TRUE(before["violation_ns"][policy].is_null()) << policy;

  const json w = summarize_window(before, nvml.snapshot("00000000:18:00.0"), 1.0);
  EXPECT_TRUE(w["energy_j"].is_null());
  EXPECT_DOUBLE_EQ(w["avg_power_w"].get<double>(), 312.5);  // the mean of the two readings
  EXPECT_EQ(w["throttled"], false);
  for (const auto& [policy, seconds] : w["violation_s"].items()) EXPECT_TRUE(seconds.is_null()) << policy;
  EXPECT_EQ(w["violation_s"].size(), 6u);
}

// An older driver answers for the fabric only through nvmlDeviceGetGpuFabricInfo.
TEST(FakeNvmlOldDriver, FabricThroughTheUnversionedCall) {
  void* handle = dlopen(FAKE_NVML_OLD_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  EXPECT_EQ(dlsym(handle, "nvmlDeviceGetGpuFabricInfoV"), nullptr);
  auto set = reinterpret_cast<void (*)(unsigned, int, unsigned)>(dlsym(handle, "fake_nvml_set_fabric"));
  ASSERT_NE(set, nullptr);
  set(3u, 0, 12u);
  {
    Nvml nvml(FAKE_NVML_OLD_PATH);
    EXPECT_EQ(nvml.gpu_fabric("0000:18:00.0")->domain(), "5c1a7e02-9b44-4f31-8d20-6e0ba1c3557f/12");
  }
  set(0u, 0, 0u);
  dlclose(handle);
}

}  // namespace
}  // namespace rackqual::cuda
