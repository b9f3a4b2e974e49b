#include "files/output_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace aiway {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporary) {
  const auto dir = std::filesystem::temp_directory_path() / ("aiway-atomic-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "results.json";
  write_file_atomically(file, "old");
  write_file_atomically(file, "new content");
  EXPECT_EQ(read(file), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, UnwritablePlacesAreReportedAndTheOldFileSurvives) {
  EXPECT_THROW(check_writable("/nonexistent-dir/x.json"), OutputError);
  EXPECT_THROW(write_file_atomically(std::filesystem::temp_directory_path(), "x"), OutputError);
}

}  // namespace
}  // namespace aiway
