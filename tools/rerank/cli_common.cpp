#include <unistd.h>

#include "cli.hpp"

namespace rerank::cli {

void EngineFlags::add(CLI::App* cmd, bool with_batch) {
  cmd->add_option("-m,--model", model, "Model directory in Hugging Face layout, or a Hub id ORG/NAME[@REVISION] (pulled into the HF cache)")
      ->required();
  cmd->add_option("--max-length", max_length,
                  "Tokens per input, special tokens included (default: the model's: max_seq_length, else "
                  "tokenizer model_max_length capped by max_position_embeddings)");
  if (with_batch) cmd->add_option("--batch-size", batch_size, "Inputs per forward pass")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--threads", threads, "Worker threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  cmd->add_option("--precision", precision,
                  "Matrix products: fp32 (exact, the reference), bf16 (AMX/AVX512-BF16, ~1e-2 of fp32), int8 "
                  "(per-channel weights, per-token activations)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
}

void read_json_lines(std::istream& in, const std::string& source, size_t chunk,
                     const std::function<void(std::vector<nlohmann::json>&, size_t)>& on_batch) {
  std::vector<nlohmann::json> batch;
  std::string line;
  size_t lineno = 0, first = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(source + " line " + std::to_string(lineno) + ": invalid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw InputError(source + " line " + std::to_string(lineno) + ": expected a JSON object");
    if (batch.empty()) first = lineno;
    batch.push_back(std::move(j));
    if (batch.size() >= chunk) {
      on_batch(batch, first);
      batch.clear();
    }
  }
  if (!batch.empty()) on_batch(batch, first);
}

std::string field(const nlohmann::json& j, const char* key, const std::string& source, size_t line) {
  auto it = j.find(key);
  if (it == j.end()) throw InputError(source + " line " + std::to_string(line) + ": missing field \"" + key + "\"");
  if (!it->is_string()) throw InputError(source + " line " + std::to_string(line) + ": field \"" + key + "\" must be a string");
  return it->get<std::string>();
}

Progress::Progress(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::add(size_t n) {
  done_ += n;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  double s = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r%s: %zu done, %.1f/s ", label_.c_str(), done_, s > 0 ? done_ / s : 0.0);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!tty_ || done_ == 0) return;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r%s: %zu done in %.2f s (%.1f/s)\n", label_.c_str(), done_, s, s > 0 ? done_ / s : 0.0);
}

void emit(const nlohmann::ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), stdout);
}

}  // namespace rerank::cli
