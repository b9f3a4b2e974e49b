// Statistics over a series of runs (the nightly history): Student's t
// distribution, Welch's t-test, a one-sided prediction interval for the next
// run, and change points by E-Divisive means with a t-test significance step
// (Matteson & James 2014, as Apache Otava / MongoDB's Hunter apply it).
#pragma once

#include <cstddef>
#include <vector>

namespace aiway {

// P(T > t) for Student's t with `df` degrees of freedom (df > 0, real).
double student_t_sf(double t, double df);

struct WelchResult {
  double t = 0, df = 0;
  double p_value = 1;  // two-sided
};
// Welch's unequal-variances t-test of mean(a) vs mean(b); each needs >= 2 values.
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

// How far `x` lies beyond a sample's prediction interval for one new
// observation: t = (x - mean) / (sd * sqrt(1 + 1/n)), df = n - 1, and the
// one-sided p that a new observation would be at least that far above
// (higher_is_worse) or below. Needs n >= 2; a sample without spread gives p 0
// or 1 by which side x falls.
struct PredictionTest {
  double mean = 0, sd = 0, t = 0;
  double p_value = 1;
};
PredictionTest prediction_test(const std::vector<double>& sample, double x, bool higher_is_worse);

// Change points of a series: indices i where the values from i on differ from
// those before (the first index of each new segment), ascending. A split is
// the E-Divisive maximiser of the series (or of a segment), kept when a Welch
// t-test of the two sides, Bonferroni-corrected for the number of candidate
// splits it was chosen from, gives p < p_threshold; then each side is
// searched again. Segments shorter than min_size are never split off.
struct ChangePoint {
  std::size_t index = 0;
  double p_value = 1;
  double mean_before = 0, mean_after = 0;  // of the adjacent segments
};
std::vector<ChangePoint> change_points(const std::vector<double>& series, double p_threshold = 0.001,
                                       std::size_t min_size = 3);

// Change points of a series of counts of work (instructions per token), which
// repeat run to run to far better than 0.1 %: every index whose value differs
// from the one before by more than `threshold` (relative), even the last run
// alone. No chance is involved: p_value 0.
std::vector<ChangePoint> count_steps(const std::vector<double>& series, double threshold);

}  // namespace aiway
