// Digests the Hub uses to name and check files: sha256 (LFS files) and the git blob sha1 (regular files).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace rerank::hub_detail {

/// Lowercase hex sha256 of `data`.
std::string sha256_hex(std::string_view data);
/// Lowercase hex sha256 of a file's bytes, streamed. Throws HubError naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);
/// Lowercase hex git blob id: sha1("blob <size>\0" + data), what the Hub gives as ETag for non-LFS files.
std::string git_blob_sha1_hex(std::string_view data);

}  // namespace rerank::hub_detail
