#include "upstream/token_text.hpp"

#include <fmt/format.h>

namespace aiway {

void token_text(std::uint64_t seq, std::uint32_t size, bool multibyte, std::string& out) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "t{}.", seq);
  const std::size_t target = std::max<std::size_t>(size, out.size() + (multibyte ? 2 : 0));
  const std::size_t middle = out.size() + (target - out.size()) / 2 - (multibyte ? 1 : 0);
  for (std::size_t i = out.size(); i < target; ++i) {
    if (multibyte && i == middle) {
      out.append("\xC3\xA9");  // é
      ++i;
      continue;
    }
    out.push_back(char('a' + (seq + i) % 26));
  }
}

std::optional<std::uint64_t> token_seq(std::string_view text) {
  if (text.size() < 3 || text[0] != 't') return std::nullopt;
  std::uint64_t seq = 0;
  std::size_t i = 1;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 20; ++i) seq = seq * 10 + std::uint64_t(text[i] - '0');
  if (i == 1 || i >= text.size() || text[i] != '.') return std::nullopt;
  return seq;
}

std::size_t multibyte_offset(std::string_view text) { return text.find("\xC3\xA9"); }

}  // namespace aiway
