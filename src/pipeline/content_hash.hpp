// The hash a data token's clean text travels with: XXH3-64, inlined from the
// libxxhash package's own header. Through the library call it cost the backend
// and the surface 25 instructions each per short token, most of it the call
// and its dispatch (callgrind, 1m-short); inlined, the short-input path is a
// few multiplies. Same algorithm, same values.
#pragma once

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace aiway {

inline std::uint64_t content_hash(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

}  // namespace aiway
