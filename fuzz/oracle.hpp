#pragma once
// What every fuzzer asks of a parser: it returns, or it throws InputError naming a line of the
// input (from 1 to its last), a field and a message in rackqual's own words. Anything else (an
// exception of another type, a line 0, a library's text) aborts, so libFuzzer keeps the input;
// crashes, sanitizer reports, hangs and runaway memory are libFuzzer's own findings.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "rackqual/base/error.hpp"

namespace rackqual::fuzz {

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Words a library writes into its exceptions; an error message holding one (that the input does
// not hold itself) passed the library's text on instead of saying what is wrong in the file.
inline void check_words(const std::string& message, std::string_view input) {
  for (const char* foreign : {"yaml-cpp", "json.exception", "basic_string", "filesystem error", "bad file", "stoi", "stod",
                              "stoll", "bad_variant_access", "bad_any_cast", "vector::", "map::at", "std::"})
    if (message.find(foreign) != std::string::npos && input.find(foreign) == std::string_view::npos)
      finding("message holds a library's words (" + std::string(foreign) + "): " + message);
}

template <class Parse>
void expect_clean(std::string_view input, Parse&& parse) {
  const long lines = static_cast<long>(std::count(input.begin(), input.end(), '\n')) + 1;
  try {
    parse();
  } catch (const InputError& e) {
    if (e.line() < 1 || e.line() > lines)
      finding("InputError at line " + std::to_string(e.line()) + " of " + std::to_string(lines) + ": " + e.what());
    if (e.field().empty()) finding(std::string("InputError names no field: ") + e.what());
    if (e.field().find_first_of(":\n") != std::string::npos) finding(std::string("a field that breaks the line apart: ") + e.what());
    if (e.message().empty()) finding(std::string("InputError says nothing: ") + e.what());
    check_words(e.message(), input);
  } catch (const std::exception& e) {
    finding(std::string("not an InputError but ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding("an exception that is not a std::exception");
  }
}

}  // namespace rackqual::fuzz
