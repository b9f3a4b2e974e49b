// Two-sided Mann–Whitney U test: exact distribution for small samples
// without ties, normal approximation with tie and continuity correction
// otherwise (as scipy.stats.mannwhitneyu does).
#pragma once

#include <cstddef>
#include <vector>

namespace aiway {

struct MannWhitneyResult {
  double u = 0;        // U of the first sample: pairs (x > y) + half the ties
  double p_value = 1;  // two-sided
  bool exact = false;
};

MannWhitneyResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y);

// The smallest two-sided p the exact test can give for these sample sizes: when
// it is above alpha, no difference can ever be significant.
double smallest_possible_p(std::size_t n1, std::size_t n2);

// Holm's step-down adjustment of a family of p-values (same order as given):
// rejecting every adjusted p < alpha keeps the chance of any false rejection
// in the family at or below alpha, whatever the dependence between the tests.
std::vector<double> holm_adjust(const std::vector<double>& p_values);

}  // namespace aiway
