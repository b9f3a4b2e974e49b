// Text made safe inside XML and HTML (JUnit, SVG, the HTML report) and in
// Markdown table cells (run and compare summaries).
#pragma once

#include <string>
#include <string_view>

namespace aiway {

// Escapes & < > " ' and replaces control characters XML 1.0 forbids with spaces.
std::string escape_xml(std::string_view text);
// For a Markdown table cell or line: | \ ` * _ [ ] < > & escaped, line breaks
// and other control characters replaced with spaces, so a scenario name can
// neither end a cell nor inject HTML.
std::string escape_markdown(std::string_view text);

}  // namespace aiway
