#include "pipeline/stage_work.hpp"

namespace aiway::stage_work {

[[gnu::noinline]] SourcedToken backend_next(BackendStage& stage, Token& token) { return stage.next(token); }

[[gnu::noinline]] void conductor_tokens(ConductorStage& stage, std::span<Token> tokens, ConductorOutput& out,
                                        PlantedWork& planted) {
  planted.run(tokens.size());
  stage.on_tokens(tokens, out);
}

[[gnu::noinline]] void conductor_stream_end(ConductorStage& stage, std::uint32_t stream, TokenKind how,
                                            ConductorOutput& out) {
  stage.on_stream_end(stream, how, out);
}

[[gnu::noinline]] void surface_display(SurfaceStage& stage, std::span<const Token> tokens, PlantedWork& planted) {
  planted.run(tokens.size());
  stage.display(tokens);
}

[[gnu::noinline]] void surface_command(SurfaceStage& stage, const Token& command) { stage.on_command(command); }

[[gnu::noinline]] void surface_stream_end(SurfaceStage& stage, std::uint32_t stream, TokenKind how) {
  stage.on_stream_end(stream, how);
}

[[gnu::noinline]] void frame_render(SurfaceStage& stage) { stage.render(); }

}  // namespace aiway::stage_work
