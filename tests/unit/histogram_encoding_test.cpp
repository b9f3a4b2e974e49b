// HdrHistogram's exchange form: every count survives encode and decode, and
// damaged input is refused with a reason, never read past its end. (That the
// form is HdrHistogram's own is checked against hdr-histogram-js in
// tests/hlog/.)
#include "measure/histogram_encoding.hpp"

#include <gtest/gtest.h>

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
