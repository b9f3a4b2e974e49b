#include "measure/callgrind_output.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace aiway {
namespace {

// Compressed names, a call's inclusive cost, a function's block given twice,
// a cost line that leaves an event out (0), and a second event before Ir.
constexpr std::string_view kOutput = R"(# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Dr Ir
summary: 50 1000

fl=(1) stage.cpp
fn=(1) aiway::stage_work::backend_next(aiway::BackendStage&, aiway::Token&)
10 1 5
cfl=(1)
cfn=(2) aiway::MockBackend::next(aiway::Token&)
calls=4 20
11 7 100
fn=(2)
20 7 100
fn=(3) aiway::stage_work::conductor_tokens(x)
5 0 7
6 3
fn=(1)
12 0 3

totals: 8 215
)";

TEST(CallgrindOutput, InclusiveCountsFollowCallsAndCompressedNames) {
  const CallgrindCounts c = parse_callgrind_output(kOutput, "test");
  EXPECT_EQ(c.inclusive.at("aiway::stage_work::backend_next(aiway::BackendStage&, aiway::Token&)"), 5u + 100u + 3u);
  EXPECT_EQ(c.inclusive.at("aiway::MockBackend::next(aiway::Token&)"), 100u);
  EXPECT_EQ(c.inclusive.at("aiway::stage_work::conductor_tokens(x)"), 7u) << "a missing event counts 0";
  EXPECT_EQ(c.with_prefix("aiway::stage_work::"), 115u);
  EXPECT_EQ(c.with_prefix("aiway::stage_work::backend_"), 108u);
  EXPECT_EQ(c.with_prefix("aiway::stage_work::surface_"), 0u);
  EXPECT_EQ(c.total, 215u) << "totals: is the last word";
}

TEST(CallgrindOutput, RefusesWhatIsNotOne) {
  EXPECT_THROW(parse_callgrind_output("fn=main\n10 20\n", "plain.txt"), std::runtime_error);
  EXPECT_THROW(parse_callgrind_output("events: Dr\nfn=main\n10 20\n", "no-ir.out"), std::runtime_error);
}

}  // namespace
}  // namespace aiway
