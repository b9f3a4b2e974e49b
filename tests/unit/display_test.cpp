#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/scrollback.hpp"
#include "pipeline/transcript.hpp"

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

TEST(Transcript, ZeroBudgetKeepsNothing) {
  Transcript t(0);
  t.append("hello");
  EXPECT_EQ(t.bytes(), 0u);
}

}  // namespace
}  // namespace aiway
