// rerank/hub.hpp — models from the Hugging Face Hub, in the Hugging Face cache layout.
//
//   // "ORG/NAME", "ORG/NAME@REVISION" or an existing directory -> a model directory
//   auto model = rerank::Model::load(rerank::resolve_model("cross-encoder/ms-marco-MiniLM-L-6-v2"));
//
//   rerank::PullResult r = rerank::pull_model("sentence-transformers/all-MiniLM-L6-v2", {.revision = "main"});
//   std::cout << r.snapshot << " @ " << r.commit << "\n";
//
// Files land where huggingface_hub puts them, so either reuses the other's downloads:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)/models--ORG--NAME/
//     blobs/<etag>                    the bytes (etag = sha256 for LFS files, git blob sha1 otherwise)
//     snapshots/<commit>/<file>       relative symlinks into ../../blobs
//     refs/<revision>                 the commit a branch or tag resolved to
//     .no_exist/<commit>/<file>       empty markers for optional files the repo does not have
// What is fetched: config.json; tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt;
// modules.json, sentence_bert_config.json, config_sentence_transformers.json and each module folder's
// config.json; model.safetensors, else model.safetensors.index.json and its shards. config.json, the weights and
// a tokenizer (tokenizer.json or vocab.txt) are required; other files the repo lacks are skipped.
//
// Environment (as huggingface_hub): HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the file
// HF_TOKEN_PATH, default $HF_HOME/token) sent as "Authorization: Bearer", HF_HUB_OFFLINE=1, HF_HOME, HF_HUB_CACHE.
// Integrity: sizes are checked against X-Linked-Size / Content-Length, LFS files against their sha256; a bad
// download is deleted and retried with backoff; an interrupted one resumes from blobs/<etag>.incomplete with a
// Range request. A revision that is a commit sha already in the cache makes no request at all; a branch makes one
// HEAD request and transfers nothing when its commit is cached. Offline, only the cache is used.
//
// Thread safety: pull_model and resolve_model may be called concurrently from any threads and processes, also on
// the same repo: each blob is downloaded under an exclusive lock file (.locks/models--ORG--NAME/<etag>.lock) and
// moved into place atomically; snapshot links and refs are replaced atomically.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "rerank/error.hpp"

namespace rerank {

/// The Hub or the cache could not give a model: bad repo id, HTTP error, integrity failure, offline miss.
class HubError : public Error {
 public:
  using Error::Error;
};

/// The model could not be had without the Hub, and the Hub could not be reached (host unknown, connection
/// refused or not made within connect_timeout_seconds) or offline mode is on; the cache lacks what was asked.
class HubUnreachable : public HubError {
 public:
  using HubError::HubError;
};

struct PullOptions {
  std::string revision = "main";  ///< branch, tag or 40-hex commit sha
  bool offline = false;           ///< cache only (also when HF_HUB_OFFLINE is 1/true/yes/on)
  std::string endpoint;           ///< "" = $HF_ENDPOINT or https://huggingface.co
  std::string token;              ///< "" = $HF_TOKEN, else the token file
  std::filesystem::path cache_dir;  ///< "" = $HF_HUB_CACHE, else $HF_HOME/hub
  int max_attempts = 5;           ///< per file, for transport errors, 5xx/429 and integrity failures
  double backoff_seconds = 0.5;   ///< wait before retry n is backoff * 2^(n-1), capped at 8 s
  long timeout_seconds = 30;      ///< abort when no byte arrives for this long
  double connect_timeout_seconds = 10;  ///< to connect (TCP + TLS); not connected in time = unreachable (no retry)
  enum class ProgressBar { Auto, Never, Always } progress = ProgressBar::Auto;  ///< Auto: when stderr is a tty
};

struct PullResult {
  std::filesystem::path snapshot;  ///< $cache/models--ORG--NAME/snapshots/<commit>
  std::string commit;              ///< 40-hex commit sha
  size_t files = 0;                ///< files present in the snapshot for this model
  size_t downloaded_files = 0;     ///< files whose bytes were transferred by this call
  uint64_t downloaded_bytes = 0;   ///< body bytes received (all attempts)
  size_t requests = 0;             ///< HTTP requests made (HEAD + GET)
  bool from_cache_only = false;    ///< offline, or the Hub was unreachable and the cache had the revision
};

/// Downloads (or finds in the cache) the files of Hub model `repo_id` ("ORG/NAME") that rerank needs.
/// Throws HubError with a message naming the repo, revision and file at fault.
PullResult pull_model(const std::string& repo_id, const PullOptions& options = {});

/// An existing directory is returned as is. Otherwise `id_or_path` must be "ORG/NAME" or "ORG/NAME@REVISION"
/// (`options.revision` is the default revision); the model is pulled (or found in the cache) and its snapshot
/// directory returned. Throws HubError.
std::filesystem::path resolve_model(const std::string& id_or_path, const PullOptions& options = {});

/// What resolve_model_or_fallback chose.
struct ModelChoice {
  std::filesystem::path directory;  ///< the model directory to load
  bool fell_back = false;           ///< true: `directory` is the fallback
  std::string reason;               ///< when fell_back: why the requested model could not be had (one line)
};

/// resolve_model, except that when `id_or_path` is a Hub id the Hub cannot give (HubUnreachable: unreachable or
/// offline, and not in the cache) the `fallback` directory is returned with the reason. Every other error (no
/// such repo, HTTP errors, integrity failures, a missing fallback directory) still throws HubError.
ModelChoice resolve_model_or_fallback(const std::string& id_or_path, const std::filesystem::path& fallback,
                                      const PullOptions& options = {});

/// Whether `id` is a valid "ORG/NAME" Hub repo id (letters, digits, '-', '_', '.'; no "--" or ".."; at most 96
/// characters; no leading or trailing '-' or '.' in either part).
bool is_hub_repo_id(const std::string& id);

/// The Hugging Face hub cache directory from the environment ($HF_HUB_CACHE, $HF_HOME/hub,
/// $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub).
std::filesystem::path hub_cache_dir();

}  // namespace rerank
