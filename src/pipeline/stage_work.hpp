// The calls from the harness into a stage's own code, each through one
// function of aiway::stage_work, and the one piece of the harness a stage call
// can reach (a full ConductorOutput sending its items on) through
// aiway::harness_work. An instruction count under callgrind
// (run --count-instructions) collects inside the first and not inside the
// second, by these names, so it sees the stages' work and never the
// harness's waits, channels or books. Out of line on purpose: the names must
// exist in the binary; the extra direct call costs a few instructions a batch
// (a token for the backend, whose stage hands one token a call).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "aiway/stage.hpp"
#include "measure/busy_work.hpp"

namespace aiway::stage_work {

// What an instruction count collects inside (kStageWork) and not (kHarness),
// and the name prefixes it sums per role (frames apart: how many a run draws
// follows the wall clock, not the tokens).
inline constexpr std::string_view kStageWork = "aiway::stage_work::";
inline constexpr std::string_view kBackend = "aiway::stage_work::backend_";
inline constexpr std::string_view kConductor = "aiway::stage_work::conductor_";
inline constexpr std::string_view kSurface = "aiway::stage_work::surface_";
inline constexpr std::string_view kFrame = "aiway::stage_work::frame_";
inline constexpr std::string_view kHarness = "aiway::harness_work::";

SourcedToken backend_next(BackendStage& stage, Token& token);

void conductor_tokens(ConductorStage& stage, std::span<Token> tokens, ConductorOutput& out, PlantedWork& planted);
void conductor_stream_end(ConductorStage& stage, std::uint32_t stream, TokenKind how, ConductorOutput& out);

void surface_display(SurfaceStage& stage, std::span<const Token> tokens, PlantedWork& planted);
void surface_command(SurfaceStage& stage, const Token& command);
void surface_stream_end(SurfaceStage& stage, std::uint32_t stream, TokenKind how);

void frame_render(SurfaceStage& stage);

}  // namespace aiway::stage_work

namespace aiway::harness_work {

// The flush a conductor's driver gives its ConductorOutput (defined with the
// driver): it sends what the stage emitted on and finds room for more.
void conductor_output_full(void* driver);

}  // namespace aiway::harness_work
