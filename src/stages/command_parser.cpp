#include "stages/command_parser.hpp"

#include <algorithm>
#include <array>

namespace aiway {
namespace {

std::size_t count_words(std::string_view s) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ';
    words += !space && !in_word;
    in_word = !space;
  }
  return words;
}

}  // namespace

bool is_valid_command(const AvatarCommand& command) {
  struct Rule {
    std::string_view name;
    std::size_t min_args, max_args;
  };
  static constexpr std::array<Rule, 8> kRules = {{{"mood", 1, 1},
                                                  {"move", 2, 2},
                                                  {"wave", 0, 0},
                                                  {"point", 2, 2},
                                                  {"gesture", 1, 1},
                                                  {"size", 1, 1},
                                                  {"react", 1, 1},
                                                  {"task", 1, 16}}};
  const auto rule = std::find_if(kRules.begin(), kRules.end(), [&](const Rule& r) { return r.name == command.name; });
  if (rule == kRules.end()) return false;
  const std::size_t args = count_words(command.args);
  return args >= rule->min_args && args <= rule->max_args && command.args.size() <= 200;
}

void CommandParser::flush(std::string& clean) {
  clean.append(pending_);
  pending_.clear();
}

}  // namespace aiway
