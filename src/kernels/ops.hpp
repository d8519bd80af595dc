// Element-wise and row-wise kernels of the encoder: bias, activations, residual + LayerNorm, softmax.
// Scalar C++ written so the compiler vectorises it; every function is the exact reference for faster variants.
#pragma once
#include <cstddef>
#include <string>

namespace rerank::kernels {

enum class Act { None, Gelu, GeluTanh, Relu, Tanh, Silu };

/// Maps config.json's `hidden_act` to an Act. Returns false for an unsupported name.
bool parse_act(const std::string& name, Act* out);

/// y[i] = act(y[i] + bias[i]) for one row of n values (bias may be null).
void bias_act_row(float* y, const float* bias, size_t n, Act act);

/// x = LayerNorm(x + y + bias) over one row of n values (bias may be null), gamma/beta affine, eps as in config.
void residual_layernorm_row(float* x, const float* y, const float* bias, const float* gamma, const float* beta,
                            size_t n, float eps);

/// In-place softmax of one row of n values, scaled first by `scale`.
void softmax_row(float* x, size_t n, float scale);

}  // namespace rerank::kernels
