#include "pipeline/pipeline.hpp"

#include <fmt/format.h>

#include <chrono>

namespace aiway {

Pipeline::Pipeline(const Scenario& scenario, const Clock& clock, StageSet stages)
    : scenario_(scenario),
      clock_(clock),
      stages_(std::move(stages)),
      streams_(stages_.backend->streams()),
      channel_(scenario.channel.capacity, scenario.channel.overflow, clock, scenario.pipeline.spin_us,
               scenario.channel.impl, scenario.pipeline.batch),
      canaries_(channel_, canaries_for(scenario.faults)),
      surface_channel_(scenario.surface_channel.capacity, scenario.surface_channel.overflow, clock,
                       scenario.pipeline.spin_us, scenario.surface_channel.impl, scenario.pipeline.batch),
      backend_(scenario, clock, *stages_.backend, canaries_, control_),
      conductor_(scenario, clock, *stages_.conductor, streams_, channel_, surface_channel_, control_),
      surface_(scenario, clock, *stages_.surface, streams_, surface_channel_, control_) {}

Pipeline::~Pipeline() {
  if (!threads_.empty()) abort();
}

void Pipeline::stage_finished(std::atomic<bool>& flag) {
  flag.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    running_.fetch_sub(1, std::memory_order_acq_rel);
  }
  finished_.notify_all();
}

template <class Body>
void Pipeline::guarded(const char* stage, Body&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    {
      std::lock_guard lock(mutex_);
      if (stage_failure_.empty()) stage_failure_ = fmt::format("{}: out of memory (std::bad_alloc)", stage);
    }
    request_stop();
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      if (stage_failure_.empty()) stage_failure_ = fmt::format("{}: {}", stage, e.what());
    }
    request_stop();
  }
}

std::string Pipeline::stage_failure() const {
  std::lock_guard lock(mutex_);
  return stage_failure_;
}

void Pipeline::start() {
  start_ns_ = clock_.now_ns();
  running_.store(3);
  // Consumers first, so the backend's first token finds them ready.
  threads_.emplace_back([this] {
    guarded("surface", [&] { surface_.run(start_ns_); });
    stage_finished(surface_done_);
  });
  threads_.emplace_back([this] {
    guarded("conductor", [&] { conductor_.run(); });
    stage_finished(conductor_done_);
  });
  threads_.emplace_back([this] {
    guarded("backend", [&] { backend_.run(start_ns_); });
    stage_finished(backend_done_);
  });
}

bool Pipeline::wait_until(std::int64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  while (running_.load(std::memory_order_acquire) > 0) {
    const std::int64_t left = deadline_ns - monotonic_ns();
    if (left <= 0) return false;
    finished_.wait_for(lock, std::chrono::nanoseconds(left));
  }
  lock.unlock();
  join();
  return true;
}

void Pipeline::abort() {
  request_stop();
  join();
}

void Pipeline::request_stop() {
  control_.aborted.store(true, std::memory_order_release);
  control_.backend_stop.store(true, std::memory_order_release);
  control_.conductor_attention.store(true, std::memory_order_release);
  control_.surface_attention.store(true, std::memory_order_release);
  channel_.wake_producer();
  channel_.wake_consumer();
  surface_channel_.wake_producer();
  surface_channel_.wake_consumer();
}

void Pipeline::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

PipelineProgress Pipeline::progress() const {
  PipelineProgress p;
  p.backend_sent = backend_.progress().load(std::memory_order_relaxed);
  p.conductor_in = conductor_.progress().load(std::memory_order_relaxed);
  p.surface_delivered = surface_.progress().load(std::memory_order_relaxed);
  p.channel_depth = channel_.depth();
  p.surface_channel_depth = surface_channel_.depth();
  p.backend_done = backend_done_.load(std::memory_order_acquire);
  p.conductor_done = conductor_done_.load(std::memory_order_acquire);
  p.surface_done = surface_done_.load(std::memory_order_acquire);
  return p;
}

std::vector<Gauge> Pipeline::depth_gauges() const {
  return {[this] { return channel_.depth(); }, [this] { return surface_channel_.depth(); }};
}

}  // namespace aiway
