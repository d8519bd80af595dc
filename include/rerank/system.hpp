// rerank/system.hpp — what the engine runs on: CPU features and the kernels chosen for them.
//
//   std::cout << rerank::cpu_features() << " / " << rerank::kernel_description() << "\n";
//
// Thread safety: both functions are safe to call from any thread.
#pragma once
#include <string>

namespace rerank {

/// The SIMD features of this CPU that matter to the engine, e.g. "avx2 fma avx512f avx512_vnni avx512_bf16 amx".
std::string cpu_features();

/// Whether this CPU computes bf16 products natively (AVX512-BF16 or AMX-BF16): bf16 is then 2-3x fp32's speed.
bool has_native_bf16();

/// The kernels in use, e.g. "openblas 0.3.21 sgemm (SkylakeX), scalar elementwise".
std::string kernel_description();

}  // namespace rerank
