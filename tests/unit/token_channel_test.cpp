#include "pipeline/canary_injector.hpp"
#include "pipeline/token_channel.hpp"

#include "aiway/scenario_file.hpp"
#include "measure/allocation_counter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace aiway {
namespace {

Token data(std::uint64_t seq) {
  Token t;
  t.seq = seq;
  t.text = "msg" + std::to_string(seq);
  return t;
}

const std::atomic<bool> kNever{false};

// Pushes `n` data tokens in batches of `batch`; returns the pushed count.
std::size_t push_all(TokenProducer& channel, std::uint64_t n, std::size_t batch) {
  std::vector<Token> items(batch);
  std::size_t pushed = 0;
  for (std::uint64_t i = 0; i < n; i += batch) {
    const std::size_t k = std::min<std::uint64_t>(batch, n - i);
    for (std::size_t j = 0; j < k; ++j) items[j] = data(i + j);
    pushed += channel.push(items.data(), k, kNever);
  }
  channel.close();
  return pushed;
}

std::vector<std::uint64_t> pop_all(TokenChannel& channel) {
  std::vector<std::uint64_t> seqs;
  std::vector<Token> out(64);
  while (true) {
    const auto r = channel.pop(out.data(), out.size(), EventCount::kForever, kNever);
    for (std::size_t i = 0; i < r.count; ++i) seqs.push_back(out[i].seq);
    if (r.closed) return seqs;
  }
}

// Every test runs on every queue: the ring, moodycamel's and the mutex reference.
class TokenChannelImpl : public ::testing::TestWithParam<ChannelImpl> {};
INSTANTIATE_TEST_SUITE_P(Impls, TokenChannelImpl, ::testing::Values(ChannelImpl::ring, ChannelImpl::moodycamel, ChannelImpl::mutex),
                         [](const auto& info) {
                           return std::string(info.param == ChannelImpl::mutex ? "mutex"
                                              : info.param == ChannelImpl::ring ? "ring" : "moodycamel");
                         });

TEST_P(TokenChannelImpl, BlockPolicyDeliversEverythingInOrderAcrossThreads) {
  const Clock clock = Clock::steady();
  TokenChannel channel(100, Overflow::block, clock, 1, GetParam());
  std::vector<std::uint64_t> seqs;
  std::thread consumer([&] { seqs = pop_all(channel); });
  push_all(channel, 50'000, 37);
  consumer.join();
  ASSERT_EQ(seqs.size(), 50'000u);
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i);
  EXPECT_EQ(channel.stats().dropped_data, 0u);
  EXPECT_LE(channel.stats().max_depth, 100);  // the capacity is exact
  EXPECT_GT(channel.stats().max_depth, 0);
}

TEST_P(TokenChannelImpl, DropNewestKeepsTheFirstAndCountsTheRest) {
  const Clock clock = Clock::steady();
  TokenChannel channel(10, Overflow::drop_newest, clock, 0, GetParam());
  push_all(channel, 25, 25);  // nobody consumes while pushing
  EXPECT_EQ(channel.stats().dropped_data, 15u);
  const auto seqs = pop_all(channel);
  ASSERT_EQ(seqs.size(), 10u);
  EXPECT_EQ(seqs.front(), 0u);
  EXPECT_EQ(seqs.back(), 9u);
}

TEST_P(TokenChannelImpl, DropOldestKeepsTheNewestAndCountsTheRest) {
  const Clock clock = Clock::steady();
  TokenChannel channel(10, Overflow::drop_oldest, clock, 0, GetParam());
  push_all(channel, 25, 4);
  EXPECT_EQ(channel.stats().dropped_data, 15u);
  const auto seqs = pop_all(channel);
  ASSERT_EQ(seqs.size(), 10u);
  EXPECT_EQ(seqs.front(), 15u);
  EXPECT_EQ(seqs.back(), 24u);
}

TEST_P(TokenChannelImpl, DropsOfNonDataItemsAreCountedApart) {
  const Clock clock = Clock::steady();
  TokenChannel channel(1, Overflow::drop_newest, clock, 0, GetParam());
  Token items[2] = {data(0), data(1)};
  items[1].kind = TokenKind::complete;
  channel.push(items, 2, kNever);
  EXPECT_EQ(channel.stats().dropped_data, 0u);
  EXPECT_EQ(channel.stats().dropped_other, 1u);
}

TEST_P(TokenChannelImpl, LossyPoliciesAccountForEveryTokenUnderConcurrency) {
  for (Overflow policy : {Overflow::drop_newest, Overflow::drop_oldest}) {
    const Clock clock = Clock::steady();
    TokenChannel channel(64, policy, clock, 1, GetParam());
    std::vector<std::uint64_t> seqs;
    std::thread consumer([&] { seqs = pop_all(channel); });
    push_all(channel, 200'000, 50);
    consumer.join();
    EXPECT_EQ(seqs.size() + channel.stats().dropped_data, 200'000u) << to_string(policy);
    for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_LT(seqs[i - 1], seqs[i]) << "order kept";
  }
}

TEST_P(TokenChannelImpl, CanariesRewriteTheStreamAsPlanted) {
  const Clock clock = Clock::steady();
  ChannelCanaries canaries;
  canaries.drop_every = 5;
  canaries.reorder_every = 7;
  TokenChannel channel(100, Overflow::block, clock, 0, GetParam());
  CanaryInjector faulty(channel, canaries);
  push_all(faulty, 20, 3);  // data tokens 1..20 in batches of three
  const auto seqs = pop_all(channel);
  // 5th, 10th, 15th, 20th (seq 4, 9, 14, 19) dropped; the 7th and 14th (seq 6, 13) each come after their successor.
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{0, 1, 2, 3, 5, 7, 6, 8, 10, 11, 12, 15, 13, 16, 17, 18}));
  EXPECT_EQ(faulty.planted().drops, 4u);
  EXPECT_EQ(faulty.planted().reorders, 2u);
  EXPECT_EQ(channel.stats().dropped_data, 0u);  // not the policy: a silent, planted loss
}

TEST_P(TokenChannelImpl, PopTimesOutAtItsDeadline) {
  const Clock clock = Clock::steady();
  TokenChannel channel(4, Overflow::block, clock, 0, GetParam());
  Token out[4];
  const auto r = channel.pop(out, 4, monotonic_ns() + 2'000'000, kNever);
  EXPECT_EQ(r.count, 0u);
  EXPECT_FALSE(r.closed);
}

TEST_P(TokenChannelImpl, BlockedProducerGivesUpWhenCancelled) {
  const Clock clock = Clock::steady();
  TokenChannel channel(2, Overflow::block, clock, 0, GetParam());
  std::atomic<bool> cancel{false};
  Token items[5] = {data(0), data(1), data(2), data(3), data(4)};
  std::size_t pushed = 0;
  std::thread producer([&] { pushed = channel.push(items, 5, cancel); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  cancel.store(true);
  channel.wake_producer();
  producer.join();
  EXPECT_EQ(pushed, 2u);
  EXPECT_GT(channel.stats().blocked_ns, 0);
}

// A consumer that holds what it took for a while (a surface stage drawing)
// while the producer keeps pushing: every item it sees is intact, under every
// policy, so the producer never writes into what the consumer holds.
TEST_P(TokenChannelImpl, WhatTheConsumerHoldsIsNeverOverwritten) {
  for (Overflow policy : {Overflow::block, Overflow::drop_newest, Overflow::drop_oldest}) {
    const Clock clock = Clock::steady();
    TokenChannel channel(8, policy, clock, 1, GetParam(), 4);
    std::uint64_t seen = 0, intact = 0, last = 0;
    bool ordered = true;
    std::thread consumer([&] {
      for (;;) {
        const auto taken = channel.take(64, EventCount::kForever, kNever);
        for (std::size_t round = 0; round < 3; ++round) std::this_thread::yield();  // the producer runs meanwhile
        // Checked after the producer had its chance to write over what is held.
        for (const Token& t : taken.items) intact += t.text == "msg" + std::to_string(t.seq);
        for (const Token& t : taken.items) {
          ordered &= seen == 0 || t.seq > last;
          last = t.seq;
          ++seen;
        }
        EXPECT_LE(taken.items.size(), 4u);  // max_take
        channel.release();
        if (taken.closed) return;
      }
    });
    push_all(channel, 20'000, 7);
    consumer.join();
    EXPECT_EQ(intact, seen) << to_string(policy);
    EXPECT_TRUE(ordered) << to_string(policy);
    EXPECT_EQ(seen + channel.stats().dropped_data, 20'000u) << to_string(policy);
  }
}

// Text the slots already had room for travels without a heap allocation:
// buffers go round between the producer's items and the ring's slots.
TEST(TokenChannelRing, HundredByteTokensNeedNoAllocationOnceWarm) {
  if (!allocation_counting_active()) GTEST_SKIP() << "sanitizer builds keep their own operator new";
  const Clock clock = Clock::steady();
  TokenChannel channel(16, Overflow::block, clock, 0, ChannelImpl::ring, 8);
  std::vector<Token> items(8);
  const auto round = [&](std::uint64_t r) {
    for (std::size_t k = 0; k < items.size(); ++k) items[k].text.assign(100, char('a' + (r + k) % 26));
    ASSERT_EQ(channel.push(items.data(), items.size(), kNever), items.size());
    for (std::size_t k = 0; k < items.size();) {  // a take stops at the ring's end
      const auto taken = channel.take(8, EventCount::kForever, kNever);
      for (const Token& t : taken.items) EXPECT_EQ(t.text[0], char('a' + (r + k++) % 26));
      channel.release();
    }
  };
  for (std::uint64_t r = 0; r < 8; ++r) round(r);  // every slot has seen a 100-byte text
  const auto before = thread_allocations().allocations;
  for (std::uint64_t r = 8; r < 1000; ++r) round(r);
  EXPECT_EQ(thread_allocations().allocations - before, 0u);
}

TEST(TokenChannelRing, TextsLongerThanTheKeptSizeAreFreedOnRelease) {
  const Clock clock = Clock::steady();
  TokenChannel channel(4, Overflow::block, clock, 0, ChannelImpl::ring, 4);
  Token big;
  big.text.assign(TokenChannel::kKeptTextBytes + 1, 'x');
  ASSERT_EQ(channel.push(&big, 1, kNever), 1u);
  const auto taken = channel.take(4, EventCount::kForever, kNever);
  ASSERT_EQ(taken.items.size(), 1u);
  Token* slot = &taken.items[0];
  EXPECT_EQ(slot->text.size(), TokenChannel::kKeptTextBytes + 1);
  channel.release();
  EXPECT_LE(slot->text.capacity(), TokenChannel::kKeptTextBytes);
}

}  // namespace
}  // namespace aiway
