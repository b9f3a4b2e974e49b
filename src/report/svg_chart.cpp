#include "report/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aiway {
namespace {

constexpr double kWidth = 640, kHeight = 300;
constexpr double kLeft = 70, kRight = 20, kTop = 34, kBottom = 48;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

// 1, 2, 5 times a power of ten: tick steps people read easily.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

// A number as a bar's label: three significant digits, never an exponent.
std::string short_number(double v) {
  const double a = std::fabs(v);
  const auto digits = [](double x) { return x >= 100 ? 0 : x >= 10 ? 1 : 2; };
  if (a >= 1e9) return fmt::format("{:.{}f}G", v / 1e9, digits(a / 1e9));
  if (a >= 1e6) return fmt::format("{:.{}f}M", v / 1e6, digits(a / 1e6));
  if (a >= 1e3) return fmt::format("{:.{}f}k", v / 1e3, digits(a / 1e3));
  if (a == 0) return "0";
  return fmt::format("{:.{}f}", v, a >= 1 ? digits(a) : std::min(9, 2 - int(std::floor(std::log10(a)))));
}

// A tick's label, as precise as the step between ticks and no more: two
// ticks never read the same, and no label has an exponent.
std::string tick_label(double v, double step, double largest) {
  const double a = std::fabs(largest);
  const double scale = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : a >= 1e3 ? 1e3 : 1;
  const char* suffix = scale == 1e9 ? "G" : scale == 1e6 ? "M" : scale == 1e3 ? "k" : "";
  const int decimals = std::clamp(int(std::ceil(-std::log10(step / scale) - 1e-9)), 0, 9);
  if (std::fabs(v) < step / 2) return "0";  // not "-0", nor "0M"
  return fmt::format("{:.{}f}{}", v / scale, decimals, suffix);
}

std::string percentile_label(double inverse) {  // inverse = 1 / (1 - p)
  const double p = 100.0 * (1.0 - 1.0 / inverse);
  return p < 99.99 ? fmt::format("{:g} %", std::round(p * 1000) / 1000) : fmt::format("{:.4g} %", p);
}

std::string header(const std::string& id, const std::string& title, std::size_t marks) {
  return fmt::format(
      "<svg class=\"chart\" data-chart=\"{}\" data-marks=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">"
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
      "<text x=\"{}\" y=\"20\" class=\"title\">{}</text>",
      escape_xml(id), marks, kWidth, kHeight, kWidth, kHeight, escape_xml(title), kLeft, escape_xml(title));
}

}  // namespace


std::string render_line_chart(const LineChart& chart) {
  const bool log_x = chart.x_axis == XAxis::log_percentile;
  auto tx = [&](double x) { return log_x ? std::log10(std::max(x, 1.0)) : x; };
  double x0 = INFINITY, x1 = -INFINITY, y1 = 0;
  std::size_t marks = 0;
  for (const auto& s : chart.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, tx(x));
      x1 = std::max(x1, tx(x));
      y1 = std::max(y1, y);
      ++marks;
    }
  if (chart.band) y1 = std::max(y1, chart.band->high);
  for (const auto& rule : chart.rules) y1 = std::max(y1, rule.y);
  if (chart.x_axis == XAxis::categories) {
    x0 = -0.5;
    x1 = double(chart.categories.size()) - 0.5;
  }
  if (!(x1 > x0)) {  // one point, or none: give the axis some width
    x0 = std::isfinite(x0) ? x0 - 1 : 0;
    x1 = x0 + 2;
  }
  if (log_x) x1 = std::ceil(x1);
  const bool any_markers = std::any_of(chart.series.begin(), chart.series.end(), [](const auto& s) { return s.markers; });
  if (any_markers && chart.x_axis == XAxis::linear) {  // dots at the ends would be cut in half
    const double pad = (x1 - x0) * 0.05;
    x0 -= pad;
    x1 += pad;
  }
  const double y_step = nice_step(y1 > 0 ? y1 : 1, 5);
  const double y_top = std::ceil((y1 > 0 ? y1 : 1) / y_step) * y_step;
  auto px = [&](double x) { return kLeft + (tx(x) - x0) / (x1 - x0) * kPlotW; };
  auto px_raw = [&](double t) { return kLeft + (t - x0) / (x1 - x0) * kPlotW; };
  auto py = [&](double y) { return kTop + kPlotH - y / y_top * kPlotH; };

  std::string svg = header(chart.id, chart.title, marks);
  // Grid, y ticks.
  for (double y = 0; y <= y_top + y_step / 2; y += y_step)
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                       kLeft, kLeft + kPlotW, py(y), py(y), kLeft - 6, py(y) + 4, tick_label(y, y_step, y_top));
  // X ticks.
  if (log_x) {
    for (double t = 0; t <= x1 + 1e-9; t += 1)
      svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" class=\"grid\"/>"
                         "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"tick\" text-anchor=\"middle\">{4}</text>",
                         px_raw(t), kTop, kTop + kPlotH, kTop + kPlotH + 16, percentile_label(std::pow(10.0, t)));
  } else if (chart.x_axis == XAxis::categories) {
    for (std::size_t i = 0; i < chart.categories.size(); ++i)
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>", px_raw(double(i)),
                         kTop + kPlotH + 16, escape_xml(chart.categories[i]));
  } else {
    double step = nice_step(x1 - x0, 6);
    if (chart.integer_x) step = std::max(1.0, std::round(step));
    for (double x = std::ceil(x0 / step) * step; x <= x1 + step / 1e6; x += step)
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>", px_raw(x),
                         kTop + kPlotH + 16, tick_label(x, step, std::max(std::fabs(x0), std::fabs(x1))));
  }
  svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"axis\"/>", kLeft, kLeft + kPlotW, kTop + kPlotH);
  svg += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" class=\"axis\"/>", kLeft, kTop, kTop + kPlotH);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\" text-anchor=\"middle\">{}</text>", kLeft + kPlotW / 2,
                     kHeight - 8, escape_xml(chart.x_label));
  svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" class=\"label\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">{}</text>",
                     kTop + kPlotH / 2, kTop + kPlotH / 2, escape_xml(chart.y_label));
  if (chart.band) {
    const auto& b = *chart.band;
    svg += fmt::format("<rect class=\"band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>"
                       "<line class=\"band-middle\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>",
                       kLeft, py(b.high), kPlotW, std::max(1.0, py(b.low) - py(b.high)), kLeft, kLeft + kPlotW, py(b.middle),
                       py(b.middle));
  }
  for (const auto& rule : chart.rules)
    svg += fmt::format("<line class=\"rule\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
                       "stroke-dasharray=\"3 3\"/><text x=\"{:.1f}\" y=\"{:.1f}\" class=\"legend\" text-anchor=\"end\" "
                       "fill=\"{}\">{}</text>",
                       kLeft, kLeft + kPlotW, py(rule.y), py(rule.y), rule.color, kLeft + kPlotW - 4, py(rule.y) - 4,
                       rule.color, escape_xml(rule.label));
  // Series and the legend.
  double legend_x = kLeft + 8;
  for (const auto& s : chart.series) {
    std::string path;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (s.markers) {
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>", px(x), py(y), s.color);
      } else {
        path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", px(x), py(y));
      }
    }
    if (!path.empty())
      svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>", path, s.color,
                         s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    if (!s.label.empty()) {
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"4\" fill=\"{}\"/>"
                         "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"legend\">{}</text>",
                         legend_x, kTop + 4, s.color, legend_x + 16, kTop + 9, escape_xml(s.label));
      legend_x += 26 + 7.0 * double(s.label.size());
    }
  }
  if (chart.band && !chart.band->label.empty())
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"8\" class=\"band\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"legend\">{}</text>",
                       legend_x, kTop + 2, legend_x + 16, kTop + 9, escape_xml(chart.band->label));
  return svg + "</svg>";
}

std::string render_bar_chart(const std::string& id, const std::string& title, const std::string& y_label,
                             const std::vector<Bar>& bars) {
  double top = 0;
  for (const auto& b : bars) top = std::max(top, b.value);
  const double step = nice_step(top > 0 ? top : 1, 5);
  const double y_top = std::ceil((top > 0 ? top : 1) / step) * step;
  auto py = [&](double y) { return kTop + kPlotH - y / y_top * kPlotH; };
  std::string svg = header(id, title, bars.size());
  for (double y = 0; y <= y_top + step / 2; y += step)
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                       kLeft, kLeft + kPlotW, py(y), py(y), kLeft - 6, py(y) + 4, tick_label(y, step, y_top));
  const double slot = kPlotW / double(std::max<std::size_t>(1, bars.size()));
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double x = kLeft + slot * double(i) + slot * 0.2;
    const double h = std::max(1.0, kTop + kPlotH - py(bars[i].value));  // a zero still shows as a hairline
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                       x, kTop + kPlotH - h, slot * 0.6, h, bars[i].color, x + slot * 0.3, kTop + kPlotH + 16,
                       escape_xml(bars[i].label), x + slot * 0.3, kTop + kPlotH - h - 4, short_number(bars[i].value));
  }
  svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"axis\"/>", kLeft, kLeft + kPlotW, kTop + kPlotH);
  svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" class=\"label\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1f})\">{}</text>",
                     kTop + kPlotH / 2, kTop + kPlotH / 2, escape_xml(y_label));
  return svg + "</svg>";
}

}  // namespace aiway
