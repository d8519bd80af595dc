#include "hub/hash.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "rerank/hub.hpp"

namespace rerank::hub_detail {
namespace {

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

std::string to_hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(digits[d[i] >> 4]);
    s.push_back(digits[d[i] & 15]);
  }
  return s;
}

class Digest {
 public:
  explicit Digest(const EVP_MD* md) {
    if (!c_.ctx || EVP_DigestInit_ex(c_.ctx, md, nullptr) != 1) throw HubError("OpenSSL: cannot initialise a digest");
  }
  void update(const void* p, size_t n) {
    if (n && EVP_DigestUpdate(c_.ctx, p, n) != 1) throw HubError("OpenSSL: digest update failed");
  }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(c_.ctx, out, &n) != 1) throw HubError("OpenSSL: digest final failed");
    return to_hex(out, n);
  }
 private:
  MdCtx c_;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Digest d(EVP_sha256());
  d.update(data.data(), data.size());
  return d.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw HubError("cannot read " + path.string() + " to check its sha256");
  Digest d(EVP_sha256());
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) d.update(buf.data(), n);
  if (std::ferror(f.get())) throw HubError("error reading " + path.string() + " to check its sha256");
  return d.hex();
}

std::string git_blob_sha1_hex(std::string_view data) {
  Digest d(EVP_sha1());
  std::string head = "blob " + std::to_string(data.size());
  d.update(head.data(), head.size() + 1);  // includes the NUL
  d.update(data.data(), data.size());
  return d.hex();
}

}  // namespace rerank::hub_detail
