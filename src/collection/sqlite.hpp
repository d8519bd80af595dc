// A thin RAII layer over SQLite: a connection, prepared statements, transactions. Errors throw rerank::Error
// naming the database file.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace rerank::sql {

class Db;

class Stmt {
 public:
  Stmt() = default;
  Stmt(Db& db, const char* sql);
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(o.st_) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  ~Stmt();

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);  ///< as TEXT
  Stmt& bind_blob(int i, std::string_view v);
  Stmt& bind_null(int i);
  /// Steps once: true while a row is available, false when done. Throws on error.
  bool step();
  /// Steps to completion and resets.
  void exec();
  void reset();

  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  double f64(int col) const { return sqlite3_column_double(st_, col); }
  std::string text(int col) const;
  std::string_view blob(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  Db* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

class Db {
 public:
  Db() = default;
  Db(const std::filesystem::path& file, bool create);
  Db(Db&& o) noexcept : db_(o.db_), file_(std::move(o.file_)) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  ~Db();

  void exec(const char* sql);
  int64_t scalar(const char* sql);  ///< first column of the first row (0 when no row)
  sqlite3* handle() { return db_; }
  const std::string& file() const { return file_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string file_;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace rerank::sql
