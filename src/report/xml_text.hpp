// Text made safe inside XML and HTML (JUnit, SVG, the HTML report).
#pragma once

#include <string>
#include <string_view>

namespace aiway {

// Escapes & < > " ' and replaces control characters XML 1.0 forbids with spaces.
std::string escape_xml(std::string_view text);

}  // namespace aiway
