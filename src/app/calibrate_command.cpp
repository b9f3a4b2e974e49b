// calibrate: the machine's score, or (--raw-hop) one raw hop's rate, which
// the model target's measure.raw_hop asks of a process of its own.
#include <fmt/format.h>

#include <iostream>

#include "app/commands.hpp"
#include "calibrate/calibration.hpp"
#include "measure/clock.hpp"
#include "report/calibration_report.hpp"

namespace aiway::app {
namespace {

class CalibrateCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("calibrate", "Score this machine on a short fixed workload (a few seconds)");
    command_->add_option("--format", format_, "console or json")->check(CLI::IsMember({"console", "json"}));
    auto* raw_hop = command_->add_option("--raw-hop", raw_hop_size_, "Only time one raw moodycamel hop of tokens of this many bytes")
                        ->check(CLI::Range(1u, 1'048'576u));
    command_->add_option("--tokens", raw_hop_tokens_, "Tokens for --raw-hop (default 1,000,000)")
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(100'000'000)))
        ->needs(raw_hop);
  }
  int run(const AppContext&) override {
    if (raw_hop_size_ > 0) {
      const double rate = warm_raw_hop_rate(raw_hop_tokens_, raw_hop_size_);
      std::cout << (format_ == "json" ? fmt::format("{{\"raw_hop_tokens_per_s\": {}}}\n", rate)
                                      : fmt::format("raw hop: {:.3f} M tokens/s of {} bytes\n", rate / 1e6, raw_hop_size_));
      return kPass;
    }
    const Clock clock = Clock::detect();
    print_calibration(calibrate(clock), format_, std::cout);
    return kPass;
  }

 private:
  std::string format_ = "console";
  std::uint32_t raw_hop_size_ = 0;
  std::uint64_t raw_hop_tokens_ = 1'000'000;
};

}  // namespace

std::unique_ptr<Command> make_calibrate_command() { return std::make_unique<CalibrateCommand>(); }

}  // namespace aiway::app
