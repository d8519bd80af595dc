// rerank rank: one query against documents (one per line, or JSON lines with "text"), printed as a ranking.
#include <fstream>

#include "cli.hpp"
#include "util/files.hpp"

namespace rerank::cli {
namespace {

std::string preview(const std::string& text, size_t chars) {
  // cut at a UTF-8 character boundary, on one line
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < text.size() && n < chars; ++n) {
    size_t len = 1;
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0xF0) len = 4; else if (c >= 0xE0) len = 3; else if (c >= 0xC0) len = 2;
    std::string ch = text.substr(i, len);
    if (ch == "\n" || ch == "\r" || ch == "\t") ch = " ";
    out += ch;
    i += len;
  }
  if (n >= chars && out.size() < text.size()) out += "...";
  return out;
}

std::vector<std::string> read_documents(std::istream& in, const std::string& source) {
  std::vector<std::string> docs;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[0] == '{') {
      nlohmann::json j;
      try {
        j = util::parse_json(line);
      } catch (const nlohmann::json::parse_error& e) {
        throw InputError(source + " line " + std::to_string(lineno) + ": looks like JSON but does not parse (" + e.what() + ")");
      }
      docs.push_back(field(j, "text", source, lineno));
    } else {
      docs.push_back(line);  // plain text: invalid UTF-8 is replaced with U+FFFD by the tokenizer
    }
  }
  return docs;
}

}  // namespace

void register_rank(CLI::App& app) {
  auto flags = std::make_shared<EngineFlags>();
  auto query = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>("-");
  auto top_k = std::make_shared<size_t>(0);
  auto as_json = std::make_shared<bool>(false);
  auto fallback = std::make_shared<std::string>();
  auto fallback_note = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("rank", "Rerank documents for one query with a cross-encoder (CrossEncoder.rank)");
  cmd->footer(
      "Documents: one per line of FILE (or stdin with -), or JSON lines with a \"text\" field.\n"
      "Prints rank, score, original position and a preview; --json prints one JSON object per result:\n"
      "{\"rank\", \"corpus_id\", \"score\", \"text\"}.\n"
      "--fallback-model DIR: when --model is a Hub id that cannot be had because the Hub cannot be reached (or\n"
      "HF_HUB_OFFLINE=1) and the cache lacks it, rank with DIR instead and say so in one line above the ranking\n"
      "(stderr with --json); the Hub is then given 3 s to connect.\n\n"
      "Example:\n"
      "  rerank rank -m ms-marco-MiniLM-L-6-v2 --query 'How do I reset my password?' --top-k 3 docs.txt");
  flags->add(cmd);
  flags->add_template(cmd);
  cmd->add_option("-q,--query", *query, "The query")->required();
  cmd->add_option("-k,--top-k", *top_k, "How many results to print (0 = all)")->capture_default_str();
  cmd->add_flag("--json", *as_json, "Machine-readable output, one JSON object per line");
  cmd->add_option("--fallback-model", *fallback, "Model directory to use when the Hub cannot be reached (see below)");
  cmd->add_option("--fallback-note", *fallback_note, "Text appended to the line that reports a fallback");
  cmd->add_option("file", *file, "Documents file, or - for stdin")->capture_default_str();
  cmd->callback([=] {
    std::vector<std::string> docs;
    if (*file == "-") {
      docs = read_documents(std::cin, "stdin");
    } else {
      std::ifstream in(*file);
      if (!in) throw InputError(*file + ": cannot open documents file");
      docs = read_documents(in, *file);
    }
    if (docs.empty()) throw InputError("no documents to rank (empty input)");
    ModelChoice choice{};
    if (fallback->empty()) {
      choice.directory = resolve_model(flags->model);
    } else {
      PullOptions hub;
      hub.connect_timeout_seconds = 3;
      choice = resolve_model_or_fallback(flags->model, *fallback, hub);
    }
    auto model = Model::load(choice.directory);
    if (choice.fell_back) {
      std::string line = "NOTE: " + flags->model + " is unavailable (" + choice.reason + "), so this ranks with " +
                         choice.directory.string() + "." + (fallback_note->empty() ? "" : " " + *fallback_note);
      std::fprintf(*as_json ? stderr : stdout, "%s\n", line.c_str());
    }
    CrossEncoder ce(model, flags->engine());
    auto t0 = std::chrono::steady_clock::now();
    auto ranked = ce.rank(*query, docs, *top_k, flags->predict());
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (*as_json) {
      for (size_t i = 0; i < ranked.size(); ++i) {
        emit({{"rank", i + 1}, {"corpus_id", ranked[i].corpus_id}, {"score", ranked[i].score}, {"text", docs[ranked[i].corpus_id]}});
      }
      return;
    }
    std::printf("Query: %s\n", query->c_str());
    std::printf("Reranked %zu documents in %.1f ms (%s):\n", docs.size(), ms, model->info().directory.string().c_str());
    for (size_t i = 0; i < ranked.size(); ++i) {
      std::printf("  %zu. [%.3f] %s  (was #%zu)\n", i + 1, ranked[i].score, preview(docs[ranked[i].corpus_id], 70).c_str(),
                  ranked[i].corpus_id + 1);
    }
  });
}

}  // namespace rerank::cli
