#include <fmt/format.h>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "report/reporter.hpp"
#include "report/xml_text.hpp"

namespace aiway {
namespace {


// One testsuite per scenario; one testcase for the run itself and one per threshold.
class JunitReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    std::size_t tests = 0, failures = 0;
    for (const auto& r : results.scenarios) {
      tests += 1 + r.thresholds.size();
      failures += !r.failure.empty() || r.repetitions.empty();
      for (const auto& t : r.thresholds) failures += !t.passed;
    }
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << fmt::format("<testsuites name=\"aiway-stress\" tests=\"{}\" failures=\"{}\">\n", tests, failures);
    if (results.interrupted)
      out << fmt::format("  <!-- {} -->\n  <properties><property name=\"interrupted\" value=\"{}\"/></properties>\n",
                         escape_xml(describe_interrupted(results)), escape_xml(describe_interrupted(results)));
    for (const auto& r : results.scenarios) {
      std::size_t suite_failures = !r.failure.empty() || r.repetitions.empty();
      for (const auto& t : r.thresholds) suite_failures += !t.passed;
      const std::string name = escape_xml(r.scenario.name);
      out << fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n", name, 1 + r.thresholds.size(), suite_failures);
      out << fmt::format("    <testcase classname=\"aiway-stress.{}\" name=\"run\">\n", name);
      if (!r.failure.empty())
        out << fmt::format("      <failure message=\"{}\"/>\n", escape_xml(r.failure));
      else if (r.repetitions.empty())
        out << "      <failure message=\"no repetition completed (interrupted)\"/>\n";
      for (const auto& name : unstable_headline_metrics(r))
        out << fmt::format("      <system-out>WARNING: {} is unstable (CV 10 % or more, or a repetition 50 % off the median)</system-out>\n", name);
      if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
        out << fmt::format("      <system-out>WARNING: {}</system-out>\n", escape_xml(d));
      out << "    </testcase>\n";
      for (const auto& t : r.thresholds) {
        const std::string test = escape_xml(fmt::format("{} {} {}", t.metric, t.op, plain_number(t.limit)));
        out << fmt::format("    <testcase classname=\"aiway-stress.{}\" name=\"{}\">\n", name, test);
        if (!t.passed)
          out << fmt::format("      <failure message=\"{}\"/>\n",
                             escape_xml(fmt::format("{} {} was {}, limit {} {}", t.aggregate, t.metric,
                                                    t.value ? plain_number(*t.value) : std::string("not measured"),
                                                    t.op, plain_number(t.limit))));
        out << "    </testcase>\n";
      }
      out << "  </testsuite>\n";
    }
    out << "</testsuites>\n";
  }
};

}  // namespace

std::unique_ptr<Reporter> make_junit_reporter() { return std::make_unique<JunitReporter>(); }

}  // namespace aiway
