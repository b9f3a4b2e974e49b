#include "compare/series.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace aiway {
namespace {

// Continued fraction of the regularized incomplete beta (Lentz's method).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

double variance_of(const std::vector<double>& v, double mean) {
  double sum = 0;
  for (double x : v) sum += (x - mean) * (x - mean);
  return v.size() > 1 ? sum / double(v.size() - 1) : 0;
}

// The E-Divisive split of x[lo, hi): the index maximising the energy
// statistic between the two sides (alpha = 1), in O(n^2).
std::size_t best_split(const std::vector<double>& x, std::size_t lo, std::size_t hi, std::size_t min_size, double& best_q) {
  const std::size_t n = hi - lo;
  auto dist = [&](std::size_t i, std::size_t j) { return std::fabs(x[lo + i] - x[lo + j]); };
  // Start with everything on the right, then move elements left one by one.
  double within_left = 0, within_right = 0, between = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) within_right += dist(i, j);
  std::size_t best = 0;
  best_q = -INFINITY;
  for (std::size_t k = 0; k + 1 < n; ++k) {  // move k to the left: the split is then at k + 1
    double to_left = 0, to_right = 0;
    for (std::size_t i = 0; i < k; ++i) to_left += dist(i, k);
    for (std::size_t j = k + 1; j < n; ++j) to_right += dist(k, j);
    within_left += to_left;
    between += to_right - to_left;
    within_right -= to_right;
    const double tau = double(k + 1), rest = double(n - k - 1);
    if (k + 1 < min_size || n - k - 1 < min_size) continue;
    const double pairs_left = tau * (tau - 1) / 2, pairs_right = rest * (rest - 1) / 2;
    const double e = 2 * between / (tau * rest) - (pairs_left > 0 ? within_left / pairs_left : 0) -
                     (pairs_right > 0 ? within_right / pairs_right : 0);
    const double q = tau * rest / double(n) * e;
    if (q > best_q) {
      best_q = q;
      best = k + 1;
    }
  }
  return lo + best;
}

void split(const std::vector<double>& x, std::size_t lo, std::size_t hi, double p_threshold, std::size_t min_size,
           std::vector<ChangePoint>& out) {
  if (hi - lo < 2 * min_size) return;
  double q = 0;
  const std::size_t at = best_split(x, lo, hi, min_size, q);
  if (at <= lo || at >= hi) return;
  const std::vector<double> left(x.begin() + std::ptrdiff_t(lo), x.begin() + std::ptrdiff_t(at));
  const std::vector<double> right(x.begin() + std::ptrdiff_t(at), x.begin() + std::ptrdiff_t(hi));
  const WelchResult w = welch_t_test(left, right);
  // The split was chosen as the best of every candidate: a t-test of the
  // chosen split alone is anti-conservative (2 false changes in 50 noise
  // series at a nominal 0.001), so its p is multiplied by the candidates.
  const double candidates = double(hi - lo - 2 * min_size + 1);
  const double p = std::min(1.0, w.p_value * candidates);
  if (!(p < p_threshold)) return;
  out.push_back({at, p, mean_of(left), mean_of(right)});
  split(x, lo, at, p_threshold, min_size, out);
  split(x, at, hi, p_threshold, min_size, out);
}

}  // namespace

double student_t_sf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return NAN;
  if (std::isinf(t)) return t > 0 ? 0 : 1;
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t > 0 ? tail : 1 - tail;
}

WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  WelchResult r;
  if (a.size() < 2 || b.size() < 2) return r;
  const double ma = mean_of(a), mb = mean_of(b);
  const double va = variance_of(a, ma) / double(a.size()), vb = variance_of(b, mb) / double(b.size());
  if (va + vb == 0) {
    r.p_value = ma == mb ? 1 : 0;  // no noise at all: any difference is certain
    r.t = ma == mb ? 0 : (ma > mb ? INFINITY : -INFINITY);
    return r;
  }
  r.t = (ma - mb) / std::sqrt(va + vb);
  r.df = (va + vb) * (va + vb) / (va * va / double(a.size() - 1) + vb * vb / double(b.size() - 1));
  r.p_value = std::min(1.0, 2 * student_t_sf(std::fabs(r.t), r.df));
  return r;
}

PredictionTest prediction_test(const std::vector<double>& sample, double x, bool higher_is_worse) {
  PredictionTest r;
  if (sample.size() < 2) return r;
  r.mean = mean_of(sample);
  r.sd = std::sqrt(variance_of(sample, r.mean));
  const double worse_by = higher_is_worse ? x - r.mean : r.mean - x;
  if (r.sd == 0) {
    r.t = worse_by > 0 ? INFINITY : worse_by < 0 ? -INFINITY : 0;
    r.p_value = worse_by > 0 ? 0 : 1;
    return r;
  }
  r.t = worse_by / (r.sd * std::sqrt(1 + 1 / double(sample.size())));
  r.p_value = student_t_sf(r.t, double(sample.size() - 1));
  return r;
}

std::vector<ChangePoint> change_points(const std::vector<double>& series, double p_threshold, std::size_t min_size) {
  std::vector<ChangePoint> out;
  split(series, 0, series.size(), p_threshold, std::max<std::size_t>(min_size, 2), out);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

std::vector<ChangePoint> count_steps(const std::vector<double>& series, double threshold) {
  std::vector<std::size_t> starts = {0};
  for (std::size_t i = 1; i < series.size(); ++i)
    if (series[i - 1] != 0 ? std::fabs(series[i] / series[i - 1] - 1) > threshold : series[i] != 0) starts.push_back(i);
  starts.push_back(series.size());
  const auto mean_of = [&](std::size_t from, std::size_t to) {
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) sum += series[i];
    return sum / double(to - from);
  };
  std::vector<ChangePoint> out;
  for (std::size_t k = 1; k + 1 < starts.size(); ++k)
    out.push_back({starts[k], 0, mean_of(starts[k - 1], starts[k]), mean_of(starts[k], starts[k + 1])});
  return out;
}

}  // namespace aiway
