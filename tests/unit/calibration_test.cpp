#include "calibrate/calibration.hpp"

#include <gtest/gtest.h>

namespace aiway {
namespace {

TEST(Calibration, ScoreIsTheGeometricMeanRelativeToTheReference) {
  using R = CalibrationReference;
  EXPECT_DOUBLE_EQ(calibration_score(R::channel_tokens_per_s, R::memcpy_bytes_per_s, R::loop_ops_per_s), 1.0);
  EXPECT_NEAR(calibration_score(2 * R::channel_tokens_per_s, 2 * R::memcpy_bytes_per_s, 2 * R::loop_ops_per_s), 2.0, 1e-12);
  // One part 8x faster, the others equal: the cube root of 8.
  EXPECT_NEAR(calibration_score(8 * R::channel_tokens_per_s, R::memcpy_bytes_per_s, R::loop_ops_per_s), 2.0, 1e-12);
}

TEST(Calibration, MeasuresEveryPart) {
  const Clock clock = Clock::detect();
  const Calibration c = calibrate(clock, 0.005);  // 7 s under TSan (34 s at 0.02); every part still runs
  EXPECT_GT(c.channel_tokens_per_s, 0);
  EXPECT_GT(c.memcpy_bytes_per_s, 0);
  EXPECT_GT(c.loop_ops_per_s, 0);
  EXPECT_GT(c.raw_hop_short_tokens_per_s, 0);  // reported beside the score, not in it
  EXPECT_GT(c.raw_hop_medium_tokens_per_s, 0);
  EXPECT_DOUBLE_EQ(c.score, calibration_score(c.channel_tokens_per_s, c.memcpy_bytes_per_s, c.loop_ops_per_s));
  EXPECT_GE(c.spread, 0);
  // Linux always has /proc/stat at least: other work's share is measured, a share of the machine.
  ASSERT_TRUE(c.foreign_cpu_share.has_value());
  EXPECT_GE(*c.foreign_cpu_share, 0);
  EXPECT_LE(*c.foreign_cpu_share, 1.0 + 1e-9);
}

}  // namespace
}  // namespace aiway
