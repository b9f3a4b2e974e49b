#include "compare/mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace aiway {
namespace {

constexpr std::size_t kExactLimit = 50;  // per sample; above it the DP grows and the approximation is good

// counts[u] = number of orderings of n1 x's and n2 y's whose U equals u.
std::vector<double> u_distribution(std::size_t n1, std::size_t n2) {
  // f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u): the largest element is an x
  // (beating all j y's) or a y. Rolled over i with a table per j.
  std::vector<std::vector<double>> prev(n2 + 1, std::vector<double>(1, 1.0));  // i = 0: only u = 0
  for (std::size_t i = 1; i <= n1; ++i) {
    std::vector<std::vector<double>> cur(n2 + 1);
    cur[0] = {1.0};  // j = 0: only u = 0
    for (std::size_t j = 1; j <= n2; ++j) {
      std::vector<double> f(i * j + 1, 0.0);
      for (std::size_t u = 0; u < prev[j].size(); ++u) f[u + j] += prev[j][u];
      for (std::size_t u = 0; u < cur[j - 1].size(); ++u) f[u] += cur[j - 1][u];
      cur[j] = std::move(f);
    }
    prev = std::move(cur);
  }
  return prev[n2];
}

}  // namespace

double smallest_one_sided_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  double orderings = 1;  // C(n1 + n2, n1)
  for (std::size_t k = 1; k <= n1; ++k) orderings = orderings * double(n2 + k) / double(k);
  return std::min(1.0, 1.0 / orderings);
}

double smallest_possible_p(std::size_t n1, std::size_t n2) { return std::min(1.0, 2.0 * smallest_one_sided_p(n1, n2)); }

MannWhitneyResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y) {
  MannWhitneyResult r;
  const std::size_t n1 = x.size(), n2 = y.size();
  if (n1 == 0 || n2 == 0) return r;
  bool ties = false;
  for (double a : x)
    for (double b : y) {
      if (a > b) r.u += 1;
      else if (a == b) {
        r.u += 0.5;
        ties = true;
      }
    }
  std::vector<double> all(x);
  all.insert(all.end(), y.begin(), y.end());
  std::map<double, std::size_t> groups;
  for (double v : all) ++groups[v];
  for (const auto& [value, count] : groups) ties |= count > 1;

  const double mean = double(n1 * n2) / 2.0;
  if (!ties && n1 <= kExactLimit && n2 <= kExactLimit) {
    const std::vector<double> counts = u_distribution(n1, n2);
    double total = 0, at_most = 0, at_least = 0;
    const auto u = std::size_t(r.u);
    for (std::size_t k = 0; k < counts.size(); ++k) {
      total += counts[k];
      if (k <= u) at_most += counts[k];
      if (k >= u) at_least += counts[k];
    }
    r.p_value = std::min(1.0, 2.0 * std::min(at_most, at_least) / total);
    r.p_greater = at_least / total;
    r.p_less = at_most / total;
    r.exact = true;
    return r;
  }
  const double n = double(n1 + n2);
  double tie_term = 0;
  for (const auto& [value, count] : groups) tie_term += double(count) * double(count) * double(count) - double(count);
  const double variance = double(n1 * n2) / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return r;  // every value equal: no evidence of any difference
  const double sd = std::sqrt(variance);
  const double z = (std::fabs(r.u - mean) - 0.5) / sd;
  r.p_value = std::min(1.0, std::erfc(std::max(z, 0.0) / std::sqrt(2.0)));
  // One-sided, continuity-corrected towards the null: P(U >= u) and P(U <= u).
  r.p_greater = std::min(1.0, 0.5 * std::erfc((r.u - mean - 0.5) / sd / std::sqrt(2.0)));
  r.p_less = std::min(1.0, 0.5 * std::erfc((mean - r.u - 0.5) / sd / std::sqrt(2.0)));
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p_values) {
  const std::size_t m = p_values.size();
  std::vector<std::size_t> order(m);
  for (std::size_t i = 0; i < m; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running = 0;  // adjusted p-values never decrease along the sorted order
  for (std::size_t rank = 0; rank < m; ++rank) {
    running = std::max(running, std::min(1.0, double(m - rank) * p_values[order[rank]]));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

std::vector<double> benjamini_hochberg_adjust(const std::vector<double>& p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  for (std::size_t i = 0; i < m; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 1;
  for (std::size_t rank = m; rank-- > 0;) {
    running = std::min(running, std::min(1.0, p[order[rank]] * double(m) / double(rank + 1)));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

}  // namespace aiway
