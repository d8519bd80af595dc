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

}  // namespace rerank
