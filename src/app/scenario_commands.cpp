// The commands that read scenarios and the tool's own tables: list, show,
// validate, stages, metrics.
#include <fmt/format.h>

#include <iostream>
#include <type_traits>
#include <variant>

#include "aiway/scenario_file.hpp"
#include "aiway/stage_registry.hpp"
#include "app/commands.hpp"
#include "report/metric_docs.hpp"
#include "scenario/scenario_toml.hpp"

namespace aiway::app {
namespace {

// Every registered stage, by role, with its parameters (what `stages` prints).
void print_stages(std::ostream& out) {
  for (const StageRole role : {StageRole::backend, StageRole::conductor, StageRole::surface}) {
    out << fmt::format("{}.impl:\n", to_string(role));
    for (const StageInfo* info : stage_registry().list(role)) {
      out << fmt::format("  {:<14} {}\n", info->name, info->description);
      for (const ParamSpec& p : info->params) {
        static constexpr const char* kTypes[] = {"boolean", "integer", "number", "string"};
        const std::string value = std::visit(
            [](const auto& v) -> std::string {
              using T = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
              else if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", v);
              else return fmt::format("{}", v);
            },
            p.default_value);
        const std::string range = p.min == p.max ? "" : fmt::format(", {} to {}", p.min, p.max);
        out << fmt::format("    {}.params.{} ({}{}, default {}): {}\n", to_string(role), p.name,
                           kTypes[int(p.type)], range, value, p.description);
      }
    }
  }
}

class ListCommand final : public Command {
 public:
  void bind(CLI::App& app) override { command_ = app.add_subcommand("list", "List the scenarios with one-line descriptions"); }
  int run(const AppContext& context) override {
    for (const auto& e : list_scenarios(context.scenarios_dir)) std::cout << fmt::format("{:<18} {}\n", e.name, e.description);
    return kPass;
  }
};

class MetricsCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("metrics", "Print the metric table (name, unit, direction, default threshold, meaning) as Markdown");
  }
  int run(const AppContext&) override {
    std::cout << metric_table_markdown();
    return kPass;
  }
};

class StagesCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("stages", "List the stage implementations this binary has, with their parameters");
  }
  int run(const AppContext&) override {
    print_stages(std::cout);
    return kPass;
  }
};

class ShowCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("show", "Print a scenario fully resolved (every default filled in)");
    command_->add_option("scenario", name_, "Scenario name or file")->required();
    command_->add_option("--set", sets_, "Override a field: SECTION.KEY=VALUE (repeatable)");
  }
  int run(const AppContext& context) override {
    check_assignments(sets_);
    std::cout << scenario_to_toml(load_with_overrides(name_, context.scenarios_dir, sets_));
    return kPass;
  }

 private:
  std::string name_;
  std::vector<std::string> sets_;
};

class ValidateCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("validate", "Check a scenario file; exit 0 when valid, 2 with the error otherwise");
    command_->add_option("file", file_, "Scenario name or file")->required();
  }
  int run(const AppContext& context) override {
    const Scenario s = load_with_overrides(file_, context.scenarios_dir, {});
    std::cout << fmt::format("{}: valid scenario \"{}\"\n", file_, s.name);
    return kPass;
  }

 private:
  std::string file_;
};

}  // namespace

std::unique_ptr<Command> make_list_command() { return std::make_unique<ListCommand>(); }
std::unique_ptr<Command> make_metrics_command() { return std::make_unique<MetricsCommand>(); }
std::unique_ptr<Command> make_stages_command() { return std::make_unique<StagesCommand>(); }
std::unique_ptr<Command> make_show_command() { return std::make_unique<ShowCommand>(); }
std::unique_ptr<Command> make_validate_command() { return std::make_unique<ValidateCommand>(); }

}  // namespace aiway::app
