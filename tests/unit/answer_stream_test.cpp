// The upstream's planned answer as writes, without a socket: each write due
// at its time, each token's intended and sent times recorded, the planned
// misbehaviours ending the answer as planned, split lines as separate writes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream/answer_stream.hpp"

namespace aiway {
namespace {

constexpr std::int64_t kRequestNs = 1'000'000'000;

struct Played {
  std::vector<std::string> writes;   // each one write() to the socket
  std::vector<std::int64_t> at_ns;   // when it was asked for
  AnswerStream::End end = AnswerStream::End::more;
};

// Plays the answer as the server's loop does: at each due time, one write,
// handed wholly to the "socket" before the next is asked for.
Played play(const AnswerPlan& plan, AnswerRecord& record, bool chunked) {
  AnswerStream stream(plan, record, chunked, kRequestNs);
  Played p;
  for (int guard = 0; guard < 100'000 && p.end == AnswerStream::End::more; ++guard) {
    const std::int64_t now = std::max(stream.due_ns(), kRequestNs);
    std::string out;
    p.end = stream.next(now, out);
    if (!out.empty()) {
      p.writes.push_back(out);
      p.at_ns.push_back(now);
    }
    stream.written(now);
  }
  return p;
}

std::string joined(const std::vector<std::string>& writes, std::size_t from = 0) {
  std::string all;
  for (std::size_t i = from; i < writes.size(); ++i) all += writes[i];
  return all;
}

TEST(AnswerStream, PacedTokensGoOutAtTheirScheduleOneWriteEach) {
  AnswerPlan plan;
  plan.tokens = 5;
  plan.rate_tps = 1000;  // 1 ms apart
  plan.first_token_delay_ms = 2;
  AnswerRecord record;
  record.api = net::StreamApi::ollama_generate;
  const Played p = play(plan, record, true);
  EXPECT_EQ(p.end, AnswerStream::End::keep_alive);
  ASSERT_EQ(p.writes.size(), 1u + 5u + 1u);  // headers, a chunk per token, done and the last chunk
  EXPECT_TRUE(p.writes[0].starts_with("HTTP/1.1 200 OK\r\n")) << p.writes[0];
  EXPECT_NE(p.writes[0].find("Transfer-Encoding: chunked"), std::string::npos) << p.writes[0];
  for (std::uint64_t k = 0; k < 5; ++k) {
    const std::int64_t due = kRequestNs + 2'000'000 + std::int64_t(k) * 1'000'000;
    EXPECT_EQ(record.intended_ns[k], due) << k;
    EXPECT_EQ(record.sent_ns[k], due) << k;
    EXPECT_EQ(p.at_ns[1 + k], due) << k;
    EXPECT_NE(p.writes[1 + k].find("\"t" + std::to_string(k) + "."), std::string::npos) << p.writes[1 + k];
  }
  EXPECT_TRUE(p.writes.back().ends_with("\"done\":true}\n\r\n0\r\n\r\n")) << p.writes.back();
  EXPECT_EQ(record.tokens_sent, 5u);
  EXPECT_EQ(record.chunks_sent, 6u);
  EXPECT_TRUE(record.completed);
}

TEST(AnswerStream, TokensPerChunkGatherBeforeOneWrite) {
  AnswerPlan plan;
  plan.tokens = 6;
  plan.tokens_per_chunk = 3;
  AnswerRecord record;
  record.api = net::StreamApi::openai_chat;
  const Played p = play(plan, record, true);
  ASSERT_EQ(p.writes.size(), 1u + 2u + 1u);
  EXPECT_EQ(std::count(p.writes[1].begin(), p.writes[1].end(), '\n'), 2 * 3 + 2) << "three events and the chunk's two CRLFs";
  EXPECT_NE(p.writes.back().find("data: [DONE]"), std::string::npos);
}

TEST(AnswerStream, SplitLinesGoOutAsTwoWritesEachAndReassembleToTheWholeBody) {
  AnswerPlan plan;
  plan.tokens = 4;
  AnswerRecord whole_record, split_record;
  whole_record.api = split_record.api = net::StreamApi::ollama_generate;
  const Played whole = play(plan, whole_record, false);
  plan.split_lines = true;
  const Played split = play(plan, split_record, false);
  // Unchunked (HTTP/1.0): the body is the bytes; each line is now two writes.
  EXPECT_EQ(joined(split.writes, 1), joined(whole.writes, 1));
  EXPECT_EQ(split.writes.size(), 1 + 2 * (whole.writes.size() - 1)) << "every line as two writes";
  EXPECT_EQ(split.end, AnswerStream::End::close) << "an HTTP/1.0 body ends with the connection";
  EXPECT_EQ(split_record.tokens_sent, 4u);
  EXPECT_TRUE(split_record.completed);
}

TEST(AnswerStream, ASplitCharacterWaitsBetweenItsHalves) {
  AnswerPlan plan;
  plan.tokens = 1;
  plan.split_utf8 = true;
  AnswerRecord record;
  record.api = net::StreamApi::ollama_generate;
  const Played p = play(plan, record, true);
  ASSERT_GE(p.writes.size(), 3u);
  EXPECT_TRUE(p.writes[1].ends_with("\xC3\r\n")) << "the first half ends inside the character";
  EXPECT_GT(p.at_ns[2], p.at_ns[1]) << "the second half is due after a pause";
}

TEST(AnswerStream, APlannedResetEndsAfterItsTokens) {
  AnswerPlan plan;
  plan.tokens = 10;
  plan.reset_at = 3;
  AnswerRecord record;
  const Played p = play(plan, record, true);
  EXPECT_EQ(p.end, AnswerStream::End::reset);
  EXPECT_EQ(record.tokens_sent, 3u);
  EXPECT_FALSE(record.completed);
  EXPECT_GT(record.end_ns, 0);
}

TEST(AnswerStream, APlannedErrorLineEndsTheBodyProperly) {
  AnswerPlan plan;
  plan.tokens = 10;
  plan.error_line_at = 2;
  AnswerRecord record;
  const Played p = play(plan, record, true);
  EXPECT_EQ(p.end, AnswerStream::End::keep_alive);
  EXPECT_NE(p.writes.back().find("fails mid-stream on purpose"), std::string::npos);
  EXPECT_TRUE(p.writes.back().ends_with("0\r\n\r\n"));
  EXPECT_EQ(record.tokens_sent, 2u);
  EXPECT_TRUE(record.completed);
}

TEST(AnswerStream, AnErrorStatusIsOneWholeResponse) {
  AnswerPlan plan;
  plan.status = 503;
  AnswerRecord record;
  const Played p = play(plan, record, true);
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_TRUE(p.writes[0].starts_with("HTTP/1.1 503")) << p.writes[0];
  EXPECT_NE(p.writes[0].find("Content-Length:"), std::string::npos);
  EXPECT_EQ(p.end, AnswerStream::End::keep_alive);
}

TEST(AnswerStream, TheHeadersWaitForTheirPlannedDelay) {
  AnswerPlan plan;
  plan.tokens = 1;
  plan.headers_delay_ms = 7;
  AnswerRecord record;
  AnswerStream stream(plan, record, true, kRequestNs);
  EXPECT_EQ(stream.due_ns(), kRequestNs + 7'000'000);
}

TEST(AnswerStream, NoTokenCountsAsSentBeforeItsWriteIsOut) {
  AnswerPlan plan;
  plan.tokens = 2;
  AnswerRecord record;
  AnswerStream stream(plan, record, true, kRequestNs);
  std::string out;
  stream.next(kRequestNs, out);  // headers
  EXPECT_EQ(stream.written(kRequestNs), 0u);
  out.clear();
  stream.next(kRequestNs, out);  // the first token's chunk, not yet written
  EXPECT_EQ(record.tokens_sent, 0u);
  EXPECT_EQ(stream.written(kRequestNs), 1u);
  EXPECT_EQ(record.tokens_sent, 1u);
}

TEST(AnswerStream, ChunksAreFramedWithTheirHexSize) {
  std::string out;
  append_chunk(out, std::string(26, 'x'));
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'x') + "\r\n");
}

}  // namespace
}  // namespace aiway
