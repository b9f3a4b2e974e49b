// The one place a TargetKind is mapped to the room that runs it: adding a
// kind is its folder under targets/ and one line here.
#include "targets/conductor/conductor_target.hpp"
#include "targets/http/http_target.hpp"
#include "targets/model/model_target.hpp"
#include "targets/target.hpp"

namespace aiway {

void Target::check_before_run(const Scenario&, double) const {}

std::vector<std::string> Target::unoptimized_stages(const Scenario&) const { return {}; }

const Target& target_of(const Scenario& s) {
  static const ModelTarget model;
  static const ConductorTarget conductor;
  static const HttpTarget http;
  switch (s.target.kind) {
    case TargetKind::model: return model;
    case TargetKind::aiway: return conductor;
    case TargetKind::http: return http;
  }
  return model;  // unreachable: the switch names every kind (-Wswitch)
}

}  // namespace aiway
