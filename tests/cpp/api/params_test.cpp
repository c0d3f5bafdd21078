#include "rackqual/api/params.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <variant>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

const ParamSpec integer_spec{"m", ParamType::integer, "4096", "", {}, 1};
const ParamSpec bytes_spec{"bytes", ParamType::bytes, "256MiB", "", {}, 4096};
const ParamSpec list_spec{"sizes", ParamType::bytes_list, "1MiB,64MiB", "", {}, 8};
const ParamSpec choice_spec{"dtype", ParamType::choice, "fp32", "", {"fp64", "fp32"}, 1};

template <typename F>
FieldError field_error(F&& f) {
  try {
    f();
  } catch (const FieldError& e) {
    return e;
  }
  ADD_FAILURE() << "no FieldError thrown";
  return FieldError("", "");
}

TEST(ParamType, Names) {
  EXPECT_EQ(to_string(ParamType::integer), "integer");
  EXPECT_EQ(to_string(ParamType::bytes), "size");
  EXPECT_EQ(to_string(ParamType::bytes_list), "list of sizes");
  EXPECT_EQ(to_string(ParamType::choice), "choice");
}

TEST(ParseParam, Integer) {
  EXPECT_EQ(std::get<std::int64_t>(parse_param(integer_spec, "512")), 512);
  EXPECT_EQ(std::get<std::int64_t>(parse_param(integer_spec, "1")), 1);
}

TEST(ParseParam, IntegerRejectsText) {
  const auto e = field_error([] { parse_param(integer_spec, "abc"); });
  EXPECT_EQ(e.field(), "m");
  EXPECT_EQ(e.message(), "expected an integer, got 'abc'");
  EXPECT_STREQ(e.what(), "m: expected an integer, got 'abc'");
  EXPECT_THROW(parse_param(integer_spec, "12x"), FieldError);
  EXPECT_THROW(parse_param(integer_spec, "1.5"), FieldError);
  EXPECT_THROW(parse_param(integer_spec, ""), FieldError);
  EXPECT_THROW(parse_param(integer_spec, "99999999999999999999"), FieldError);
}

TEST(ParseParam, IntegerBelowMinimum) {
  EXPECT_EQ(field_error([] { parse_param(integer_spec, "0"); }).message(), "must be at least 1, got 0");
  EXPECT_EQ(field_error([] { parse_param(integer_spec, "-5"); }).message(), "must be at least 1, got -5");
}

TEST(ParseParam, Bytes) {
  EXPECT_EQ(std::get<std::int64_t>(parse_param(bytes_spec, "64MiB")), 64LL << 20);
  EXPECT_EQ(std::get<std::int64_t>(parse_param(bytes_spec, "4096")), 4096);
}

TEST(ParseParam, BytesRejects) {
  EXPECT_EQ(field_error([] { parse_param(bytes_spec, "lots"); }).message(),
            "expected a size such as 4096, 64MiB or 8GiB, got 'lots'");
  EXPECT_EQ(field_error([] { parse_param(bytes_spec, "1KiB"); }).message(), "must be at least 4096, got 1KiB");
  EXPECT_EQ(field_error([] { parse_param(bytes_spec, "-8KiB"); }).message(), "must be at least 4096, got -8KiB");
}

TEST(ParseParam, BytesListFromText) {
  using List = std::vector<std::int64_t>;
  EXPECT_EQ(std::get<List>(parse_param(list_spec, "1MiB,64MiB")), (List{1 << 20, 64 << 20}));
  EXPECT_EQ(std::get<List>(parse_param(list_spec, "8, 16")), (List{8, 16}));
  EXPECT_EQ(std::get<List>(parse_param(list_spec, "4KiB")), (List{4096}));
}

TEST(ParseParam, BytesListRejects) {
  EXPECT_EQ(field_error([] { parse_param(list_spec, "1MiB,"); }).message(),
            "expected a size such as 4096, 64MiB or 8GiB, got ''");
  EXPECT_EQ(field_error([] { parse_param(list_spec, "1MiB,4"); }).message(), "must be at least 8, got 4");
  EXPECT_EQ(field_error([] { parse_param(list_spec, "1MiB,4"); }).field(), "sizes");
}

TEST(ParseParamList, Items) {
  using List = std::vector<std::int64_t>;
  EXPECT_EQ(std::get<List>(parse_param_list(list_spec, {"64KiB", "4MiB"})), (List{64 << 10, 4 << 20}));
  EXPECT_EQ(field_error([] { parse_param_list(list_spec, {}); }).message(), "expected at least one size");
  EXPECT_EQ(field_error([] { parse_param_list(integer_spec, {"1", "2"}); }).message(),
            "expected a single value, got a list");
}

TEST(ParseParam, Choice) {
  EXPECT_EQ(std::get<std::string>(parse_param(choice_spec, "fp64")), "fp64");
  const auto e = field_error([] { parse_param(choice_spec, "fp16"); });
  EXPECT_EQ(e.field(), "dtype");
  EXPECT_EQ(e.message(), "expected one of fp64, fp32, got 'fp16'");
  EXPECT_THROW(parse_param(choice_spec, "FP32"), FieldError);
}

TEST(Params, TypedLookups) {
  Params p;
  p.set("m", std::int64_t{7});
  p.set("dtype", std::string("fp32"));
  p.set("sizes", std::vector<std::int64_t>{8, 16});
  EXPECT_TRUE(p.has("m"));
  EXPECT_FALSE(p.has("n"));
  EXPECT_EQ(p.integer("m"), 7);
  EXPECT_EQ(p.text("dtype"), "fp32");
  EXPECT_EQ(p.list("sizes"), (std::vector<std::int64_t>{8, 16}));
  EXPECT_THROW(p.integer("n"), std::logic_error);
  EXPECT_THROW(p.text("m"), std::bad_variant_access);
}

TEST(Params, SetReplaces) {
  Params p;
  p.set("m", std::int64_t{1});
  p.set("m", std::int64_t{2});
  EXPECT_EQ(p.integer("m"), 2);
}

TEST(Params, Equality) {
  Params a, b;
  a.set("m", std::int64_t{1});
  b.set("m", std::int64_t{1});
  EXPECT_EQ(a, b);
  b.set("m", std::int64_t{2});
  EXPECT_NE(a, b);
}

TEST(Params, ToJson) {
  Params p;
  p.set("m", std::int64_t{7});
  p.set("dtype", std::string("fp32"));
  p.set("sizes", std::vector<std::int64_t>{8, 16});
  EXPECT_EQ(p.to_json(), nlohmann::json::parse(R"({"m": 7, "dtype": "fp32", "sizes": [8, 16]})"));
  EXPECT_EQ(Params().to_json(), nlohmann::json::object());
}

}  // namespace
}  // namespace rackqual
