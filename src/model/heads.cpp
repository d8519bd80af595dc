#include "model/heads.hpp"

#include <algorithm>
#include <cmath>

namespace rerank::model {
namespace {

// y = W x + b in double accumulation (a few rows per batch: exactness over speed)
void matvec(const Linear& l, const float* x, float* y) {
  for (int o = 0; o < l.out; ++o) {
    double acc = l.b ? l.b[o] : 0.0;
    const float* row = l.w + static_cast<size_t>(o) * l.in;
    for (int k = 0; k < l.in; ++k) acc += static_cast<double>(row[k]) * x[k];
    y[o] = static_cast<float>(acc);
  }
}

}  // namespace

void ClassificationHead::apply(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const {
  const size_t H = static_cast<size_t>(dense.in), nl = static_cast<size_t>(out.out);
  std::vector<float> in(H), hidden(static_cast<size_t>(dense.out));
  for (size_t i = 0; i < seqs.size(); ++i) {
    const float* x = &s.x[s.offsets[i] * H];
    if (input == Input::First) {
      std::copy(x, x + H, in.begin());
    } else {
      std::vector<double> acc(H, 0.0);
      for (size_t t = 0; t < seqs[i].len; ++t)
        for (size_t k = 0; k < H; ++k) acc[k] += x[t * H + k];
      for (size_t k = 0; k < H; ++k) in[k] = static_cast<float>(acc[k] / static_cast<double>(seqs[i].len));
    }
    matvec(dense, in.data(), hidden.data());
    kernels::bias_act_row(hidden.data(), nullptr, hidden.size(), act);
    if (has_norm) layernorm_row(hidden.data(), hidden.data(), norm, hidden.size(), eps);
    matvec(out, hidden.data(), logits + i * nl);
  }
}

void pool(const ModelInfo& info, const std::vector<Sequence>& seqs, const Scratch& s, float* out) {
  const size_t H = static_cast<size_t>(info.hidden_size);
  const size_t dim = static_cast<size_t>(info.embedding_dim());
  const std::vector<std::string> modes = info.pooling.empty() ? std::vector<std::string>{"cls"} : info.pooling;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const float* x = &s.x[s.offsets[i] * H];
    const size_t len = seqs[i].len;
    float* o = out + i * dim;
    size_t col = 0;
    for (const std::string& m : modes) {
      float* dst = o + col;
      if (m == "cls") {
        std::copy(x, x + H, dst);
      } else if (m == "lasttoken") {
        std::copy(x + (len - 1) * H, x + len * H, dst);
      } else if (m == "max") {
        std::copy(x, x + H, dst);
        for (size_t t = 1; t < len; ++t)
          for (size_t k = 0; k < H; ++k) dst[k] = std::max(dst[k], x[t * H + k]);
      } else {  // mean, mean_sqrt_len, weightedmean (weights 1..len, as sentence-transformers)
        std::vector<double> acc(H, 0.0);
        double wsum = 0.0;
        for (size_t t = 0; t < len; ++t) {
          const double wt = m == "weightedmean" ? static_cast<double>(t + 1) : 1.0;
          wsum += wt;
          for (size_t k = 0; k < H; ++k) acc[k] += wt * x[t * H + k];
        }
        const double div = m == "mean_sqrt_len" ? std::sqrt(static_cast<double>(len)) : wsum;
        for (size_t k = 0; k < H; ++k) dst[k] = static_cast<float>(acc[k] / div);
      }
      col += H;
    }
    if (info.normalize) {  // torch.nn.functional.normalize: x / max(||x||, 1e-12)
      double n2 = 0.0;
      for (size_t k = 0; k < dim; ++k) n2 += static_cast<double>(o[k]) * o[k];
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(n2), 1e-12));
      for (size_t k = 0; k < dim; ++k) o[k] *= inv;
    }
  }
}

}  // namespace rerank::model
