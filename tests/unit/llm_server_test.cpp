// The harness's upstream as a server on the loopback: idle connections cost
// no thread, and a peer that stops reading holds up no other answer.
#include <gtest/gtest.h>

#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "measure/clock.hpp"
#include "net/socket.hpp"
#include "upstream/llm_server.hpp"

namespace aiway {
namespace {

int threads_of_this_process() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  while (const dirent* e = dir ? ::readdir(dir) : nullptr)
    if (e->d_name[0] != '.') ++n;
  if (dir) ::closedir(dir);
  return n;
}

std::string request_text(std::string_view body) {
  return "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// Reads until the last chunk of a chunked body (or the deadline); what came.
std::string read_answer(int fd, double timeout_ms) {
  std::string got;
  char buffer[65536];
  const std::int64_t deadline = monotonic_ns() + std::int64_t(timeout_ms * 1e6);
  while (got.find("\r\n0\r\n\r\n") == std::string::npos && monotonic_ns() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got.append(buffer, std::size_t(n));
  }
  return got;
}

bool wait_until(const std::function<bool()>& done, double timeout_ms) {
  const std::int64_t deadline = monotonic_ns() + std::int64_t(timeout_ms * 1e6);
  while (!done()) {
    if (monotonic_ns() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(LlmServer, ThousandsOfIdleConnectionsCostNoThreadAndHoldUpNoAnswer) {
  const std::uint64_t limit = net::raise_descriptor_limit();
  // Both ends of each connection are in this process.
  const std::size_t idle_count = std::min<std::size_t>(4000, (limit - 200) / 2);
  AnswerPlan plan;
  plan.tokens = 50;
  plan.rate_tps = 1000;
  plan.max_connections = std::uint32_t(idle_count + 10);
  LlmServer server(plan);
  server.start();
  const int threads_before = threads_of_this_process();
  std::vector<net::Fd> idle;
  for (std::size_t i = 0; i < idle_count; ++i) {
    idle.push_back(net::connect_tcp("127.0.0.1", server.port(), 2000));
    ASSERT_TRUE(idle.back()) << "connection " << i;
  }
  ASSERT_TRUE(wait_until([&] { return server.open_connections() == idle_count; }, 20'000)) << server.open_connections();
  EXPECT_EQ(threads_of_this_process(), threads_before) << "an idle connection cost a thread";

  net::Fd asking = net::connect_tcp("127.0.0.1", server.port(), 2000);
  const std::string request = request_text(R"({"model":"m","prompt":"p"})");
  ASSERT_EQ(net::send_all(asking.get(), request, 2000), net::IoStatus::ok);
  const std::string answer = read_answer(asking.get(), 20'000);
  EXPECT_NE(answer.find("\"t49."), std::string::npos) << "the last token did not come";
  EXPECT_NE(answer.find("\"done\":true"), std::string::npos);
  EXPECT_EQ(server.refused_connections(), 0u);
  idle.clear();
  server.stop();
  const auto answers = server.answers();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].tokens_sent, 50u);
  EXPECT_TRUE(answers[0].completed);
}

TEST(LlmServer, APeerThatStopsReadingHoldsUpNoOtherAnswer) {
  AnswerPlan plan;
  plan.tokens = 20'000;
  plan.size = 1000;  // 20 MB flat out: far more than two socket buffers hold
  plan.write_timeout_ms = 60'000;
  LlmServer server(plan);
  server.start();
  net::Fd stalled = net::connect_tcp("127.0.0.1", server.port(), 2000);
  const std::string request = request_text(R"({"model":"m","prompt":"p"})");
  ASSERT_EQ(net::send_all(stalled.get(), request, 2000), net::IoStatus::ok);
  // The stalled answer has filled what the kernel holds and waits for its reader.
  ASSERT_TRUE(wait_until([&] { return server.tokens_sent() > 0; }, 10'000));
  net::Fd reading = net::connect_tcp("127.0.0.1", server.port(), 2000);
  ASSERT_EQ(net::send_all(reading.get(), request, 2000), net::IoStatus::ok);
  const std::string answer = read_answer(reading.get(), 50'000);
  EXPECT_NE(answer.find("\"done\":true"), std::string::npos) << "the reading peer's answer did not end while another waited";
  server.stop();
  const auto answers = server.answers();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_FALSE(answers[0].completed) << "the stalled answer cannot have been written whole";
  EXPECT_LT(answers[0].tokens_sent, plan.tokens);
  EXPECT_TRUE(answers[1].completed);
  EXPECT_EQ(answers[1].tokens_sent, plan.tokens);
}

}  // namespace
}  // namespace aiway
