#include "results/history.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>

#include "compare/statistics.hpp"
#include "compare/verdict.hpp"

namespace aiway {
namespace {

constexpr const char* kSchema = "aiway-stress/history/v1";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& file) : file_(file) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      const int code = sqlite3_errcode(db);
      if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        throw InputError(fmt::format("{}: the history database is locked by another process (waited 5 s): {}", file,
                                     sqlite3_errmsg(db)));
      throw InputError(fmt::format("{}: not an aiway-stress history database: {}", file, sqlite3_errmsg(db)));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw InputError(fmt::format("{}: {}", file_, sqlite3_errmsg(sqlite3_db_handle(stmt_))));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  double real(int i) const { return sqlite3_column_double(stmt_, i); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string file_;
};

void exec(sqlite3* db, const char* sql, const std::string& file) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw InputError(fmt::format("{}: {}", file, message));
  }
}

}  // namespace

HistoryDb::HistoryDb(const std::filesystem::path& given, bool create) : file_(given.string()) {
  std::error_code ec;
  // One rule for every file aiway-stress writes (as --out): a symlink to a
  // regular file is followed, the link kept; a dangling one is refused.
  std::filesystem::path file = given;
  if (std::filesystem::is_symlink(given, ec)) {
    file = std::filesystem::canonical(given, ec);
    if (ec) throw InputError(fmt::format("{}: is a symlink to nothing: refusing to write through it", file_));
  }
  const bool exists = std::filesystem::exists(file, ec);
  if (!exists && !create) throw InputError(fmt::format("{}: no such history database", file_));
  if (exists && !std::filesystem::is_regular_file(file, ec))
    throw InputError(fmt::format("{}: is not a regular file, not a history database", file_));
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw InputError(fmt::format("{}: cannot open the history database: {}", file_, message));
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    // A file that exists must already be one of ours: never turn a stranger's database into one.
    bool ours = false, empty = true;
    {
      Statement tables(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", file_);
      while (tables.step()) {
        empty = false;
        ours |= tables.text(0) == "meta";
      }
    }
    if (!empty) {
      if (!ours) throw InputError(fmt::format("{}: a SQLite database, but not an aiway-stress history", file_));
      Statement schema(db_, "SELECT value FROM meta WHERE key = 'schema'", file_);
      if (!schema.step() || schema.text(0) != kSchema)
        throw InputError(fmt::format("{}: not a history this version reads ({})", file_, kSchema));
      return;
    }
    exec(db_,
         "BEGIN;"
         "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
         "CREATE TABLE runs(id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, added_at TEXT NOT NULL DEFAULT "
         "  (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), git TEXT NOT NULL, fingerprint TEXT NOT NULL, tool_version TEXT,"
         "  UNIQUE(started_at, fingerprint, git));"
         "CREATE TABLE samples(run_id INTEGER NOT NULL REFERENCES runs(id), scenario TEXT NOT NULL, metric TEXT NOT NULL,"
         "  repetition INTEGER NOT NULL, value REAL NOT NULL);"
         "CREATE INDEX samples_by_series ON samples(scenario, metric, run_id);"
         "COMMIT;",
         file_);
    Statement meta(db_, "INSERT INTO meta(key, value) VALUES ('schema', ?1)", file_);
    meta.bind(1, std::string(kSchema)).step();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

HistoryDb::~HistoryDb() { sqlite3_close(db_); }

std::int64_t HistoryDb::add(const RunResults& r) {
  if (r.interrupted) throw InputError("an interrupted run does not go into the history");
  if (r.scenarios.empty()) throw InputError("a run without scenarios does not go into the history");
  {
    Statement dup(db_, "SELECT id FROM runs WHERE started_at = ?1 AND fingerprint = ?2 AND git = ?3", file_);
    dup.bind(1, r.started_at).bind(2, r.machine.fingerprint).bind(3, r.tool.git);
    if (dup.step())
      throw InputError(fmt::format("{}: this run (started {}, git {}) is already in the history as run {}", file_,
                                   r.started_at, r.tool.git, dup.integer(0)));
  }
  exec(db_, "BEGIN", file_);
  try {
    Statement run(db_, "INSERT INTO runs(started_at, git, fingerprint, tool_version) VALUES (?1, ?2, ?3, ?4)", file_);
    run.bind(1, r.started_at).bind(2, r.tool.git).bind(3, r.machine.fingerprint).bind(4, r.tool.version).step();
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    Statement sample(db_, "INSERT INTO samples(run_id, scenario, metric, repetition, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                     file_);
    for (const auto& s : r.scenarios)
      for (const auto& metric : gating_metrics(s.scenario))
        for (std::size_t k = 0; k < s.repetitions.size(); ++k)
          if (const auto v = s.repetitions[k].metrics.get(metric)) {
            sample.bind(1, id).bind(2, s.scenario.name).bind(3, metric).bind(4, std::int64_t(k)).bind(5, *v).step();
            sample.reset();
          }
    exec(db_, "COMMIT", file_);
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<std::string> HistoryDb::fingerprints() const {
  std::vector<std::string> out;
  Statement q(db_, "SELECT DISTINCT fingerprint FROM runs ORDER BY fingerprint", file_);
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::vector<std::pair<std::string, std::string>> HistoryDb::series_keys(const std::string& fingerprint) const {
  std::vector<std::pair<std::string, std::string>> out;
  Statement q(db_,
              "SELECT DISTINCT s.scenario, s.metric FROM samples s JOIN runs r ON r.id = s.run_id "
              "WHERE r.fingerprint = ?1 ORDER BY s.scenario, s.metric",
              file_);
  q.bind(1, fingerprint);
  while (q.step()) out.emplace_back(q.text(0), q.text(1));
  return out;
}

std::vector<HistoryPoint> HistoryDb::series(const std::string& fingerprint, const std::string& scenario,
                                            const std::string& metric, std::size_t last, const std::string& before) const {
  Statement q(db_,
              "SELECT r.id, r.started_at, r.git, s.value FROM samples s JOIN runs r ON r.id = s.run_id "
              "WHERE r.fingerprint = ?1 AND s.scenario = ?2 AND s.metric = ?3 AND (?4 = '' OR r.started_at < ?4) "
              "ORDER BY r.started_at, r.id",
              file_);
  q.bind(1, fingerprint).bind(2, scenario).bind(3, metric).bind(4, before);
  std::vector<HistoryPoint> out;
  std::vector<double> values;
  auto flush = [&] {
    if (!values.empty()) out.back().median = median(values);
    values.clear();
  };
  while (q.step()) {
    if (out.empty() || out.back().run.id != q.integer(0)) {
      flush();
      out.push_back({{q.integer(0), q.text(1), q.text(2), fingerprint}, 0});
    }
    values.push_back(q.real(3));
  }
  flush();
  if (last > 0 && out.size() > last) out.erase(out.begin(), out.end() - std::ptrdiff_t(last));
  return out;
}

}  // namespace aiway
