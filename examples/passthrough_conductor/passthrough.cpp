// A conductor that forwards every token unchanged: the floor any real
// conductor is measured against. Run it with
//   my-stress run -s 1m-short --sweep conductor.impl=aiway,passthrough
#include <aiway/aiway.hpp>

namespace {

class Passthrough : public aiway::ConductorStage {
 public:
  explicit Passthrough(const aiway::StageContext&) {}
  static std::string description() { return "forwards every token unchanged"; }

  void on_tokens(std::span<aiway::Token> tokens, aiway::ConductorOutput& out) override {
    for (aiway::Token& token : tokens) out.forward(token);
  }
};

}  // namespace

AIWAY_CONDUCTOR("passthrough", Passthrough);
AIWAY_STRESS_MAIN()
