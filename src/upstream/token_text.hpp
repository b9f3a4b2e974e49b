// The text of each token a harness upstream sends: a compact ASCII tag that
// names the token's sequence number ("t42.") and a filler derived from it, so
// the surface end can recover which token it got and check every byte of it.
// Never contains "[yolla:" (a conductor would strip it) nor anything JSON
// must escape. `multibyte` puts a two-byte character (U+00E9) in the middle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aiway {

// The tag alone is the shortest a token can be; `size` below it is raised to it.
void token_text(std::uint64_t seq, std::uint32_t size, bool multibyte, std::string& out);
// The sequence number the text names; absent when the text is not a tag at all.
std::optional<std::uint64_t> token_seq(std::string_view text);
// Where a multibyte token's two-byte character starts (a chunk split after it
// splits the character).
std::size_t multibyte_offset(std::string_view text);

}  // namespace aiway
