// The registry of stage implementations, by role and name: what the scenario
// fields backend.impl, conductor.impl and surface.impl choose from. The
// built-ins (backend "mock" and "trace", conductor "aiway", surface
// "terminal") are always there; a user's program adds its own with the macros
// below, before main() runs, and AIWAY_STRESS_MAIN() gives it the whole
// aiway-stress command line with them available:
//
//   class Passthrough : public aiway::ConductorStage {
//    public:
//     explicit Passthrough(const aiway::StageContext&) {}
//     void on_tokens(std::span<aiway::Token> tokens, aiway::ConductorOutput& out) override {
//       for (aiway::Token& t : tokens) out.forward(t);
//     }
//   };
//   AIWAY_CONDUCTOR("passthrough", Passthrough);
//   AIWAY_STRESS_MAIN();
//
// A stage class has a constructor taking `const StageContext&`, and may have
// `static std::vector<ParamSpec> params()` and `static std::string description()`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aiway/stage.hpp"

namespace aiway {

enum class StageRole { backend, conductor, surface };
std::string_view to_string(StageRole role);

struct StageInfo {
  StageRole role = StageRole::conductor;
  std::string name;
  std::string description;
  std::vector<ParamSpec> params;
  // Whether the file that registered it was compiled with optimisation
  // (__OPTIMIZE__, set by -O1 and above): a stage built without it measures
  // a debug build, and the run says so.
  bool optimized = true;
};

class StageRegistry {
 public:
  using BackendFactory = std::function<std::unique_ptr<BackendStage>(const StageContext&)>;
  using ConductorFactory = std::function<std::unique_ptr<ConductorStage>(const StageContext&)>;
  using SurfaceFactory = std::function<std::unique_ptr<SurfaceStage>(const StageContext&)>;

  // Registers an implementation; a name registered twice for one role, or a
  // name that is not lower-case letters, digits, '-' and '_', is a programming
  // error: it throws std::logic_error (before main, that ends the process with
  // the message).
  void add(StageInfo info, BackendFactory make);
  void add(StageInfo info, ConductorFactory make);
  void add(StageInfo info, SurfaceFactory make);

  // nullptr when no implementation of that role has that name.
  const StageInfo* find(StageRole role, std::string_view name) const;
  // Every implementation of a role, in name order.
  std::vector<const StageInfo*> list(StageRole role) const;

  // Builds the named implementation (it must exist: find() first).
  std::unique_ptr<BackendStage> make_backend(std::string_view name, const StageContext& context) const;
  std::unique_ptr<ConductorStage> make_conductor(std::string_view name, const StageContext& context) const;
  std::unique_ptr<SurfaceStage> make_surface(std::string_view name, const StageContext& context) const;

 private:
  struct Entry {
    StageInfo info;
    BackendFactory backend;
    ConductorFactory conductor;
    SurfaceFactory surface;
  };
  void insert(Entry entry);
  const Entry& entry(StageRole role, std::string_view name) const;
  std::vector<Entry> entries_;
};

// The process's registry, the built-ins already in it. Registration happens
// before main() (the macros) or at its start; lookups afterwards only read.
StageRegistry& stage_registry();

// The aiway-stress command line (`run`, `compare`, `show`, ...), with every
// registered stage available. Returns the exit code. `scenarios_dir` is the
// folder of scenarios used when neither --scenarios-dir, $AIWAY_SCENARIOS_DIR
// nor ./scenarios gives one (an installed package passes its own).
int stress_main(int argc, char** argv, const char* scenarios_dir = nullptr);

namespace detail {
template <class Stage>
StageInfo stage_info(StageRole role, std::string_view name) {
  StageInfo info{role, std::string(name), {}, {}};
  if constexpr (requires { Stage::params(); }) info.params = Stage::params();
  if constexpr (requires { Stage::description(); }) info.description = Stage::description();
  return info;
}
template <class Base, class Stage>
bool register_stage(StageRole role, std::string_view name, bool optimized) {
  StageInfo info = stage_info<Stage>(role, name);
  info.optimized = optimized;
  stage_registry().add(std::move(info),
                       std::function<std::unique_ptr<Base>(const StageContext&)>(
                           [](const StageContext& context) -> std::unique_ptr<Base> { return std::make_unique<Stage>(context); }));
  return true;
}
}  // namespace detail

}  // namespace aiway

// Evaluated in the file that registers a stage, so it tells that file's flags.
#ifdef __OPTIMIZE__
#define AIWAY_DETAIL_OPTIMIZED true
#else
#define AIWAY_DETAIL_OPTIMIZED false
#endif
#define AIWAY_DETAIL_CONCAT2(a, b) a##b
#define AIWAY_DETAIL_CONCAT(a, b) AIWAY_DETAIL_CONCAT2(a, b)
#define AIWAY_DETAIL_REGISTER(Base, role, name, Class)                                         \
  [[maybe_unused]] static const bool AIWAY_DETAIL_CONCAT(aiway_stage_registered_, __LINE__) = \
      ::aiway::detail::register_stage<::aiway::Base, Class>(::aiway::StageRole::role, name, AIWAY_DETAIL_OPTIMIZED)

// Registers Class as the backend / conductor / surface named `name`.
#define AIWAY_BACKEND(name, Class) AIWAY_DETAIL_REGISTER(BackendStage, backend, name, Class)
#define AIWAY_CONDUCTOR(name, Class) AIWAY_DETAIL_REGISTER(ConductorStage, conductor, name, Class)
#define AIWAY_SURFACE(name, Class) AIWAY_DETAIL_REGISTER(SurfaceStage, surface, name, Class)

// main() of a program that is aiway-stress with the stages it registers. The
// installed CMake package defines AIWAY_PACKAGE_SCENARIOS_DIR (the shipped
// scenarios), so `run -s canaries` works from any folder.
#ifdef AIWAY_PACKAGE_SCENARIOS_DIR
#define AIWAY_STRESS_MAIN() \
  int main(int argc, char** argv) { return ::aiway::stress_main(argc, argv, AIWAY_PACKAGE_SCENARIOS_DIR); }
#else
#define AIWAY_STRESS_MAIN() \
  int main(int argc, char** argv) { return ::aiway::stress_main(argc, argv); }
#endif
