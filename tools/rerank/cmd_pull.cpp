// rerank pull: download a model from the Hugging Face Hub into the Hugging Face cache; print its directory.
#include <unistd.h>

#include "cli.hpp"

namespace rerank::cli {

void register_pull(CLI::App& app) {
  auto repo = std::make_shared<std::string>();
  auto opts = std::make_shared<PullOptions>();
  CLI::App* cmd = app.add_subcommand("pull", "Download a model from the Hugging Face Hub (or find it in the cache)");
  cmd->footer(
      "Fetches config.json, the tokenizer files, the sentence-transformers files and the safetensors weights into\n"
      "the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) exactly as\n"
      "huggingface_hub does, so either reuses the other's downloads, and prints the snapshot directory.\n"
      "Environment: HF_ENDPOINT, HF_TOKEN (or HF_TOKEN_PATH, $HF_HOME/token), HF_HUB_OFFLINE=1.\n"
      "A second pull of a cached revision transfers nothing; interrupted downloads resume; LFS files are checked\n"
      "against their sha256. Every --model also accepts ORG/NAME or ORG/NAME@REVISION.\n\n"
      "Example:\n"
      "  rerank pull cross-encoder/ms-marco-MiniLM-L-6-v2\n"
      "  rerank predict -m cross-encoder/ms-marco-MiniLM-L-6-v2 < pairs.jsonl");
  cmd->add_option("repo", *repo, "Hub model id ORG/NAME")->required();
  cmd->add_option("--revision", opts->revision, "Branch, tag or commit sha")->capture_default_str();
  cmd->add_flag("--offline", opts->offline, "Use the cache only (as HF_HUB_OFFLINE=1)");
  cmd->callback([repo, opts] {
    PullResult r = pull_model(*repo, *opts);
    if (r.from_cache_only && !opts->offline && isatty(STDERR_FILENO))
      std::fprintf(stderr, "rerank: the Hub could not be reached or offline mode is on; using the cached %s\n", r.commit.c_str());
    std::cout << r.snapshot.string() << "\n";
  });
}

}  // namespace rerank::cli
