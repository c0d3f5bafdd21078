#include "kernels/cuda/telemetry_sampler.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace rackqual::cuda {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The fake NVML library (tests/cpp/fake_nvml.cpp), held open so that its state lasts between calls.
class TelemetrySamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    set<void (*)()>("fake_nvml_reset");
  }
  void TearDown() override {
    if (handle_) dlclose(handle_);
  }
  template <typename Fn, typename... Args>
  void set(const char* name, Args... args) {
    auto fn = reinterpret_cast<Fn>(dlsym(handle_, name));
    ASSERT_NE(fn, nullptr) << name;
    fn(args...);
  }

  void* handle_ = nullptr;
};

TEST_F(TelemetrySamplerTest, SamplesAtItsPeriodWhileOpen) {
  Nvml nvml(FAKE_NVML_PATH);
  ASSERT_TRUE(nvml.available()) << nvml.why();
  TelemetrySampler sampler(nvml, "0000:18:00.0", 20ms);
  std::this_thread::sleep_for(250ms);
  const json samples = sampler.stop();
  ASSERT_GE(samples.size(), 5u);
  ASSERT_LE(samples.size(), 13u);
  double last = 0;
  for (const auto& s : samples) {
    EXPECT_EQ(s["sm_mhz"], 1980);
    EXPECT_DOUBLE_EQ(s["power_w"].get<double>(), 312.5);
    EXPECT_EQ(s["temperature_c"], 45);
    EXPECT_EQ(s["clock_event_mask"], 0);
    EXPECT_GT(s["t_s"].get<double>(), last);
    last = s["t_s"].get<double>();
  }
  EXPECT_TRUE(sampler.stop().empty());  // stopping twice is harmless and hands over nothing more
}

TEST_F(TelemetrySamplerTest, StopDoesNotWaitForTheNextPeriod) {
  Nvml nvml(FAKE_NVML_PATH);
  const auto begin = std::chrono::steady_clock::now();
  {
    TelemetrySampler sampler(nvml, "0000:18:00.0", 10s);
    EXPECT_TRUE(sampler.stop().empty());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
}

TEST_F(TelemetrySamplerTest, ThrottlingDuringTheMeasurementShowsInTheWindow) {
  Nvml nvml(FAKE_NVML_PATH);
  const json before = nvml.snapshot("0000:18:00.0");
  TelemetrySampler sampler(nvml, "0000:18:00.0", 10ms);
  std::this_thread::sleep_for(60ms);
  set<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0x4ull | 0x40ull);  // power cap and heat
  set<void (*)(unsigned)>("fake_nvml_set_sm_clock", 1500u);
  std::this_thread::sleep_for(100ms);
  set<void (*)(unsigned long long)>("fake_nvml_set_clock_events", 0ull);  // gone before the window closes
  set<void (*)(unsigned)>("fake_nvml_set_sm_clock", 1980u);
  std::this_thread::sleep_for(60ms);
  const json samples = sampler.stop();
  const json w = summarize_window(before, nvml.snapshot("0000:18:00.0"), 0.22, samples);
  EXPECT_EQ(w["after"]["clock_event_reasons"]["mask"], 0);
  EXPECT_EQ(w["throttled"], true);
  EXPECT_EQ(w["throttle_reasons"], "hw_thermal_slowdown");
  EXPECT_EQ(w["samples"], samples.size());
  EXPECT_EQ(w["sm_clock_mhz"]["min"], 1500.0);
  EXPECT_EQ(w["sm_clock_mhz"]["max"], 1980.0);
}

TEST_F(TelemetrySamplerTest, NoNvmlNoSamples) {
  Nvml nvml("libdoes-not-exist.so");
  TelemetrySampler sampler(nvml, "0000:18:00.0", 5ms);
  std::this_thread::sleep_for(30ms);
  EXPECT_TRUE(sampler.stop().empty());
}

TEST_F(TelemetrySamplerTest, UnknownDeviceLeavesNoSamples) {
  Nvml nvml(FAKE_NVML_PATH);
  TelemetrySampler sampler(nvml, "0000:99:00.0", 5ms);
  std::this_thread::sleep_for(30ms);
  EXPECT_TRUE(sampler.stop().empty());
}

}  // namespace
}  // namespace rackqual::cuda
