// The HTTP target's pieces on their own: how the clients read what the
// upstream writes (the fast path agrees with the JSON parser), the addresses,
// the across-streams metrics (hand-worked), and the SLA search's bisection
// against a known knee.
#include <gtest/gtest.h>

#include <string>

#include "aiway/scenario_file.hpp"
#include "net/stream_api.hpp"
#include "net/url.hpp"
#include "results/derived_metrics.hpp"
#include "run/sla_search.hpp"
#include "targets/http/http_client.hpp"
#include "upstream/body_format.hpp"
#include "upstream/token_text.hpp"

namespace aiway {
namespace {

constexpr net::StreamApi kApis[] = {net::StreamApi::openai_chat, net::StreamApi::ollama_chat, net::StreamApi::ollama_generate};

// The unit the client's splitter hands on: an SSE event's data, an NDJSON line.
std::string unit_of(const std::string& written, net::StreamApi api) {
  std::string u = written;
  if (net::is_sse(api)) u = u.substr(6, u.size() - 6 - 2);  // "data: " ... "\n\n"
  else u.pop_back();
  return u;
}

TEST(HttpTarget, TheFastPathReadsWhatTheUpstreamWritesAsTheParserDoes) {
  for (const auto api : kApis) {
    const BodyFormat format{api};
    for (std::uint64_t seq : {0ull, 7ull, 42ull, 123456789ull})
      for (std::uint32_t size : {1u, 10u, 200u})
        for (bool multibyte : {false, true}) {
          std::string text, written;
          token_text(seq, size, multibyte, text);
          format.token(text, written);
          const std::string unit = unit_of(written, api);
          const StreamEvent fast = read_stream_unit(api, unit, true), full = read_stream_unit(api, unit, false);
          ASSERT_TRUE(format.fast_token(unit).has_value()) << unit;
          EXPECT_EQ(fast.kind, StreamEvent::token);
          EXPECT_EQ(full.kind, StreamEvent::token) << unit;
          EXPECT_EQ(fast.text, text);
          EXPECT_EQ(full.text, text);
        }
    // The end, an error, and shapes a proxy or another server may write: the
    // fast path declines, the parser decides.
    std::string done, error;
    format.done(done);
    format.error(error);
    if (net::is_sse(api)) {
      EXPECT_EQ(read_stream_unit(api, "[DONE]").kind, StreamEvent::done);
      EXPECT_EQ(read_stream_unit(api, R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})").kind, StreamEvent::ignored);
      EXPECT_EQ(read_stream_unit(api, R"({ "choices" : [ { "delta" : { "content" : "t5." } } ] })").text, "t5.");
      EXPECT_EQ(read_stream_unit(api, R"({"choices":[{"delta":{"content":"a\"b"}}]})").text, "a\"b");
      EXPECT_EQ(read_stream_unit(api, unit_of(error, api)).kind, StreamEvent::error);
    } else {
      EXPECT_EQ(read_stream_unit(api, unit_of(done, api)).kind, StreamEvent::done);
      EXPECT_EQ(read_stream_unit(api, unit_of(error, api)).kind, StreamEvent::error);
    }
    EXPECT_EQ(read_stream_unit(api, "{not json").kind, StreamEvent::malformed);
    EXPECT_EQ(read_stream_unit(api, "[1,2]").kind, StreamEvent::malformed);
  }
}

TEST(HttpTarget, AddressesAndShardsParseOrAreRefused) {
  const auto url = net::parse_http_url("http://127.0.0.1:8080/v1/chat/completions?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->address.host, "127.0.0.1");
  EXPECT_EQ(url->address.port, 8080);
  EXPECT_EQ(url->path, "/v1/chat/completions?x=1");
  EXPECT_EQ(net::stream_api_of(url->path), net::StreamApi::openai_chat);
  EXPECT_EQ(net::parse_http_url("http://localhost:1")->path, "/");
  for (const char* bad : {"https://a:1/", "http://a/", "http://:80/", "http://a:0/", "http://a:70000/", "ftp://a:1/"})
    EXPECT_FALSE(net::parse_http_url(bad)) << bad;
  EXPECT_EQ(net::parse_host_port("0.0.0.0:0")->port, 0);
  EXPECT_FALSE(net::parse_host_port("nowhere"));
  EXPECT_FALSE(net::stream_api_of("/v2/chat"));
  EXPECT_EQ(parse_shard("2/3"), (std::pair<std::uint32_t, std::uint32_t>{2, 3}));
  for (const char* bad : {"0/3", "4/3", "1/", "/2", "1/2x", "a/b", ""}) EXPECT_FALSE(parse_shard(bad)) << bad;
}

StreamRecord stream(std::uint32_t index, const char* end, double ttft, double e2e, double itl_p99, bool good) {
  StreamRecord r;
  r.index = index;
  r.end = end;
  r.start_s = 0.1 * index;
  r.end_s = r.start_s + e2e / 1e6;
  r.tokens_sent = 10;
  r.delivered = std::string(end) == "done" ? 10 : 6;
  r.missing = r.tokens_sent - r.delivered;
  r.chunks_upstream = 11;
  r.chunks = 2;
  r.body_bytes = 100 * r.delivered;
  r.ttft_us = ttft;
  r.e2e_us = e2e;
  r.itl_p99_us = itl_p99;
  r.itl_max_us = itl_p99 * 2;
  r.good = good;
  return r;
}

TEST(HttpTarget, AcrossStreamMetricsAreWorkedOutFromTheRecords) {
  const std::vector<StreamRecord> streams = {stream(0, "done", 1000, 1e6, 10, true), stream(1, "done", 3000, 2e6, 30, false),
                                             stream(2, "truncated", 2000, 0.5e6, 20, false), stream(3, "done", 4000, 1.5e6, 40, true)};
  Metrics m;
  set_stream_metrics(streams, m);
  EXPECT_EQ(m.get("streams"), 4);
  EXPECT_EQ(m.get("streams_completed"), 3);
  EXPECT_EQ(m.get("streams_failed"), 1);
  EXPECT_EQ(m.get("truncated_streams"), 1);
  EXPECT_EQ(m.get("tokens_sent"), 40);
  EXPECT_EQ(m.get("tokens_delivered"), 36);
  EXPECT_EQ(m.get("missing_at_surface"), 4);
  EXPECT_EQ(m.get("lost_unaccounted"), 0);
  EXPECT_DOUBLE_EQ(*m.get("loss_ratio"), 0.1);
  // Nearest rank over {1000, 2000, 3000, 4000}: p50 is the 2nd, p90 and p99 the 4th.
  EXPECT_EQ(m.get("ttft_us"), 2000);
  EXPECT_EQ(m.get("ttft_p90_us"), 4000);
  EXPECT_EQ(m.get("ttft_max_us"), 4000);
  EXPECT_EQ(m.get("e2e_p50_us"), 1e6);
  EXPECT_EQ(m.get("itl_p99_us"), 20);
  EXPECT_EQ(m.get("itl_p99_worst_us"), 40);
  EXPECT_EQ(m.get("itl_max_us"), 80);
  EXPECT_EQ(m.get("chunks_upstream"), 44);
  EXPECT_EQ(m.get("chunks_downstream"), 8);
  EXPECT_DOUBLE_EQ(*m.get("coalescing_ratio"), 5.5);
  EXPECT_DOUBLE_EQ(*m.get("wire_bytes_per_token"), 100);
  EXPECT_DOUBLE_EQ(*m.get("goodput_ratio"), 0.5);
  // From the first start (0 s) to the last end (stream 1: 0.1 s + 2 s).
  EXPECT_DOUBLE_EQ(*m.get("wall_s"), 2.1);
  EXPECT_DOUBLE_EQ(*m.get("throughput_tps"), 36 / 2.1);
  EXPECT_DOUBLE_EQ(*m.get("goodput_streams_per_s"), 2 / 2.1);
}

ScenarioResult probe_result(const Scenario& s, double goodput) {
  ScenarioResult r;
  r.scenario = s;
  Repetition rep;
  rep.metrics.set("goodput_ratio", goodput);
  r.repetitions.push_back(rep);
  r.summary = {{"goodput_ratio", MetricSummary{goodput, goodput, goodput, goodput, 0, 1, false}}};
  return r;
}

TEST(HttpTarget, TheSlaSearchBisectsToTheKnee) {
  Scenario base;
  base.target.kind = TargetKind::http;
  base.expect.min_goodput_ratio = 1;
  for (const double knee : {1.0, 37.0, 63.0, 99.0}) {
    int probes = 0;
    const auto outcome = sla_search(base, parse_sla_search("backend.streams=1..100"), [&](const Scenario& s) {
      ++probes;
      return probe_result(s, s.backend.streams <= knee ? 1.0 : 0.5);
    }, [] { return false; });
    ASSERT_TRUE(outcome.highest) << knee;
    EXPECT_EQ(*outcome.highest, knee);
    EXPECT_LE(probes, 2 + 7) << "the two ends, then log2(99) halvings";
    for (std::size_t i = 1; i < outcome.probes.size(); ++i)
      EXPECT_LT(std::stod(outcome.probes[i - 1].sweep[0].second), std::stod(outcome.probes[i].sweep[0].second));
  }
  const auto all = sla_search(base, parse_sla_search("backend.streams=1..100"), [&](const Scenario& s) { return probe_result(s, 1); },
                              [] { return false; });
  EXPECT_EQ(all.highest, 100);
  EXPECT_EQ(all.probed, 1u);
  EXPECT_NE(describe(parse_sla_search("backend.streams=1..100"), all).find("top of the range"), std::string::npos);
  const auto none = sla_search(base, parse_sla_search("backend.streams=1..100"), [&](const Scenario& s) { return probe_result(s, 0.9); },
                               [] { return false; });
  EXPECT_FALSE(none.highest);
  EXPECT_EQ(none.probed, 2u);
  // A fractional field stops within 2 %.
  const auto rate = sla_search(base, parse_sla_search("backend.rate_tps=10.0..1000.0"),
                               [&](const Scenario& s) { return probe_result(s, s.backend.rate_tps <= 420 ? 1 : 0); }, [] { return false; });
  ASSERT_TRUE(rate.highest);
  EXPECT_LE(*rate.highest, 420);
  EXPECT_GE(*rate.highest, 420 * 0.97);
  // A failed probe (a timeout under load) does not hold.
  ScenarioResult failed = probe_result(base, 1);
  failed.failure = "timeout";
  EXPECT_FALSE(holds(failed, 1));
  // The answer comes with its bracket and each end's goodput over its repetitions.
  const SlaSearch streams = parse_sla_search("backend.streams=1..100");
  const auto knee = sla_search(base, streams, [&](const Scenario& s) {
    return probe_result(s, s.backend.streams <= 37 ? 1.0 : 0.5);
  }, [] { return false; });
  const std::string said = describe(streams, knee);
  EXPECT_NE(said.find("held at 37: goodput 100.0 %, one repetition"), std::string::npos) << said;
  EXPECT_NE(said.find("missed at 38: goodput 50.0 %, one repetition: the knee lies in (37, 38]"), std::string::npos) << said;
  EXPECT_EQ(said.find("uncertain"), std::string::npos) << said;
  // A repetition on the wrong side of the target makes the answer uncertain, and says which.
  const auto shaky = sla_search(base, streams, [&](const Scenario& s) {
    ScenarioResult r = probe_result(s, s.backend.streams <= 37 ? 1.0 : 0.5);
    if (s.backend.streams == 37) r.summary = {{"goodput_ratio", MetricSummary{1.0, 0.8, 1.0, 0.93, 0.1, 3, false}}};
    return r;
  }, [] { return false; });
  const std::string doubt = describe(streams, shaky);
  EXPECT_NE(doubt.find("held at 37: goodput 100.0 %, 80.0-100.0 % over 3 repetitions"), std::string::npos) << doubt;
  EXPECT_NE(doubt.find("uncertain: a repetition where the load held fell below the target"), std::string::npos) << doubt;
  for (const char* bad : {"backend.streams", "backend.streams=5..1", "=1..2", "backend.streams=a..b", "backend.streams=1..2..3"})
    EXPECT_THROW(parse_sla_search(bad), ScenarioError) << bad;
}

}  // namespace
}  // namespace aiway
