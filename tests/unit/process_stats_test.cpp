#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <string>

#include "measure/process_stats.hpp"

namespace aiway {
namespace {

// VmRSS from /proc/self/status: the same figure by another file and parser.
std::int64_t status_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

// One open reader, read again and again, follows pages as they are touched and
// given back, and agrees with /proc/self/status.
TEST(RssReader, FollowsTheResidentSetAsPagesComeAndGo) {
  const RssReader reader;
  constexpr std::size_t kBytes = 64 << 20;
  const std::int64_t before = reader.bytes();
  ASSERT_GT(before, 0);
  void* block = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(block, MAP_FAILED);
  std::memset(block, 1, kBytes);
  const std::int64_t touched = reader.bytes();
  const std::int64_t by_status = status_rss_bytes();
  munmap(block, kBytes);
  const std::int64_t after = reader.bytes();
  EXPECT_GE(touched - before, std::int64_t(kBytes) - (4 << 20));
  EXPECT_NEAR(double(touched), double(by_status), double(4 << 20));
  EXPECT_LE(after, touched - std::int64_t(kBytes) + (4 << 20));
  EXPECT_NEAR(double(rss_bytes()), double(after), double(4 << 20));
}

}  // namespace
}  // namespace aiway
