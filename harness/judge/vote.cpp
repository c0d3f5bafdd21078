#include "rackqual/judge/vote.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "rackqual/api/exchange.hpp"
#include "rackqual/base/stats.hpp"
#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

// How one rank came out of its model's vote.
struct Ballot {
  Verdict verdict = Verdict::pass;
  std::string text;
};

std::string who(const RankDigest& d) {
  return "rank " + std::to_string(d.rank) + " (" + d.host + " dev" + std::to_string(d.device.index) + ")";
}

// "model" or "model; setting": who can agree bit for bit.
std::string model_of(const RankDigest& d) {
  const std::string name = d.device.name.empty() ? "unnamed" : d.device.name;
  return d.digest.setting.empty() ? name : name + "; " + d.digest.setting;
}

// The sample length most voters have (the longer one on a tie).
std::size_t usual_length(const std::vector<RankDigest>& voters) {
  std::map<std::size_t, int> lengths;
  for (const auto& v : voters) ++lengths[v.digest.sample.size()];
  std::size_t best = 0;
  int most = 0;
  for (const auto& [length, count] : lengths)
    if (count >= most) best = length, most = count;
  return best;
}

// Element-wise median of the samples of `length` values; values that are not numbers are left
// out (NaN where no voter has a number).
std::vector<double> median_sample(const std::vector<RankDigest>& voters, std::size_t length) {
  std::vector<double> out(length, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < length; ++i) {
    std::vector<double> values;
    for (const auto& v : voters)
      if (v.digest.sample.size() == length && !std::isnan(v.digest.sample[i])) values.push_back(v.digest.sample[i]);
    if (!values.empty()) out[i] = percentile(values, 0.5);
  }
  return out;
}

// max_i |x_i - ref_i| / max_i |ref_i|, normwise so that values near zero weigh nothing on their
// own; NaN where either holds a NaN.
double relative_distance(const std::vector<double>& x, const std::vector<double>& ref) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = std::fabs(x[i] - ref[i]);
    if (std::isnan(e)) return e;
    diff = std::max(diff, e);
    scale = std::max(scale, std::fabs(ref[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

// How the voters' samples compare with their element-wise median: the widest tolerance any
// voter allows, and by rank how each sample outside it differs.
struct Samples {
  double tolerance = 0;
  std::map<int, std::string> outside;
};

// Each voter's sample against the element-wise median of the samples of the usual length.
Samples compare_samples(const std::vector<RankDigest>& voters, const std::string& devices) {
  Samples out;
  const std::size_t length = usual_length(voters);
  const auto reference = median_sample(voters, length);
  for (const auto& v : voters) out.tolerance = std::max(out.tolerance, v.digest.tolerance);
  for (const auto& v : voters) {
    const auto& sample = v.digest.sample;
    if (sample.size() != length) {
      out.outside[v.rank] =
          "a sample of " + std::to_string(sample.size()) + " values where most have " + std::to_string(length);
      continue;
    }
    const double distance = relative_distance(sample, reference);
    if (!(distance <= out.tolerance))
      out.outside[v.rank] = "sampled output (not reproducible bit for bit) " + format_number(distance) +
                            " from the element-wise median of the " + devices + ", over the tolerance " +
                            format_number(out.tolerance);
  }
  return out;
}

// The ballots of the voters of one model, by rank.
void vote_model(const std::string& model, const std::vector<RankDigest>& voters, std::map<int, Ballot>& ballots) {
  const std::size_t n = voters.size();
  const std::string devices = std::to_string(n) + " devices (" + model + ")";
  if (n == 1) {
    ballots[voters[0].rank] = {Verdict::pass, "consensus: no other device (" + model + ") computed this point"};
    return;
  }
  auto everyone = [&](Verdict verdict, const std::string& text) {
    for (const auto& v : voters) ballots[v.rank] = {verdict, text};
  };

  // The hash more than half of them share.
  std::map<std::string, std::size_t> counts;
  for (const auto& v : voters) ++counts[v.digest.hash];
  const auto top =
      std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  if (2 * top->second <= n) {
    const auto tally = join(counts, [](const auto& c) { return c.first + " on " + std::to_string(c.second); });
    everyone(Verdict::error, "consensus: no output hash is shared by more than half of the " + devices + " (" + tally + ")");
    return;
  }
  const std::string& hash = top->first;

  // The part not reproducible bit for bit: each sample against the element-wise median of all.
  const bool sampled =
      std::any_of(voters.begin(), voters.end(), [](const RankDigest& v) { return !v.digest.bit_exact(); });
  const Samples samples = sampled ? compare_samples(voters, devices) : Samples{};
  const double tolerance = samples.tolerance;
  const auto& outside = samples.outside;

  std::size_t agree = 0;
  for (const auto& v : voters) agree += v.digest.hash == hash && !outside.count(v.rank) ? 1 : 0;
  if (2 * agree <= n) {
    everyone(Verdict::error, "consensus: " + std::to_string(agree) + " of " + devices + " agree on output hash " + hash +
                                 " and a sample within " + format_number(tolerance) + ": no more than half");
    return;
  }

  const std::string majority = std::to_string(agree) + " of " + devices;
  const std::string within = sampled ? "; its part not reproducible bit for bit within " + format_number(tolerance) +
                                           " of their median on a sample"
                                     : "";
  for (const auto& v : voters) {
    if (v.digest.hash != hash)
      ballots[v.rank] = {Verdict::fail, "consensus: " + who(v) + ": output hash " + v.digest.hash + " differs from the " +
                                            majority + " that agree on " + hash};
    else if (outside.count(v.rank))
      ballots[v.rank] = {Verdict::fail, "consensus: " + who(v) + ": " + outside.at(v.rank) + "; " + majority + " agree"};
    else
      ballots[v.rank] = {Verdict::pass, "consensus: output hash " + hash + " shared by " + majority + within};
  }
}

}  // namespace

std::vector<RankDigest> gather_digests(const Group& group, const std::optional<RankDigest>& mine) {
  std::vector<RankDigest> out;
  for (const auto& digests : gather_values(group, mine ? std::vector<RankDigest>{*mine} : std::vector<RankDigest>{}))
    out.insert(out.end(), digests.begin(), digests.end());
  return out;
}

void vote_outputs(std::vector<Record>& records) {
  std::vector<nlohmann::json> points;
  for (const auto& r : records)
    if (!r.digests.empty() && std::find(points.begin(), points.end(), r.params) == points.end()) points.push_back(r.params);

  for (const auto& point : points) {
    // Each rank votes once (its digest is on every record of its group at this point), with the
    // devices of its model and setting.
    std::map<std::string, std::vector<RankDigest>> models;
    std::set<int> seen;
    for (const auto& r : records)
      if (r.params == point)
        for (const auto& d : r.digests)
          if (seen.insert(d.rank).second) models[model_of(d)].push_back(d);
    std::map<int, Ballot> ballots;
    for (const auto& [model, voters] : models) vote_model(model, voters, ballots);

    for (auto& r : records) {
      if (r.params != point || r.digests.empty()) continue;
      // The worst ballot of the record's ranks, each text once.
      Verdict verdict = Verdict::pass;
      std::vector<std::string> texts;
      for (const auto& d : r.digests) {
        const Ballot& b = ballots.at(d.rank);
        if (b.verdict > verdict) verdict = b.verdict, texts.clear();
        if (b.verdict == verdict && std::find(texts.begin(), texts.end(), b.text) == texts.end()) texts.push_back(b.text);
      }
      const std::string why = join(texts, [](const std::string& t) { return t; }, "; ");
      r.correct_detail += (r.correct_detail.empty() ? "" : "; ") + why;
      if (verdict == Verdict::pass) continue;
      if (verdict == Verdict::fail) r.correct = false;
      const bool was_failing = r.verdict == Verdict::fail || r.verdict == Verdict::error;
      r.reason = was_failing ? r.reason + "; " + why : why + " (" + r.reason + ")";
      r.verdict = worst(r.verdict, verdict);
    }
  }
}

}  // namespace rackqual
