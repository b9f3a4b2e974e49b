#include "aiway/stage_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "aiway/scenario_file.hpp"
#include "stages/builtin_stages.hpp"
#include "stages/resolve.hpp"

namespace aiway {

std::string_view to_string(StageRole role) {
  switch (role) {
    case StageRole::backend: return "backend";
    case StageRole::conductor: return "conductor";
    case StageRole::surface: return "surface";
  }
  return "?";
}

void StageRegistry::insert(Entry entry) {
  const StageInfo& info = entry.info;
  const bool plain = !info.name.empty() && std::all_of(info.name.begin(), info.name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!plain)
    throw std::logic_error(fmt::format("aiway-stress: {} stage name \"{}\": use lower-case letters, digits, '-' and '_'",
                                       to_string(info.role), info.name));
  if (find(info.role, info.name))
    throw std::logic_error(fmt::format("aiway-stress: a {} named \"{}\" is registered twice", to_string(info.role), info.name));
  for (const ParamSpec& p : info.params) {
    const bool typed = std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          switch (p.type) {
            case ParamType::boolean: return std::is_same_v<T, bool>;
            case ParamType::integer: return std::is_same_v<T, std::int64_t>;
            case ParamType::number: return std::is_same_v<T, double>;
            case ParamType::text: return std::is_same_v<T, std::string>;
          }
          return false;
        },
        p.default_value);
    if (!typed)
      throw std::logic_error(fmt::format("aiway-stress: {} \"{}\": parameter \"{}\": its default is not of its type",
                                         to_string(info.role), info.name, p.name));
  }
  entries_.push_back(std::move(entry));
}

void StageRegistry::add(StageInfo info, BackendFactory make) {
  info.role = StageRole::backend;
  insert({std::move(info), std::move(make), {}, {}});
}
void StageRegistry::add(StageInfo info, ConductorFactory make) {
  info.role = StageRole::conductor;
  insert({std::move(info), {}, std::move(make), {}});
}
void StageRegistry::add(StageInfo info, SurfaceFactory make) {
  info.role = StageRole::surface;
  insert({std::move(info), {}, {}, std::move(make)});
}

const StageInfo* StageRegistry::find(StageRole role, std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.info.role == role && e.info.name == name) return &e.info;
  return nullptr;
}

std::vector<const StageInfo*> StageRegistry::list(StageRole role) const {
  std::vector<const StageInfo*> infos;
  for (const Entry& e : entries_)
    if (e.info.role == role) infos.push_back(&e.info);
  std::sort(infos.begin(), infos.end(), [](const StageInfo* a, const StageInfo* b) { return a->name < b->name; });
  return infos;
}

const StageRegistry::Entry& StageRegistry::entry(StageRole role, std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.info.role == role && e.info.name == name) return e;
  throw std::logic_error(fmt::format("no {} named \"{}\" is registered", to_string(role), name));
}

std::unique_ptr<BackendStage> StageRegistry::make_backend(std::string_view name, const StageContext& c) const {
  return entry(StageRole::backend, name).backend(c);
}
std::unique_ptr<ConductorStage> StageRegistry::make_conductor(std::string_view name, const StageContext& c) const {
  return entry(StageRole::conductor, name).conductor(c);
}
std::unique_ptr<SurfaceStage> StageRegistry::make_surface(std::string_view name, const StageContext& c) const {
  return entry(StageRole::surface, name).surface(c);
}

namespace {
template <class Stage, class Factory>
Factory factory() {
  return [](const StageContext& c) { return std::make_unique<Stage>(c); };
}
}  // namespace

StageRegistry& stage_registry() {
  static StageRegistry registry = [] {
    StageRegistry r;
    r.add(detail::stage_info<MockBackend>(StageRole::backend, "mock"), factory<MockBackend, StageRegistry::BackendFactory>());
    r.add(detail::stage_info<TraceBackend>(StageRole::backend, "trace"), factory<TraceBackend, StageRegistry::BackendFactory>());
    r.add(detail::stage_info<AiwayConductor>(StageRole::conductor, "aiway"),
          factory<AiwayConductor, StageRegistry::ConductorFactory>());
    r.add(detail::stage_info<TerminalSurface>(StageRole::surface, "terminal"),
          factory<TerminalSurface, StageRegistry::SurfaceFactory>());
    return r;
  }();
  return registry;
}

// ---- resolving a scenario's stages ----------------------------------------------

namespace {

std::string origin(const Scenario& s, const std::string& field) {
  const auto it = s.origin.find(field);
  return it == s.origin.end() ? "(default)" : it->second;
}

[[noreturn]] void fail(const Scenario& s, const std::string& field, const std::string& message) {
  throw ScenarioError(fmt::format("{}: {}: {}", origin(s, field), field, message));
}

std::string names(StageRole role) {
  std::string out;
  for (const StageInfo* info : stage_registry().list(role)) out += (out.empty() ? "" : ", ") + info->name;
  return out;
}

// A parameter as the stage declared it, from what the file or --set wrote.
ParamValue typed(const Scenario& s, const std::string& field, const ParamSpec& spec, const ParamValue& given) {
  const auto range_text = [&] { return spec.min == spec.max ? std::string() : fmt::format(" from {} to {}", spec.min, spec.max); };
  const auto in_range = [&](double v) {
    if (spec.min != spec.max && (v < spec.min || v > spec.max)) fail(s, field, fmt::format("expected a value{}, got {}", range_text(), v));
  };
  switch (spec.type) {
    case ParamType::boolean:
      if (const bool* b = std::get_if<bool>(&given)) return *b;
      fail(s, field, "expected true or false");
    case ParamType::text:
      if (const std::string* t = std::get_if<std::string>(&given)) return *t;
      fail(s, field, "expected a string");
    case ParamType::integer:
      if (const std::int64_t* i = std::get_if<std::int64_t>(&given)) {
        in_range(double(*i));
        return *i;
      }
      fail(s, field, fmt::format("expected an integer{}", range_text()));
    case ParamType::number: {
      double v = 0;
      if (const std::int64_t* i = std::get_if<std::int64_t>(&given)) v = double(*i);
      else if (const double* d = std::get_if<double>(&given)) v = *d;
      else fail(s, field, fmt::format("expected a number{}", range_text()));
      if (!std::isfinite(v)) fail(s, field, "expected a finite number");
      in_range(v);
      return v;
    }
  }
  fail(s, field, "unknown parameter type");
}

// Every declared parameter, of its type: given ones checked, the rest defaulted.
ParamValues resolve_params(const Scenario& s, const StageInfo& info, const ParamValues& given) {
  const std::string section = fmt::format("{}.params", to_string(info.role));
  ParamValues resolved;
  for (const auto& given_param : given) {
    const std::string& name = given_param.first;  // not a structured binding: lambdas capture it
    const ParamValue& value = given_param.second;
    const auto spec = std::find_if(info.params.begin(), info.params.end(), [&](const ParamSpec& p) { return p.name == name; });
    if (spec == info.params.end()) {
      // A default another implementation declared (a sweep over impl): not the user's.
      if (!s.origin.count(section + "." + name)) continue;
      std::string declared;
      for (const ParamSpec& p : info.params) declared += (declared.empty() ? "" : ", ") + p.name;
      fail(s, section + "." + name,
           fmt::format("the {} \"{}\" has no parameter \"{}\" ({})", to_string(info.role), info.name, name,
                       declared.empty() ? "it has none" : "it has: " + declared));
    }
    resolved[name] = typed(s, section + "." + name, *spec, value);
  }
  for (const ParamSpec& p : info.params) resolved.try_emplace(p.name, p.default_value);
  return resolved;
}

const StageInfo& chosen(const Scenario& s, StageRole role, const std::string& impl) {
  const StageInfo* info = stage_registry().find(role, impl);
  if (!info)
    fail(s, fmt::format("{}.impl", to_string(role)),
         fmt::format("unknown {} \"{}\" (registered: {})", to_string(role), impl, names(role)));
  return *info;
}

}  // namespace

namespace {

// A file's relative path is relative to the scenario file; --set's to the
// working folder. Kept absolute from here on (worker processes, results).
std::string resolved_path(const Scenario& s, const std::string& field, const std::string& path) {
  std::filesystem::path file = path;
  if (file.is_relative() && !origin(s, field).starts_with("--set") && !s.source.empty())
    file = std::filesystem::path(s.source).parent_path() / file;
  return std::filesystem::absolute(file).lexically_normal().string();
}

}  // namespace

std::vector<std::string> unoptimized_stages(const Scenario& s) {
  std::vector<std::string> out;
  for (const auto& [role, impl] : {std::pair{StageRole::backend, &s.backend.impl}, std::pair{StageRole::conductor, &s.conductor.impl},
                                   std::pair{StageRole::surface, &s.surface.impl}})
    if (const StageInfo* info = stage_registry().find(role, *impl); info && !info->optimized)
      out.push_back(fmt::format("{} {}", to_string(role), *impl));
  return out;
}

void resolve_stages(Scenario& s) {
  if (!s.target.config_template.empty()) {
    s.target.config_template = resolved_path(s, "target.config_template", s.target.config_template);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.target.config_template, ec))
      throw ScenarioError(fmt::format("{}: target.config_template: {}: {}", origin(s, "target.config_template"),
                                      std::filesystem::exists(s.target.config_template, ec) ? "not a regular file" : "no such file",
                                      s.target.config_template));
  }
  s.backend.params = resolve_params(s, chosen(s, StageRole::backend, s.backend.impl), s.backend.params);
  s.conductor.params = resolve_params(s, chosen(s, StageRole::conductor, s.conductor.impl), s.conductor.params);
  s.surface.params = resolve_params(s, chosen(s, StageRole::surface, s.surface.impl), s.surface.params);
  if (s.backend.impl == "trace") {
    if (s.backend.trace.empty()) fail(s, "backend.impl", "the trace backend needs the recording to replay: set backend.trace");
    s.backend.trace = resolved_path(s, "backend.trace", s.backend.trace);
    Trace trace;
    try {
      trace = load_trace(s.backend.trace);
    } catch (const InputError& e) {
      throw ScenarioError(fmt::format("{}: backend.trace: {}", origin(s, "backend.trace"), e.what()));
    }
    // A recording longer than a repetition may last cannot replay: refused
    // now, naming both, not blamed on the backend when the timeout strikes.
    if (!trace.records.empty() && double(trace.records.back().due_ns) / 1e9 >= s.timeout_s)
      fail(s, "backend.trace",
           fmt::format("the recording lasts {:.1f} s, beyond the repetition's timeout_s ({} s): raise timeout_s",
                       double(trace.records.back().due_ns) / 1e9, s.timeout_s));
    // The trace's shape is the workload's: show and the workload check see it.
    std::vector<std::uint64_t> per_stream(trace.streams, 0);
    for (const TraceRecord& r : trace.records) ++per_stream[r.stream];
    s.backend.streams = trace.streams;
    s.backend.messages = *std::max_element(per_stream.begin(), per_stream.end());
    if (s.backend.rate_tps > 0) fail(s, "backend.rate_tps", "a trace keeps its own schedule: leave backend.rate_tps at 0");
    validate(s);
  } else if (!s.backend.trace.empty()) {
    fail(s, "backend.trace", fmt::format("only the trace backend reads it (backend.impl is \"{}\")", s.backend.impl));
  }
}

StageSet make_stages(const Scenario& s) {
  const StageRegistry& registry = stage_registry();
  StageSet set;
  const StageInfo& b = chosen(s, StageRole::backend, s.backend.impl);
  const StageParams backend_params(resolve_params(s, b, s.backend.params));
  set.backend = registry.make_backend(b.name, StageContext{s, backend_params, s.backend.streams});
  const std::uint32_t streams = set.backend->streams();
  const StageInfo& c = chosen(s, StageRole::conductor, s.conductor.impl);
  const StageParams conductor_params(resolve_params(s, c, s.conductor.params));
  set.conductor = registry.make_conductor(c.name, StageContext{s, conductor_params, streams});
  const StageInfo& f = chosen(s, StageRole::surface, s.surface.impl);
  const StageParams surface_params(resolve_params(s, f, s.surface.params));
  set.surface = registry.make_surface(f.name, StageContext{s, surface_params, streams});
  return set;
}

}  // namespace aiway
