// compare-machines BASE NEW: two machines' runs of the same scenarios, each
// difference attributed to the machine or to the software.
#include <fmt/format.h>

#include <iostream>

#include "app/commands.hpp"
#include "files/output_file.hpp"
#include "report/machines_report.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

class CompareMachinesCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("compare-machines",
                                  "Two machines' results of the same scenarios: time against counted work per "
                                  "scenario, each difference attributed to the machine or to the software");
    command_->add_option("base", base_, "Results file of one machine (run --count-instructions)")->check(kPath)->required();
    command_->add_option("new", new_, "Results file of the other")->check(kPath)->required();
    command_->add_option("--html", html_, "Also write the view as an HTML page here (atomically)")->check(kPath);
  }
  int run(const AppContext&) override {
    if (!html_.empty()) check_outputs({{"--html", html_}}, {base_, new_});
    const MachinesView view = machines_view(load_results_file(base_), load_results_file(new_));
    print_machines(view, std::cout);
    if (!html_.empty()) {
      write_file_atomically(html_, machines_html(view));
      std::cerr << fmt::format("compare-machines written to {}\n", html_);
    }
    return kPass;
  }

 private:
  std::string base_, new_, html_;
};

}  // namespace

std::unique_ptr<Command> make_compare_machines_command() { return std::make_unique<CompareMachinesCommand>(); }

}  // namespace aiway::app
