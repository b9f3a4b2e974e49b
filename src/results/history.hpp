// The nightly job's memory: a SQLite database of runs (git revision, start
// time, machine fingerprint) and every repetition's gating metrics, so a run
// can be judged against the recent runs of its machine and change points can
// be found over the whole series. One file, created on first use; a file that
// is not such a database is refused, never overwritten.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "aiway/input_error.hpp"
#include "aiway/results.hpp"

struct sqlite3;

namespace aiway {

struct HistoryRun {
  std::int64_t id = 0;
  std::string started_at, git, fingerprint;
};
// One run's median of one metric.
struct HistoryPoint {
  HistoryRun run;
  double median = 0;
};

class HistoryDb {
 public:
  // Opens the database; create: make it when the file does not exist.
  HistoryDb(const std::filesystem::path& file, bool create);
  ~HistoryDb();
  HistoryDb(const HistoryDb&) = delete;
  HistoryDb& operator=(const HistoryDb&) = delete;

  // Stores a run with the gating metrics of each scenario, in one transaction.
  // Refuses an interrupted run, a run without repetitions and a run already stored.
  std::int64_t add(const RunResults& results);
  std::vector<std::string> fingerprints() const;
  // (scenario, metric) pairs stored for a fingerprint.
  std::vector<std::pair<std::string, std::string>> series_keys(const std::string& fingerprint) const;
  // Per-run medians, oldest first: the last `last` runs of the fingerprint
  // (0: all) that started before `before` (ISO 8601; empty: any).
  std::vector<HistoryPoint> series(const std::string& fingerprint, const std::string& scenario, const std::string& metric,
                                   std::size_t last = 0, const std::string& before = "") const;

 private:
  sqlite3* db_ = nullptr;
  std::string file_;
};

}  // namespace aiway
