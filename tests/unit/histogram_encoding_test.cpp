// HdrHistogram's exchange form: every count survives encode and decode, and
// damaged input is refused with a reason, never read past its end. (That the
// form is HdrHistogram's own is checked against hdr-histogram-js in
// tests/hlog/.)
#include "measure/histogram_encoding.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

namespace aiway {
namespace {

TEST(HistogramEncoding, EveryCountSurvivesTheRoundTrip) {
  LatencyHistogram h;
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(11, 1.5);  // ns: a few us to a few ms, a long tail
  for (int i = 0; i < 200'000; ++i) h.record(std::int64_t(latency(random)));
  h.record(0);
  h.record_n(3'000'000'000, 5);  // three seconds, five times
  const std::string encoded = encode_histogram(h);
  EXPECT_EQ(encoded.rfind("HISTF", 0), 0u) << "the compressed V2 cookie, base64'd, reads HISTF";
  std::string why;
  const auto back = decode_histogram(encoded, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->count(), h.count());
  ASSERT_EQ(back->counts_length(), h.counts_length());
  for (std::size_t i = 0; i < h.counts_length(); ++i) ASSERT_EQ(back->count_at_index(i), h.count_at_index(i)) << i;
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(back->value_at_percentile(p), h.value_at_percentile(p)) << p;
  // The form keeps counts per bucket, not the exact maximum: it comes back as its bucket's lowest value.
  EXPECT_EQ(back->max(), h.lowest_equivalent(h.max()));
}

TEST(HistogramEncoding, AnEmptyHistogramEncodesToo) {
  const auto back = decode_histogram(encode_histogram(LatencyHistogram{}));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->count(), 0);
}

TEST(HistogramEncoding, DamagedInputIsRefusedWithAReason) {
  LatencyHistogram h;
  for (int i = 1; i < 1000; ++i) h.record(i * 997);
  const std::string good = encode_histogram(h);
  const auto why = [](std::string_view text) {
    std::string reason;
    EXPECT_FALSE(decode_histogram(text, &reason)) << text;
    return reason;
  };
  EXPECT_EQ(why("not base64!"), "not base64");
  EXPECT_EQ(why("AAAA"), "not a compressed HdrHistogram (V2)");
  EXPECT_EQ(why(good.substr(0, good.size() - 8)), "its compressed length does not match");
  std::string flipped = good;
  flipped[40] = flipped[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(decode_histogram(flipped));
}

}  // namespace
}  // namespace aiway

namespace aiway {
namespace {

TEST(HistogramEncoding, TheSpectrumComesBackFromTheHistogramAlmostExactly) {
  LatencyHistogram h;
  std::mt19937_64 random(3);
  std::exponential_distribution<double> latency(1.0 / 40'000);
  for (int i = 0; i < 50'000; ++i) h.record(std::int64_t(latency(random)));
  const auto back = decode_histogram(encode_histogram(h));
  ASSERT_TRUE(back);
  const auto original = spectrum_lines(h), derived = spectrum_lines(*back);
  ASSERT_EQ(original.size(), derived.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i].total_count, derived[i].total_count) << i;
    EXPECT_EQ(original[i].percentile, derived[i].percentile) << i;
    // The exchange form keeps buckets: the maximum (the points at it) comes back as its
    // bucket's lowest value, within the histogram's precision; every other point exactly.
    if (original[i].value_us < original.back().value_us) EXPECT_EQ(original[i].value_us, derived[i].value_us) << i;
    else EXPECT_NEAR(original[i].value_us, derived[i].value_us, original[i].value_us * 1e-3) << i;
  }
}

}  // namespace
}  // namespace aiway

#include "aiway/input_error.hpp"
#include "aiway/scenario_file.hpp"
#include "results/pool.hpp"

namespace aiway {
namespace {

// One run of one scenario whose repetitions recorded these latencies (ns).
RunResults run_with(const std::vector<std::vector<std::int64_t>>& repetitions, const std::string& fingerprint,
                    std::uint64_t messages = 1000) {
  RunResults r;
  r.machine.fingerprint = fingerprint;
  ScenarioResult s;
  s.scenario = parse_scenario(fmt::format("name = \"x\"\n[backend]\nmessages = {}\n", messages), "x.toml");
  for (const auto& values : repetitions) {
    LatencyHistogram h;
    for (auto v : values) h.record(v);
    Repetition rep;
    rep.latency_histogram = encode_histogram(h);
    rep.metrics.set("latency_max_us", double(h.max()) / 1e3);
    s.repetitions.push_back(std::move(rep));
  }
  r.scenarios.push_back(std::move(s));
  return r;
}

TEST(MergeRuns, PercentilesComeFromTheSummedHistogramsNotFromAveragingPercentiles) {
  // One machine saw fast tokens, another slow ones: averaging their p99s would be wrong.
  std::vector<std::int64_t> fast(990, 1'000), slow(10, 9'000'000);
  const RunResults merged = merge_runs({run_with({fast}, "a"), run_with({slow, fast}, "b")}, {"a.json", "b.json"});
  ASSERT_EQ(merged.scenarios.size(), 1u);
  const auto& m = merged.scenarios[0].merged;
  ASSERT_TRUE(m);
  EXPECT_EQ(m->runs, 2u);
  EXPECT_EQ(m->repetitions, 3u);
  EXPECT_EQ(m->tokens, 1990);
  LatencyHistogram all;
  for (auto v : fast) all.record_n(v, 2);
  for (auto v : slow) all.record(v);
  EXPECT_EQ(m->p99_us, double(all.value_at_percentile(99)) / 1e3);  // 1 us: the fast tokens
  // p99.9 lies among the slow ones: 9 ms, as far as the histogram's 3 digits tell (averaging
  // the runs' p99.9s would have said 4.5 ms).
  EXPECT_NEAR(m->p999_us, double(all.value_at_percentile(99.9)) / 1e3, 9000 * 1e-3);
  EXPECT_EQ(m->max_us, 9000.0);
  EXPECT_EQ(merged.machine.fingerprint, "several machines");
}

TEST(MergeRuns, ADifferentWorkloadIsRefused) {
  try {
    merge_runs({run_with({{1}}, "a"), run_with({{1}}, "a", 2000)}, {"a.json", "b.json"});
    FAIL() << "merged two workloads";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "b.json: scenario x ran another workload than in a.json (backend.messages: 1000 vs 2000): "
                           "merge runs of one workload only");
  }
}

}  // namespace
}  // namespace aiway
