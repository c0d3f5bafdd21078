#include "rackqual/records/sink_format.hpp"

#include <cstring>
#include <ctime>
#include <stdexcept>

#include "rackqual/api/kind.hpp"

namespace rackqual {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";   // U+FFFD

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when there is none.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;   // range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEC) n = 3;
  else if (b0 == 0xED) n = 3, hi = 0x9F;
  else if (b0 >= 0xEE && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    if (n == 0) {
      out += replacement;
      ++i;
    } else {
      out += text.substr(i, n);
      i += n;
    }
  }
  return out;
}

std::optional<SweepPoint> sweep_point(const Record& r) {
  const Kind* kind = KindRegistry::instance().find(r.kind);
  if (!kind || kind->sweep_param().empty()) return std::nullopt;
  const std::string param = kind->sweep_param();
  const auto value = r.params.find(param);
  if (value == r.params.end()) return std::nullopt;
  SweepPoint point;
  point.name = param;
  point.value = *value;
  const auto spec = kind->param(param);
  if (spec && spec->type == ParamType::bytes_list) {
    if (point.name.size() > 1 && point.name.back() == 's') point.name.pop_back();
    if (value->is_array() && value->size() == 1) point.value = (*value)[0];
  }
  point.bytes = spec && (spec->type == ParamType::bytes || spec->type == ParamType::bytes_list) && point.value.is_number_integer();
  return point;
}

Verdict overall_verdict(const std::vector<Verdict>& verdicts) {
  bool judged = false;
  Verdict out = Verdict::pass;
  for (Verdict v : verdicts) {
    if (v == Verdict::skip) continue;
    out = judged ? worst(out, v) : v;
    judged = true;
  }
  return judged || verdicts.empty() ? out : Verdict::skip;
}

std::optional<double> parse_utc(const std::string& iso) {
  std::tm tm{};
  int year = 0, month = 0, ms = 0;
  char zone = 0;
  const int fields = std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &tm.tm_mday, &tm.tm_hour,
                                 &tm.tm_min, &tm.tm_sec, &ms, &zone);
  if (fields != 8 || zone != 'Z') return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

}  // namespace rackqual
