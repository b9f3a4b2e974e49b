#include "pipeline/pipeline.hpp"
#include "stages/resolve.hpp"

#include <gtest/gtest.h>

#include "aiway/scenario_file.hpp"

namespace aiway {
namespace {

Scenario small(std::initializer_list<const char*> overrides) {
  Scenario s = parse_scenario("[backend]\nmessages = 20000\n", "test.toml");
  s.surface.frame_rate_hz = 1000;
  apply_overrides(s, std::vector<std::string>(overrides.begin(), overrides.end()));
  return s;
}

struct Ran {
  const Pipeline& p;
  std::uint64_t dropped() const { return p.channel().dropped_data + p.surface_channel().dropped_data; }
  std::uint64_t discarded() const { return p.conductor().discarded_at_shutdown + p.surface().discarded_at_shutdown; }
  // Every token sent is delivered, dropped by a policy or discarded at quit.
  void expect_all_accounted() const {
    EXPECT_EQ(p.backend().tokens_sent, p.surface().delivered + dropped() + discarded());
    // The surface sees a gap only below a later token or its stream's terminal
    // item; a dropped tail with a dropped terminal is invisible to it.
    const auto ended = p.surface().streams_completed + p.surface().stream_errors;
    if (ended == p.stream_count()) EXPECT_EQ(p.surface().missing, dropped() + discarded());
    else EXPECT_LE(p.surface().missing, dropped() + discarded());
    EXPECT_EQ(p.surface().duplicated, 0u);
    EXPECT_EQ(p.surface().reordered, 0u);
    EXPECT_EQ(p.surface().corrupted, 0u);
  }
};

void run(Pipeline& p) {
  p.start();
  ASSERT_TRUE(p.wait_until(monotonic_ns() + 60'000'000'000)) << "pipeline did not finish";
}

TEST(Pipeline, BlockDeliversEverythingWithCommandsAcrossTokens) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"backend.commands=10", "backend.streams=3", "channel.capacity=64", "surface_channel.capacity=16"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  Ran{p}.expect_all_accounted();
  EXPECT_EQ(p.backend().tokens_sent, 60'000u);
  EXPECT_EQ(p.surface().delivered, 60'000u);
  EXPECT_EQ(p.surface().bytes_delivered, p.backend().bytes_sent);
  EXPECT_EQ(p.surface().streams_completed, 3u);
  EXPECT_EQ(p.backend().commands_planted, 30u);
  EXPECT_EQ(p.conductor().commands_executed, 30u);  // half of them were split across two tokens
  EXPECT_EQ(p.surface().commands_displayed, 30u);
  EXPECT_LE(p.channel().max_depth, 64);
  EXPECT_LE(p.surface_channel().max_depth, 16);
  EXPECT_EQ(p.latencies().end_to_end.count(), 60'000);
}

TEST(Pipeline, MaxCommandsPerResponseIsEnforced) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"backend.commands=15", "conductor.max_commands=10"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  EXPECT_EQ(p.conductor().commands_executed, 10u);
  // The ai-way conductor's own counter, reported through the stage API.
  ASSERT_EQ(p.conductor().counters.size(), 1u);
  EXPECT_EQ(p.conductor().counters[0].name, "commands_rejected");
  EXPECT_EQ(p.conductor().counters[0].value, 5);
}

TEST(Pipeline, LossyPoliciesCountEveryDrop) {
  for (const char* policy : {"surface_channel.overflow=drop-newest", "surface_channel.overflow=drop-oldest"}) {
    const Clock clock = Clock::detect();
    const Scenario s = small({policy, "surface_channel.capacity=100", "surface.work_us=5"});
    Pipeline p(s, clock, make_stages(s));
    run(p);
    Ran{p}.expect_all_accounted();
    EXPECT_GT(p.surface_channel().dropped_data, 0u) << policy;
  }
}

TEST(Pipeline, QuitOvertakesQueuedDataAndEverythingIsAccounted) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"control.quit_at=0.5", "surface.work_us=20", "surface_channel.capacity=1000"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  Ran{p}.expect_all_accounted();
  EXPECT_GT(p.surface().shutting_down_seen_ns, 0);
  const std::int64_t quit_ns = p.surface().shutting_down_seen_ns - p.control().quit_requested_ns.load();
  EXPECT_GE(quit_ns, 0);
  // Behind 1,000 queued tokens of 20 us each a FIFO quit would wait ~20 ms.
  EXPECT_LT(p.surface().delivered, 20'000u);
  EXPECT_GT(Ran{p}.discarded(), 0u);
}

TEST(Pipeline, ErrorFaultEndsEachStreamWithAnError) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"faults.error_at=500", "backend.streams=2"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  Ran{p}.expect_all_accounted();
  EXPECT_EQ(p.surface().delivered, 1000u);
  EXPECT_EQ(p.surface().stream_errors, 2u);
  EXPECT_EQ(p.surface().streams_completed, 0u);
}

TEST(Pipeline, DisconnectIsNoticedAndReportedNotWaitedFor) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"faults.disconnect_at=3001", "backend.streams=3"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  Ran{p}.expect_all_accounted();
  EXPECT_EQ(p.surface().delivered, 3001u);
  EXPECT_EQ(p.conductor().streams_disconnected, 3u);
  EXPECT_EQ(p.surface().stream_errors, 3u);
  EXPECT_EQ(p.surface().streams_completed, 0u);
}

TEST(Pipeline, SecondRequestCancelsAndReportsTheOpenResponses) {
  const Clock clock = Clock::detect();
  // 3 streams x 20,000 tokens; after 3,001 tokens every response is open.
  const Scenario s = small({"faults.second_request_at=3001", "backend.streams=3", "backend.commands=4"});
  Pipeline p(s, clock, make_stages(s));
  run(p);
  Ran{p}.expect_all_accounted();
  EXPECT_EQ(p.conductor().responses_cancelled, 3u);
  EXPECT_EQ(p.surface().responses_cancelled, 3u);
  EXPECT_EQ(p.surface().delivered, 60'000u);  // the streams carried on with the next response
  EXPECT_EQ(p.surface().streams_completed, 3u);
}

TEST(Pipeline, BackendStallDelaysTheStreamAndLosesNothing) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"faults.backend_stall_at=10000", "faults.backend_stall_ms=30"});
  Pipeline p(s, clock, make_stages(s));
  const std::int64_t t0 = monotonic_ns();
  run(p);
  EXPECT_GE(monotonic_ns() - t0, 30'000'000);
  Ran{p}.expect_all_accounted();
  EXPECT_EQ(p.surface().delivered, 20'000u);
}

TEST(Pipeline, PacedBackendKeepsItsSchedule) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"backend.messages=2000", "backend.rate_tps=20000"});
  Pipeline p(s, clock, make_stages(s));
  const std::int64_t t0 = monotonic_ns();
  run(p);
  const double elapsed_s = double(monotonic_ns() - t0) / 1e9;
  EXPECT_GE(elapsed_s, 0.0999 - 0.0005);  // 2,000 tokens at 20,000/s cannot finish before 100 ms
  EXPECT_EQ(p.surface().delivered, 2000u);
}

TEST(Pipeline, AbortStopsAStuckPipeline) {
  const Clock clock = Clock::detect();
  const Scenario s = small({"surface.work_us=1000000", "surface_channel.capacity=1"});  // 1 s per token
  Pipeline p(s, clock, make_stages(s));
  p.start();
  EXPECT_FALSE(p.wait_until(monotonic_ns() + 50'000'000));
  const std::int64_t t0 = monotonic_ns();
  p.abort();
  EXPECT_LT(monotonic_ns() - t0, 2'000'000'000);
}

}  // namespace
}  // namespace aiway
