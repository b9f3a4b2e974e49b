// compare BASE NEW: the gate over two results files.
#include "app/commands.hpp"
#include "app/compare_options.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

class CompareCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("compare", "Compare two results files: verdict per scenario and metric");
    command_->add_option("base", base_, "Base (e.g. a baseline) results file")->check(kPath)->required();
    command_->add_option("new", new_, "New results file")->check(kPath)->required();
    command_->add_option("--format", args_.format, "console, markdown or json")->check(CLI::IsMember({"console", "markdown", "json"}));
    add_compare_options(command_, args_, true);
    command_->add_flag("-q,--quiet", args_.quiet, "Print the verdict line only");
  }
  int run(const AppContext&) override { return gate(load_results_file(base_), load_results_file(new_), args_); }

 private:
  std::string base_, new_;
  CompareArgs args_;
};

}  // namespace

std::unique_ptr<Command> make_compare_command() { return std::make_unique<CompareCommand>(); }

}  // namespace aiway::app
