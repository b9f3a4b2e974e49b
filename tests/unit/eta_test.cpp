// The progress line's time left: at the pace so far, with the re-runs of
// disturbed repetitions to come counted in, so it does not grow with each.
#include <gtest/gtest.h>

#include "run/eta.hpp"

namespace aiway {
namespace {

TEST(Eta, IsThePaceSoFarTimesWhatIsLeft) {
  EXPECT_DOUBLE_EQ(eta_seconds(10, 5, 0, 15), 30);
  EXPECT_DOUBLE_EQ(eta_seconds(0, 0, 0, 15), 0) << "no pace yet";
}

TEST(Eta, CountsTheReRunsToComeAtTheShareSoFar) {
  // Half the attempts were taken again: each repetition left costs two.
  EXPECT_DOUBLE_EQ(eta_seconds(10, 10, 5, 10), 20);
  // A run taking 1 s an attempt, one in four disturbed: 12 planned, the
  // estimate after 4 attempts is what the remaining 9 take at that rate.
  EXPECT_DOUBLE_EQ(eta_seconds(4, 4, 1, 9), 12);
  // Nearly everything disturbed: capped, still finite.
  EXPECT_DOUBLE_EQ(eta_seconds(10, 10, 10, 1), 4);
}

}  // namespace
}  // namespace aiway
