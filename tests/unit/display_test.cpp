#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stages/scrollback.hpp"
#include "stages/transcript.hpp"

namespace aiway {
namespace {

std::vector<std::string> rows(const Scrollback& s, std::uint32_t n) {
  std::vector<char> frame(std::size_t(n) * s.width());
  s.render(frame.data(), n);
  std::vector<std::string> out;
  for (std::uint32_t r = 0; r < n; ++r) out.emplace_back(frame.data() + std::size_t(r) * s.width(), s.width());
  return out;
}

TEST(Scrollback, WrapsIncrementallyAcrossTokens) {
  Scrollback s(4, 10);
  s.append("ab");
  s.append("cdef");
  s.append("g\nhi");
  EXPECT_EQ(rows(s, 3), (std::vector<std::string>{"abcd", "efg ", "hi  "}));
  EXPECT_EQ(s.lines_written(), 2u);
}

// Short tokens take an inline path (they fit the line, no newline), long ones
// or those with a newline the general one: token by token must show what the
// whole text appended at once shows, exact fits and empty tokens included.
TEST(Scrollback, TokenByTokenShowsWhatTheWholeTextShows) {
  std::uint64_t state = 42;
  const auto next = [&] { return (state = state * 6364136223846793005u + 1442695040888963407u) >> 33; };
  for (const std::uint32_t width : {1u, 4u, 7u, 16u}) {
    Scrollback tokens(width, 64), whole(width, 64);
    std::string text;
    for (int i = 0; i < 400; ++i) {
      std::string token;
      const std::uint64_t size = next() % 21;
      for (std::uint64_t k = 0; k < size; ++k) token += next() % 9 == 0 ? '\n' : char('a' + next() % 26);
      tokens.append(token);
      text += token;
    }
    whole.append(text);
    EXPECT_EQ(rows(tokens, 20), rows(whole, 20)) << "width " << width;
    EXPECT_EQ(tokens.lines_written(), whole.lines_written()) << "width " << width;
  }
  Scrollback exact(4, 10);
  exact.append("ab");
  exact.append("cd");  // fills the line exactly: the next token starts a new one
  exact.append("");
  exact.append("e");
  EXPECT_EQ(rows(exact, 2), (std::vector<std::string>{"abcd", "e   "}));
}

TEST(Scrollback, KeepsOnlyItsLastLines) {
  Scrollback s(2, 3);
  s.append("aabbccddee");
  EXPECT_EQ(rows(s, 3), (std::vector<std::string>{"cc", "dd", "ee"}));
  EXPECT_EQ(s.retained_bytes(), 6u);
}

TEST(Scrollback, ViewportTallerThanTheTextIsPadded) {
  Scrollback s(3, 10);
  s.append("xy");
  EXPECT_EQ(rows(s, 2), (std::vector<std::string>{"xy ", "   "}));
}

TEST(Scrollback, FullRewrapShowsWhatIncrementalWrapShows) {
  Scrollback incremental(7, 50), full(7, 50);
  std::string message;
  const std::vector<std::string> first = {"Hello, ", "wor", "ld!\nThis ", "is a longer ", "line."};
  const std::vector<std::string> second = {"Next ", "message ", "here."};
  for (const auto& token : first) {
    incremental.append(token);
    message += token;
    full.rewrap_message(message);
  }
  EXPECT_EQ(rows(full, 6), rows(incremental, 6));
  // A new message starts after the last one; re-wrapping it leaves the first alone.
  incremental.append("\n");
  full.append("\n");
  full.begin_message();
  message.clear();
  for (const auto& token : second) {
    incremental.append(token);
    message += token;
    full.rewrap_message(message);
  }
  EXPECT_EQ(rows(full, 10), rows(incremental, 10));
  EXPECT_EQ(full.lines_written(), incremental.lines_written());
}

TEST(Transcript, BoundedInBytesOldestFirst) {
  Transcript t(10);
  t.append("aaaa");
  t.end_message();
  t.append("bbbb");
  t.end_message();
  t.append("ccc");
  EXPECT_EQ(t.bytes(), 7u);  // the first message went
  t.append(std::string(20, 'd'));
  EXPECT_LE(t.bytes(), 10u);
}

TEST(Transcript, KeepsTheNewestTextAcrossChunks) {
  // Three chunks' worth of text in one message, under a limit of two chunks.
  const std::size_t limit = 2 * Transcript::kChunkBytes;
  Transcript t(limit);
  std::string all;
  for (int i = 0; all.size() < 3 * Transcript::kChunkBytes; ++i) {
    const std::string token = "tok" + std::to_string(i) + " ";
    t.append(token);
    all += token;
    ASSERT_LE(t.bytes(), limit);
  }
  const std::string kept = t.text();
  EXPECT_EQ(kept.size(), t.bytes());
  EXPECT_GE(kept.size(), limit / 2);
  EXPECT_EQ(kept, all.substr(all.size() - kept.size())) << "the newest text, intact";
  // Finished messages go whole, oldest first.
  Transcript m(10);
  m.append("aaaa");
  m.end_message();
  m.append("bbbb");
  m.end_message();
  m.append("cc");
  EXPECT_EQ(m.text(), "aaaabbbbcc");
  m.append("d");
  EXPECT_EQ(m.text(), "bbbbccd");
}

TEST(Transcript, AStreamingMessageOverTheLimitKeepsAllButAChunkOfIt) {
  const std::size_t limit = 8 * Transcript::kChunkBytes;
  Transcript t(limit);
  const std::string token(100, 'x');
  std::uint64_t least_after_filling = limit;
  for (std::size_t appended = 0; appended < 20 * Transcript::kChunkBytes; appended += token.size()) {
    t.append(token);
    ASSERT_LE(t.bytes(), limit);
    if (appended > limit) least_after_filling = std::min<std::uint64_t>(least_after_filling, t.bytes());
  }
  EXPECT_GE(least_after_filling, limit - Transcript::kChunkBytes) << "not swinging down to half the limit";
}

TEST(Transcript, ZeroBudgetKeepsNothing) {
  Transcript t(0);
  t.append("hello");
  EXPECT_EQ(t.bytes(), 0u);
}

}  // namespace
}  // namespace aiway
