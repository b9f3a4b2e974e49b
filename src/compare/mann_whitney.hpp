// Mann–Whitney U test: exact distribution for small samples without ties,
// normal approximation with tie and continuity correction otherwise (as
// scipy.stats.mannwhitneyu does), two-sided and both one-sided alternatives.
#pragma once

#include <cstddef>
#include <vector>

namespace aiway {

struct MannWhitneyResult {
  double u = 0;        // U of the first sample: pairs (x > y) + half the ties
  double p_value = 1;  // two-sided
  double p_greater = 1;  // one-sided: x tends to be larger than y (scipy's alternative='greater')
  double p_less = 1;     // one-sided: x tends to be smaller than y
  bool exact = false;
};

MannWhitneyResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y);

// The smallest two-sided p the exact test can give for these sample sizes: when
// it is above alpha, no difference can ever be significant.
double smallest_possible_p(std::size_t n1, std::size_t n2);
// The same for a one-sided test: 1 / C(n1 + n2, n1).
double smallest_one_sided_p(std::size_t n1, std::size_t n2);

// Holm's step-down adjustment of a family of p-values (same order as given):
// rejecting every adjusted p < alpha keeps the chance of any false rejection
// in the family at or below alpha, whatever the dependence between the tests.
std::vector<double> holm_adjust(const std::vector<double>& p_values);

// Benjamini–Hochberg step-up adjustment (same order as given): rejecting every
// adjusted p < q keeps the expected share of false discoveries at or below q
// (for independent or positively dependent tests). For advisory metrics.
std::vector<double> benjamini_hochberg_adjust(const std::vector<double>& p_values);

}  // namespace aiway
