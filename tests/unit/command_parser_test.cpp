#include "stages/command_parser.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace aiway {
namespace {

struct Fed {
  std::vector<std::string> clean;  // per token
  std::vector<std::string> commands;
};

Fed feed_all(const std::vector<std::string>& tokens) {
  CommandParser parser;
  Fed fed;
  for (const auto& token : tokens) {
    std::string clean;
    const bool unchanged = parser.feed(token, clean, [&](const AvatarCommand& c) {
      fed.commands.push_back(std::string(c.name) + "|" + std::string(c.args));
    });
    fed.clean.push_back(unchanged ? token : clean);
  }
  std::string tail;
  parser.flush(tail);
  fed.clean.push_back(tail);
  return fed;
}

TEST(CommandParser, PlainTextPassesThroughUnchanged) {
  CommandParser parser;
  std::string clean;
  EXPECT_TRUE(parser.feed("hello world", clean, [](const AvatarCommand&) { FAIL(); }));
  EXPECT_TRUE(clean.empty());
}

TEST(CommandParser, RemovesAWholeCommand) {
  const Fed fed = feed_all({"Hi [yolla:mood happy]there"});
  EXPECT_EQ(fed.clean[0], "Hi there");
  ASSERT_EQ(fed.commands.size(), 1u);
  EXPECT_EQ(fed.commands[0], "mood|happy");
}

TEST(CommandParser, CommandSplitAcrossTokensIsStillACommand) {
  // ai-way shows "[yolla:mo" + "od happy]" as text; this parser carries state.
  const Fed fed = feed_all({"msg1[yolla:mo", "od happy]msg2"});
  EXPECT_EQ(fed.clean[0], "msg1");
  EXPECT_EQ(fed.clean[1], "msg2");
  ASSERT_EQ(fed.commands.size(), 1u);
  EXPECT_EQ(fed.commands[0], "mood|happy");
}

TEST(CommandParser, SplitInsideThePrefixAndAcrossThreeTokens) {
  const Fed fed = feed_all({"a[", "yol", "la:move 50 75]b"});
  EXPECT_EQ(fed.clean[0] + fed.clean[1] + fed.clean[2], "ab");
  ASSERT_EQ(fed.commands.size(), 1u);
  EXPECT_EQ(fed.commands[0], "move|50 75");
}

TEST(CommandParser, BracketThatIsNotACommandStaysText) {
  const Fed fed = feed_all({"see [1] and [yol", "dle] done"});
  EXPECT_EQ(fed.clean[0] + fed.clean[1], "see [1] and [yoldle] done");
  EXPECT_TRUE(fed.commands.empty());
}

TEST(CommandParser, BracketInsideACommandRestartsMatching) {
  const Fed fed = feed_all({"[yolla:mo[yolla:wave]x"});
  EXPECT_EQ(fed.clean[0], "[yolla:mox");
  ASSERT_EQ(fed.commands.size(), 1u);
  EXPECT_EQ(fed.commands[0], "wave|");
}

TEST(CommandParser, SeveralCommandsInOneToken) {
  const Fed fed = feed_all({"[yolla:wave][yolla:mood sad]ok[yolla:task start coder write tests]"});
  EXPECT_EQ(fed.clean[0], "ok");
  EXPECT_EQ(fed.commands.size(), 3u);
}

TEST(CommandParser, UnterminatedCommandIsTextAtStreamEnd) {
  const Fed fed = feed_all({"x[yolla:mood hap"});
  EXPECT_EQ(fed.clean[0], "x");
  EXPECT_EQ(fed.clean[1], "[yolla:mood hap");
  EXPECT_TRUE(fed.commands.empty());
}

TEST(CommandParser, OverlongCommandIsText) {
  const std::string body(CommandParser::kMaxCommandBytes + 10, 'a');
  const Fed fed = feed_all({"[yolla:" + body + "]"});
  EXPECT_EQ(fed.clean[0] + fed.clean[1], "[yolla:" + body + "]");
  EXPECT_TRUE(fed.commands.empty());
}

TEST(CommandValidation, KnownNamesAndArgumentLimits) {
  EXPECT_TRUE(is_valid_command({"mood", "happy"}));
  EXPECT_TRUE(is_valid_command({"move", "50 75"}));
  EXPECT_TRUE(is_valid_command({"wave", ""}));
  EXPECT_TRUE(is_valid_command({"task", "start coder write tests"}));
  EXPECT_FALSE(is_valid_command({"move", "50"}));
  EXPECT_FALSE(is_valid_command({"wave", "hello"}));
  EXPECT_FALSE(is_valid_command({"explode", ""}));
}

}  // namespace
}  // namespace aiway
