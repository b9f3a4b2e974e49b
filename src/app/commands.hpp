// The commands, one file each under app/; all_commands() lists them.
#pragma once

#include <memory>

#include "app/command.hpp"

namespace aiway::app {

std::unique_ptr<Command> make_list_command();
std::unique_ptr<Command> make_metrics_command();
std::unique_ptr<Command> make_stages_command();
std::unique_ptr<Command> make_show_command();
std::unique_ptr<Command> make_validate_command();
std::unique_ptr<Command> make_run_command();
std::unique_ptr<Command> make_compare_command();
std::unique_ptr<Command> make_compare_machines_command();
std::unique_ptr<Command> make_calibrate_command();
std::unique_ptr<Command> make_report_command();
std::unique_ptr<Command> make_baseline_command();
std::unique_ptr<Command> make_ab_command();
std::unique_ptr<Command> make_merge_command();
std::unique_ptr<Command> make_history_command();
std::unique_ptr<Command> make_conductor_command();

}  // namespace aiway::app
