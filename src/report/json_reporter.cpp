#include "report/reporter.hpp"
#include "results/results_json.hpp"

namespace aiway {

namespace {
class JsonReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override { out << results_json_text(results); }
};
}  // namespace

std::unique_ptr<Reporter> make_json_reporter() { return std::make_unique<JsonReporter>(); }

std::unique_ptr<Reporter> make_file_reporter(const std::string& format) {
  if (format == "markdown") return make_markdown_reporter();
  if (format == "junit") return make_junit_reporter();
  if (format == "gbench") return make_gbench_reporter();
  if (format == "bmf") return make_bmf_reporter();
  if (format == "openmetrics") return make_openmetrics_reporter();
  if (format == "hlog") return make_hlog_reporter();
  return make_json_reporter();
}

}  // namespace aiway
