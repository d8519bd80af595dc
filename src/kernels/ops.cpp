#include "kernels/ops.hpp"

#include <algorithm>
#include <cmath>

namespace rerank::kernels {

bool parse_act(const std::string& name, Act* out) {
  if (name == "gelu" || name == "gelu_python") *out = Act::Gelu;
  else if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") *out = Act::GeluTanh;
  else if (name == "relu") *out = Act::Relu;
  else if (name == "tanh") *out = Act::Tanh;
  else if (name == "silu" || name == "swish") *out = Act::Silu;
  else return false;
  return true;
}

void bias_act_row(float* y, const float* bias, size_t n, Act act) {
  if (bias) {
    for (size_t i = 0; i < n; ++i) y[i] += bias[i];
  }
  switch (act) {
    case Act::None:
      break;
    case Act::Gelu:  // transformers' GELUActivation: 0.5 x (1 + erf(x / sqrt 2))
      for (size_t i = 0; i < n; ++i) y[i] = 0.5f * y[i] * (1.0f + std::erf(y[i] * 0.70710678118654752f));
      break;
    case Act::GeluTanh:  // NewGELUActivation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      for (size_t i = 0; i < n; ++i) {
        float x = y[i];
        y[i] = 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
      }
      break;
    case Act::Relu:
      for (size_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.0f);
      break;
    case Act::Tanh:
      for (size_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
      break;
    case Act::Silu:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] / (1.0f + std::exp(-y[i]));
      break;
  }
}

void residual_layernorm_row(float* x, const float* y, const float* bias, const float* gamma, const float* beta,
                            size_t n, float eps) {
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    float v = x[i] + (y ? y[i] : 0.0f) + (bias ? bias[i] : 0.0f);
    x[i] = v;
    sum += v;
  }
  const float mean = sum / static_cast<float>(n);
  float var = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    float d = x[i] - mean;
    var += d * d;
  }
  const float inv = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (size_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

void softmax_row(float* x, size_t n, float scale) {
  float mx = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    x[i] *= scale;
    mx = std::max(mx, x[i]);
  }
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace rerank::kernels
