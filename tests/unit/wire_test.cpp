// ai-way's framing and messages: the values of the protocol's own examples,
// any split of the byte stream, the faults a decoder must survive, and the
// Token fast path agreeing with the full JSON parser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "upstream/token_text.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace aiway::wire {
namespace {

TEST(Frame, Crc32IsZlibsIsoHdlc) { EXPECT_EQ(crc32("123456789"), 0xCBF43926u); }

TEST(Frame, TheProtocolsExampleHeader) {
  const std::string json = R"({"QuitRequested":{"event_id":"evt_1"}})";
  ASSERT_EQ(json.size(), 38u);
  EXPECT_EQ(quit_requested_event("evt_1"), json);
  const std::string f = frame(json);
  const unsigned char header[8] = {0x00, 0x00, 0x00, 0x26, 0x5A, 0xC4, 0xF9, 0x3F};
  EXPECT_EQ(f.substr(0, 8), std::string(reinterpret_cast<const char*>(header), 8));
  EXPECT_EQ(f.substr(8), json);
}

TEST(Frame, DecodesWhateverTheReadSizes) {
  std::string stream;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string text;
    token_text(std::uint64_t(i), std::uint32_t(10 + i % 50), i % 3 == 0, text);
    std::string json;
    append_token_message(json, "msg_1", text);
    sent.push_back(json);
    append_frame(stream, json);
  }
  std::mt19937 rng(7);
  FrameDecoder decoder;
  std::vector<std::string> got;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 97);
    decoder.feed(stream.data() + at, n);
    at += n;
    while (decoder.next() == FrameDecoder::Status::frame) got.emplace_back(decoder.payload());
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Frame, SkipsABadCrcAndStopsForGoodOnAnOverlongLength) {
  std::string bad = frame(R"({"Token":{"message_id":"m","text":"x"}})");
  bad[5] = char(bad[5] ^ 1);
  std::string stream = bad + frame(R"("QueryCapabilities")");
  FrameDecoder d;
  d.feed(stream.data(), stream.size());
  EXPECT_EQ(d.next(), FrameDecoder::Status::bad_crc);
  EXPECT_EQ(d.next(), FrameDecoder::Status::frame) << "the frame after a bad CRC is read: its length was known";
  EXPECT_EQ(d.payload(), R"("QueryCapabilities")");
  const unsigned char huge[8] = {0x00, 0xA0, 0x00, 0x01, 0, 0, 0, 0};  // 10 MiB + 1
  d.feed(reinterpret_cast<const char*>(huge), 8);
  EXPECT_EQ(d.next(), FrameDecoder::Status::too_long);
  EXPECT_EQ(d.declared_length(), kMaxFrameBytes + 1);
  EXPECT_TRUE(d.broken());
  const std::string more = frame(R"("QueryCapabilities")");
  d.feed(more.data(), more.size());
  EXPECT_EQ(d.next(), FrameDecoder::Status::too_long) << "nothing after it can be framed";
}

TEST(Frame, AcceptsTheLargestFrame) {
  const std::string json = "\"" + std::string(kMaxFrameBytes - 2, 'a') + "\"";
  const std::string f = frame(json);
  FrameDecoder d;
  d.feed(f.data(), f.size());
  EXPECT_EQ(d.next(), FrameDecoder::Status::frame);
  EXPECT_EQ(d.payload().size(), kMaxFrameBytes);
}

TEST(Messages, TheTokenFastPathAgreesWithTheJsonParser) {
  for (const std::string& text : {std::string("t1.abc"), std::string("quote \" and \\ backslash"), std::string("tab\tnew\nline"),
                                 std::string("\x01\x1f control"), std::string("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string()}) {
    std::string json;
    append_token_message(json, "msg_7", text);
    const auto parsed = nlohmann::json::parse(json);  // the encoder writes valid JSON
    EXPECT_EQ(parsed["Token"]["text"], text);
    ConductorMessage m;
    ASSERT_TRUE(parse_conductor_message(json, m)) << json;
    EXPECT_EQ(m.kind, ConductorMessage::Kind::token);
    EXPECT_EQ(m.message_id, "msg_7");
    EXPECT_EQ(m.text, text);
  }
  // Shapes the fast path leaves to the parser: other field order, \u escapes, surrogate pairs, spaces.
  for (const std::string& json : {std::string(R"({"Token":{"text":"a\u00e9b","message_id":"x"}})"),
                                 std::string(R"({"Token":{"message_id":"x","text":"\ud83d\ude00"}})"),
                                 std::string(R"( {"Token": {"message_id": "x", "text": "sp"}} )")}) {
    ConductorMessage m;
    ASSERT_TRUE(parse_conductor_message(json, m)) << json;
    EXPECT_EQ(m.kind, ConductorMessage::Kind::token) << json;
    EXPECT_EQ(m.text, nlohmann::json::parse(json)["Token"]["text"].get<std::string>()) << json;
  }
}

TEST(Messages, UndecodableMessagesAreRefused) {
  ConductorMessage m;
  EXPECT_FALSE(parse_conductor_message("{not json", m));
  EXPECT_FALSE(parse_conductor_message(R"({"NoSuchVariant":{}})", m));
  EXPECT_FALSE(parse_conductor_message(R"({"Token":{"message_id":"x"}})", m)) << "a missing field";
  EXPECT_FALSE(parse_conductor_message(R"({"Token":{"message_id":"x","text":"a)", m)) << "truncated";
  EXPECT_TRUE(parse_conductor_message(R"("QueryCapabilities")", m)) << "declared, never sent: parsed and ignored";
  EXPECT_TRUE(parse_conductor_message(R"({"ConversationCreated":{"id":"c"}})", m));
  EXPECT_TRUE(parse_conductor_message(R"({"State":{"state":"Ready","extra":1}})", m)) << "unknown fields are ignored";
  EXPECT_EQ(m.kind, ConductorMessage::Kind::state);
  EXPECT_EQ(m.text, "Ready");
}

TEST(Messages, SurfaceEventsRoundTrip) {
  SurfaceEvent e;
  ASSERT_TRUE(parse_surface_event(handshake_event("evt_1"), e));
  EXPECT_EQ(e.kind, SurfaceEvent::Kind::handshake);
  EXPECT_EQ(e.protocol_version, 1);
  EXPECT_EQ(nlohmann::json::parse(handshake_event("e"))["Handshake"]["capabilities"].size(), 13u);
  ASSERT_TRUE(parse_surface_event(user_message_event("evt_2", "hi \"there\"\n"), e));
  EXPECT_EQ(e.kind, SurfaceEvent::Kind::user_message);
  EXPECT_EQ(e.event_id, "evt_2");
  EXPECT_EQ(e.content, "hi \"there\"\n");
  ASSERT_TRUE(parse_surface_event(connected_event("evt_3"), e));
  EXPECT_EQ(e.kind, SurfaceEvent::Kind::connected);
  EXPECT_FALSE(parse_surface_event(R"({"UserMessage":{"event_id":"e"}})", e)) << "content is required";
  EXPECT_FALSE(parse_surface_event(R"({"Teleport":{"event_id":"e"}})", e));
}

TEST(TokenText, NamesItsSequenceNumberAndIsCheckable) {
  std::string text;
  token_text(42, 16, false, text);
  EXPECT_EQ(text.size(), 16u);
  EXPECT_EQ(text.substr(0, 4), "t42.");
  EXPECT_EQ(token_seq(text), 42u);
  token_text(12345678, 4, false, text);
  EXPECT_EQ(text, "t12345678.") << "never shorter than its tag";
  token_text(3, 20, true, text);
  EXPECT_EQ(text.size(), 20u);
  EXPECT_NE(multibyte_offset(text), std::string::npos);
  EXPECT_EQ(text.find("[yolla:"), std::string::npos);
  EXPECT_FALSE(token_seq("x1.abc"));
  EXPECT_FALSE(token_seq("t.abc"));
  EXPECT_FALSE(token_seq("t12abc"));
}

}  // namespace
}  // namespace aiway::wire
