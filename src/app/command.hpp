// One command of the command line (run, compare, baseline, ...): it adds its
// subcommand and options to the parser, and runs when the parser chose it.
// main.cpp only binds the commands and calls the chosen one; what a command
// does lives in the modules it calls.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aiway/scenario.hpp"

namespace aiway::app {

enum Exit { kPass = 0, kFailed = 1, kInputError = 2, kRuntimeFailure = 3, kInconclusive = 4, kInterrupted = 130 };

// What every command may use besides its own options.
struct AppContext {
  std::filesystem::path scenarios_dir;
};

class Command {
 public:
  virtual ~Command() = default;
  // Adds the subcommand and its options to the command line.
  virtual void bind(CLI::App& app) = 0;
  // Whether the parsed command line chose this command.
  virtual bool chosen() const { return command_ != nullptr && command_->parsed(); }
  // The process's exit code; throws InputError for bad input (exit 2).
  virtual int run(const AppContext& context) = 0;

 protected:
  CLI::App* command_ = nullptr;  // the subcommand bind() added
};

// Every command, in the order --help lists them.
std::vector<std::unique_ptr<Command>> all_commands();

// A path option given as "" is an error, not the option left unset.
extern const CLI::Validator kPath;

// A stop request (SIGINT, SIGTERM, SIGHUP): set by the handler, read by the run.
const std::atomic<bool>& stop_requested();
void stop_on_signals();

bool use_color();
std::string utc_now();
// The scenario named or given as a file, with --set overrides applied and its stages resolved.
Scenario load_with_overrides(const std::string& name, const std::filesystem::path& dir,
                             const std::vector<std::string>& overrides);
// Each --set is one TOML value on one line, in UTF-8; throws ScenarioError naming the byte.
void check_assignments(const std::vector<std::string>& assignments);

}  // namespace aiway::app
