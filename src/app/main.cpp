// aiway-stress's command line: binds each command's options and runs the one
// chosen; every command is a file of its own under app/, and what it does
// lives in the modules it calls.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "aiway/input_error.hpp"
#include "aiway/stage_registry.hpp"
#include "app/commands.hpp"
#include "run/worker_processes.hpp"
#include "scenario/spelling.hpp"

namespace aiway::app {
namespace {

std::filesystem::path default_scenarios_dir(const char* package_dir) {
  if (const char* env = std::getenv("AIWAY_SCENARIOS_DIR")) return env;
  if (std::filesystem::is_directory("scenarios")) return "scenarios";
  if (package_dir) return package_dir;  // an installed package's scenarios
  return AIWAY_SOURCE_SCENARIOS_DIR;  // the checkout this binary was built from
}

// "unknown command \"runn\"; did you mean \"run\"?" when the first word that
// is not an option is no command's name but close to one; else "".
std::string mistyped_command(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.rfind('-', 0) == 0) {
      i += word == "--scenarios-dir";  // its value is not a command
      continue;
    }
    if (std::find(names.begin(), names.end(), word) != names.end()) return "";
    const std::string suggestion = did_you_mean(word, names);
    return suggestion.empty() ? "" : fmt::format("unknown command \"{}\"{}", word, suggestion);
  }
  return "";
}

int dispatch(int argc, char** argv, const char* package_scenarios_dir) {
  CLI::App app{"aiway-stress: stress benchmarks for token-streaming pipelines"};
  app.set_version_flag("--version", std::string(AIWAY_VERSION));
  app.require_subcommand(1);
  std::string scenarios_dir = default_scenarios_dir(package_scenarios_dir).string();
  app.add_option("--scenarios-dir", scenarios_dir, "Folder of scenario files (default: ./scenarios, $AIWAY_SCENARIOS_DIR)")
      ->check(CLI::ExistingDirectory);
  const std::vector<std::unique_ptr<Command>> commands = all_commands();
  for (const auto& command : commands) command->bind(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string mistyped = mistyped_command(app, argc, argv);
    std::cerr << "aiway-stress: " << (mistyped.empty() ? std::string(e.what()) : mistyped) << " (see --help)\n";
    return kInputError;
  }
  const AppContext context{scenarios_dir};
  try {
    for (const auto& command : commands)
      if (command->chosen()) return command->run(context);
  } catch (const InputError& e) {  // scenario, override, results file, output path
    std::cerr << "aiway-stress: " << e.what() << "\n";
    return kInputError;
  } catch (const std::exception& e) {
    std::cerr << "aiway-stress: internal error: " << e.what() << "\n";
    return kRuntimeFailure;
  }
  return kInputError;
}

}  // namespace

std::vector<std::unique_ptr<Command>> all_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  for (auto make : {make_list_command, make_metrics_command, make_stages_command, make_show_command, make_validate_command,
                    make_run_command, make_compare_command, make_compare_machines_command, make_calibrate_command, make_report_command,
                    make_baseline_command, make_ab_command, make_merge_command, make_history_command,
                    make_conductor_command})
    commands.push_back(make());
  return commands;
}

}  // namespace aiway::app

int aiway::stress_main(int argc, char** argv, const char* scenarios_dir) {
  // A closed standard output (| head) is reported as a write error, never a
  // silent death by SIGPIPE that skips the files still to be written.
  std::signal(SIGPIPE, SIG_IGN);
  bind_to_parent();
  const int code = app::dispatch(argc, argv, scenarios_dir);
  std::cout.flush();
  if (std::cout.fail())
    std::cerr << "aiway-stress: standard output was closed before everything was printed (broken pipe); files named "
                 "with --out options were written first\n";
  return code;
}
