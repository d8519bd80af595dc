// rerank/error.hpp — the exception types the library throws for user errors.
//
//   try { auto m = rerank::Model::load("models/ce"); }
//   catch (const rerank::ModelError& e) { std::cerr << e.what() << "\n"; return 1; }
//
// Every message names the file, field or input at fault. Library bugs are asserts, never these types.
// Thread safety: plain value types.
#pragma once
#include <stdexcept>
#include <string>

namespace rerank {

/// Base of every error the library reports to a user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A model directory or one of its files is missing, unreadable or inconsistent.
class ModelError : public Error {
 public:
  using Error::Error;
};

/// A request (texts, JSON, options) is malformed.
class InputError : public Error {
 public:
  using Error::Error;
};

/// A remote service failed: HTTP error, timeout, malformed answer. The message names the URL, the HTTP status
/// and the service's own message; status() is the HTTP status (0 for transport failures and malformed answers).
class RemoteError : public Error {
 public:
  explicit RemoteError(const std::string& message, long status = 0) : Error(message), status_(status) {}
  long status() const { return status_; }

 private:
  long status_;
};

}  // namespace rerank
