// report: a results file (and a baseline) as a self-contained HTML page.
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "app/commands.hpp"
#include "app/compare_options.hpp"
#include "files/output_file.hpp"
#include "report/html_report.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

class ReportCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("report", "Render a results file as a self-contained HTML page with SVG charts");
    command_->add_option("results", file_, "Results file (from run --out)")->check(kPath)->required();
    command_->add_option("--baseline", baseline_, "Overlay and compare with this baseline (results file)")->check(kPath);
    command_->add_option("--html", html_, "The HTML file to write (atomically)")->check(kPath)->required();
    add_compare_options(command_, compare_, false);
  }
  int run(const AppContext&) override {
    check_outputs({{"--html", html_}}, {file_, baseline_});
    const RunResults results = load_results_file(file_);
    std::optional<RunResults> base;
    std::optional<Comparison> comparison;
    if (!baseline_.empty()) {
      base = load_results_file(baseline_);
      comparison = compare_results(*base, results, policies_with(compare_.thresholds), compare_.options);
    }
    write_file_atomically(html_, html_report(results, base ? &*base : nullptr, comparison ? &*comparison : nullptr));
    std::cerr << fmt::format("report written to {}\n", html_);
    return kPass;
  }

 private:
  std::string file_, baseline_, html_;
  CompareArgs compare_;
};

}  // namespace

std::unique_ptr<Command> make_report_command() { return std::make_unique<ReportCommand>(); }

}  // namespace aiway::app
