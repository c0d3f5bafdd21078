#include "rackqual/input/fault.hpp"

#include <gtest/gtest.h>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

std::string fault_error(const std::string& text) {
  try {
    parse_fault(text);
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "--fault");
    return e.what();
  }
  ADD_FAILURE() << "no FieldError for '" << text << "'";
  return "";
}

TEST(ParseFault, Modes) {
  const Fault wrong = parse_fault("gemm-fp32:0:wrong");
  EXPECT_EQ(wrong.check, "gemm-fp32");
  EXPECT_EQ(wrong.rank, 0);
  EXPECT_EQ(wrong.mode, FaultMode::wrong);
  EXPECT_EQ(parse_fault("hbm:3:error").mode, FaultMode::error);
  EXPECT_EQ(parse_fault("gemm:2:corrupt").mode, FaultMode::corrupt);
  EXPECT_EQ(parse_fault("p2p:1:sample_error").mode, FaultMode::sample_error);
  const Fault hang = parse_fault("allreduce-node:12:hang");
  EXPECT_EQ(hang.check, "allreduce-node");
  EXPECT_EQ(hang.rank, 12);
  EXPECT_EQ(hang.mode, FaultMode::hang);
}

TEST(ParseFault, LateArrivalWithDuration) {
  const Fault late = parse_fault("allreduce-node:1:late");
  EXPECT_EQ(late.mode, FaultMode::late);
  EXPECT_DOUBLE_EQ(late.late_s, 0.002);
  EXPECT_DOUBLE_EQ(parse_fault("allreduce-node:1:late=5ms").late_s, 0.005);
  EXPECT_EQ(fault_error("a:0:late=soon"), "--fault: late=DURATION takes a duration from 1us to 60s such as 2ms, got 'soon'");
  EXPECT_EQ(fault_error("a:0:late=0s"), "--fault: late=DURATION takes a duration from 1us to 60s such as 2ms, got '0s'");
}

TEST(ParseFault, MissingParts) {
  EXPECT_EQ(fault_error("gemm"), "--fault: expected CHECK:RANK:MODE, got 'gemm'");
  EXPECT_EQ(fault_error("gemm:1"), "--fault: expected CHECK:RANK:MODE, got 'gemm:1'");
  EXPECT_EQ(fault_error(""), "--fault: expected CHECK:RANK:MODE, got ''");
  EXPECT_EQ(fault_error(":0:wrong"), "--fault: the check id is empty in ':0:wrong'");
}

TEST(ParseFault, BadRank) {
  EXPECT_EQ(fault_error("gemm:x:wrong"), "--fault: rank must be a whole number >= 0, got 'x'");
  EXPECT_EQ(fault_error("gemm:-1:wrong"), "--fault: rank must be a whole number >= 0, got '-1'");
  EXPECT_EQ(fault_error("gemm:1x:wrong"), "--fault: rank must be a whole number >= 0, got '1x'");
  EXPECT_EQ(fault_error("gemm::wrong"), "--fault: rank must be a whole number >= 0, got ''");
  EXPECT_EQ(fault_error("gemm:99999999999:wrong"), "--fault: rank must be a whole number >= 0, got '99999999999'");
}

TEST(ParseFault, BadMode) {
  EXPECT_EQ(fault_error("gemm:0:crash"), "--fault: mode must be wrong, corrupt, error, hang, late[=DURATION] or sample_error, got 'crash'");
  EXPECT_EQ(fault_error("gemm:0:"), "--fault: mode must be wrong, corrupt, error, hang, late[=DURATION] or sample_error, got ''");
}

TEST(FindFault, GivesTheWholeFault) {
  const std::vector<Fault> faults = {parse_fault("a:1:late=3ms")};
  ASSERT_NE(find_fault(faults, "a", 1), nullptr);
  EXPECT_DOUBLE_EQ(find_fault(faults, "a", 1)->late_s, 0.003);
  EXPECT_EQ(find_fault(faults, "a", 0), nullptr);
}

TEST(FaultFor, MatchesCheckAndRank) {
  const std::vector<Fault> faults{parse_fault("a:0:wrong"), parse_fault("a:1:hang"), parse_fault("b:0:error")};
  EXPECT_EQ(fault_for(faults, "a", 0), FaultMode::wrong);
  EXPECT_EQ(fault_for(faults, "a", 1), FaultMode::hang);
  EXPECT_EQ(fault_for(faults, "b", 0), FaultMode::error);
  EXPECT_EQ(fault_for(faults, "b", 1), std::nullopt);
  EXPECT_EQ(fault_for(faults, "c", 0), std::nullopt);
  EXPECT_EQ(fault_for({}, "a", 0), std::nullopt);
}

}  // namespace
}  // namespace rackqual
