#include "rerank/system.hpp"

#include <cblas.h>

#include "kernels/convert.hpp"
#include "kernels/simd.hpp"

namespace rerank {

std::string cpu_features() {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  __builtin_cpu_init();
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512vnni"), "avx512_vnni");
  add(__builtin_cpu_supports("avx512bf16"), "avx512_bf16");
#if !defined(__clang__) || __clang_major__ >= 16  // clang 14 (the fuzz build) knows no AMX feature names
  add(__builtin_cpu_supports("amx-tile"), "amx_tile");
  add(__builtin_cpu_supports("amx-bf16"), "amx_bf16");
  add(__builtin_cpu_supports("amx-int8"), "amx_int8");
#endif
  return s.empty() ? "baseline x86-64" : s;
}

bool has_native_bf16() { return kernels::has_avx512_bf16(); }  // every AMX-BF16 CPU has AVX512-BF16 too

std::string kernel_description() {
  std::string core = openblas_get_corename();
  return "gemm: oneDNN brgemm on prepacked weights (fp32, bf16, int8; OpenBLAS sgemm (" + core +
         ") for fp32 models over the packing cap and decoders); row kernels: highway " + kernels::simd::target_name() +
         "; bf16 convert: " + (kernels::has_avx512_bf16() ? "avx512_bf16" : "scalar") +
         "; attention: packed variable-length, batched over heads (oneDNN)";
}

}  // namespace rerank
