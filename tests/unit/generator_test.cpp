#include "stages/generator.hpp"

#include <gtest/gtest.h>

namespace aiway {
namespace {

TEST(Generator, ShortMessagesAreMsgIndex) {
  std::string out;
  generate_message(10, 0, out);
  EXPECT_EQ(out, "msg0");
  generate_message(10, 999999, out);
  EXPECT_EQ(out, "msg999999");
  generate_message(5, 42, out);  // rapid-tokens' size 5 is still msg{i}, never cut
  EXPECT_EQ(out, "msg42");
}

TEST(Generator, NumbersAreWrittenAsStdToStringWritesThem) {
  std::string out;
  for (const std::uint64_t i : {0ull, 9ull, 10ull, 99ull, 100ull, 101ull, 999ull, 1000ull, 12345ull, 9999999999ull,
                                18446744073709551615ull}) {
    generate_message(10, i, out);
    EXPECT_EQ(out, "msg" + std::to_string(i));
    generate_message(10000, i, out);
    EXPECT_EQ(out.substr(0, 12 + std::to_string(i).size() + 5), "=== Message " + std::to_string(i) + " ===\n");
  }
}

TEST(Generator, OneMillionShortMessagesAre8888890Bytes) {
  std::string out;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < 1'000'000; ++i) {
    generate_message(10, i, out);
    ASSERT_GE(out.size(), 4u);
    ASSERT_LE(out.size(), 9u);
    total += out.size();
  }
  EXPECT_EQ(total, 8'888'890u);  // the seed generator's byte count for 1,000,000 messages
}

TEST(Generator, CountingUpGivesEveryMessageAsFormattingItDoes) {
  // Through every carry (9 -> 10, 99 -> 100, ...), repeated per stream, with
  // jumps, short and padded; and a long size, which it hands to generate_message.
  for (const std::uint32_t size : {5u, 10u, 12u, 100u, 1000u}) {
    MessageGenerator first(size);
    std::string text;
    first.write(18446744073709551615ull, text);
    EXPECT_EQ(text.substr(0, 8), size > 100 ? "=== Mess" : "msg18446");
    MessageGenerator generator(size);
    std::string counted, formatted;
    auto check = [&](std::uint64_t i) {
      generator.write(i, counted);
      generate_message(size, i, formatted);
      ASSERT_EQ(counted, formatted) << "size " << size << ", message " << i;
    };
    for (std::uint64_t i = 0; i < 20'000; ++i) {
      check(i);
      if (i % 7 == 0) check(i);  // the next stream's copy
    }
    for (const std::uint64_t i : {5ull, 4ull, 999'999ull, 1'000'000ull, 1'000'001ull, 18446744073709551614ull,
                                  18446744073709551615ull, 0ull, 1ull})
      check(i);
  }
}

TEST(Generator, MediumMessagesArePaddedToExactlyTheirSize) {
  std::string out;
  generate_message(100, 7, out);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(out.substr(0, 5), "msg7x");
  EXPECT_EQ(out.find_first_not_of('x', 4), std::string::npos);
  generate_message(100, 123456, out);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(out.substr(0, 10), "msg123456x");
}

TEST(Generator, LongMessagesAreHeaderAndLoremSentences) {
  std::string out;
  generate_message(10000, 0, out);
  const std::string header = "=== Message 0 ===\n";
  ASSERT_EQ(out.substr(0, header.size()), header);
  // max(1, (10000 - (18 + 10)) / 57) = 174 sentences of 57 bytes after the 18-byte header.
  EXPECT_EQ(out.size(), 18u + 174u * 57u);
  EXPECT_EQ(out.substr(18, 57), "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ");
  generate_message(10000, 999, out);
  EXPECT_EQ(out.size(), 20u + 174u * 57u);  // (10000 - 30) / 57 = 174
}

TEST(Generator, PlantedCommandsAreSpreadEvenly) {
  EXPECT_EQ(planted_command_position(0, 4, 100), 20u);
  EXPECT_EQ(planted_command_position(3, 4, 100), 80u);
  EXPECT_EQ(planted_command(0), "[yolla:mood happy]");
}

}  // namespace
}  // namespace aiway
