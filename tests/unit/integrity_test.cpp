#include "pipeline/integrity.hpp"

#include <gtest/gtest.h>

namespace aiway {
namespace {

TEST(StreamIntegrity, InOrderIsClean) {
  StreamIntegrity check;
  for (std::uint64_t i = 0; i < 100; ++i) EXPECT_EQ(check.observe(i), StreamIntegrity::Verdict::in_order);
  check.end(100);
  EXPECT_EQ(check.missing(), 0u);
  EXPECT_EQ(check.duplicated(), 0u);
  EXPECT_EQ(check.reordered(), 0u);
}

TEST(StreamIntegrity, GapIsMissing) {
  StreamIntegrity check;
  for (std::uint64_t i : {0, 1, 5, 6}) check.observe(i);
  EXPECT_EQ(check.missing(), 3u);  // 2, 3, 4
}

TEST(StreamIntegrity, LateTokenIsAReorderNotALoss) {
  StreamIntegrity check;
  for (std::uint64_t i : {0, 2, 1, 3}) check.observe(i);
  EXPECT_EQ(check.reordered(), 1u);
  EXPECT_EQ(check.missing(), 0u);
  EXPECT_EQ(check.duplicated(), 0u);
}

TEST(StreamIntegrity, DuplicatesDoNotCancelLosses) {
  // The seed's abs(sent - received) would call this clean: 4 sent, 4 received.
  StreamIntegrity check;
  for (std::uint64_t i : {0, 1, 1, 3}) check.observe(i);
  EXPECT_EQ(check.duplicated(), 1u);
  EXPECT_EQ(check.missing(), 1u);
}

TEST(StreamIntegrity, DuplicateOfAFilledGapIsADuplicate) {
  StreamIntegrity check;
  for (std::uint64_t i : {0, 3, 1, 1, 2, 2}) check.observe(i);
  EXPECT_EQ(check.reordered(), 2u);
  EXPECT_EQ(check.duplicated(), 2u);
  EXPECT_EQ(check.missing(), 0u);
}

TEST(StreamIntegrity, LostTailIsSeenAtTheEnd) {
  StreamIntegrity check;
  for (std::uint64_t i = 0; i < 7; ++i) check.observe(i);
  check.end(10);
  EXPECT_EQ(check.missing(), 3u);
}

}  // namespace
}  // namespace aiway
