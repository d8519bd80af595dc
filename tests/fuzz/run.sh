#!/usr/bin/env bash
# Runs the libFuzzer targets: run.sh BUILD_DIR SECONDS TARGET...   (make fuzz-smoke / make fuzz call it)
# Each target fuzz_NAME runs SECONDS on its corpus: BUILD_DIR/fuzz-corpus/NAME (what earlier runs found; kept
# between runs), the seeds made from tests/data (seed.py) and the checked-in inputs of tests/fuzz/corpus/NAME
# (hand-made seeds and the regression inputs of the crashes found). libFuzzer first runs every input of these
# directories, so a regression comes back as a failure at once. A crash, a leak, an input slower than
# FUZZ_TIMEOUT seconds or above FUZZ_RSS_MB of memory fails the target and leaves the input in
# BUILD_DIR/fuzz-artifacts/. Prints one line per target and "N passed, N failed".
set -uo pipefail
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
jobs=${FUZZ_JOBS:-1}
python3 "$here/seed.py" "$build/fuzz-seeds" || exit 1
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
declare -A max_len=([tokenizer_json]=65536 [corpus]=16384 [server]=8192 [hub]=16384 [model_config]=8192)
passed=0 failed=0 summary=()
for t in "$@"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: $bin is not built"; failed=$((failed + 1)); summary+=("$t: NOT BUILT"); continue; }
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work" "$here/corpus/$t" "$build/fuzz-seeds/$t"
  log="$build/fuzz-logs/$t.log"
  start=$SECONDS
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss" -max_len="${max_len[$t]:-4096}" \
    $([ "$jobs" -gt 1 ] && echo "-jobs=$jobs -workers=$jobs") -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$work" "$build/fuzz-seeds/$t" "$here/corpus/$t" > "$log" 2>&1
  rc=$?
  [ "$jobs" -gt 1 ] && cat fuzz-*.log >> "$log" 2>/dev/null && rm -f fuzz-*.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  line=$(printf '%-18s %5d s  %9s execs  cov %6s  corpus %5s' "$t" $((SECONDS - start)) "$execs" "${cov:-?}" "$(ls "$work" | wc -l)")
  if [ $rc = 0 ]; then
    passed=$((passed + 1)); summary+=("$line  ok")
  else
    failed=$((failed + 1)); summary+=("$line  FAILED (exit $rc; $log)")
    grep -m3 -E 'ERROR: |SUMMARY: |Test unit written' "$log" | sed 's/^/    /'
  fi
  echo "${summary[-1]}"
done
echo "== fuzz ($seconds s per target)"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $passed passed, $failed failed"
[ $failed = 0 ]
