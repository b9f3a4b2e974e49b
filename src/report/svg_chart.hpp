// Small, dependency-free SVG charts for the HTML report: line/marker charts
// (linear or log axes, an optional shaded band) and bar charts. Each chart is
// one <svg> element that carries data-chart and data-marks attributes, so a
// test can tell that a chart was drawn and with how many marks.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/xml_text.hpp"

namespace aiway {

struct ChartSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::string color = "#1f77b4";
  bool dashed = false;
  bool markers = false;  // dots instead of a line
};

// A horizontal band, e.g. the baseline's min..max with its median.
struct ChartBand {
  double low = 0, high = 0, middle = 0;
  std::string label;
};

// A horizontal reference line: a threshold, a baseline level.
struct ChartRule {
  double y = 0;
  std::string label;
  std::string color = "#b00020";
};

// How an x value is shown; the log-percentile axis shows 1/(1-p) as "99 %" etc.
enum class XAxis { linear, log_percentile, categories };

struct LineChart {
  std::string id;  // data-chart
  std::string title, x_label, y_label;
  XAxis x_axis = XAxis::linear;
  std::vector<std::string> categories;  // XAxis::categories: x = 0, 1, ... names these
  std::vector<ChartSeries> series;
  std::optional<ChartBand> band;
  std::vector<ChartRule> rules;
  bool integer_x = false;  // x counts something (repetitions): ticks at whole numbers only
};

struct Bar {
  std::string label;
  double value = 0;
  std::string color = "#1f77b4";
};

std::string render_line_chart(const LineChart& chart);
std::string render_bar_chart(const std::string& id, const std::string& title, const std::string& y_label,
                             const std::vector<Bar>& bars);

}  // namespace aiway
