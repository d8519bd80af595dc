#!/usr/bin/env bash
# Long fuzzing on idle CPU: every target at once, each under `nice -n 19` (and SCHED_IDLE where chrt allows it,
# so measurements running beside it lose almost nothing) in slices of SLICE seconds, until the
# time UNTIL (anything `date -d` reads, e.g. 08:30); the CPU time of each slice (user + system, /usr/bin/time,
# all threads) is appended to BUILD_DIR/fuzz-logs/cpu.tsv ("target<TAB>user_s<TAB>sys_s<TAB>exit<TAB>end time").
# Corpora as tests/fuzz/run.sh (BUILD_DIR/fuzz-corpus/NAME grows); a crash ends that slice with its input in
# BUILD_DIR/fuzz-artifacts/ and the next slice goes on. `cpu_hours.sh BUILD_DIR --sum` prints the CPU hours per
# target so far. With FUZZ_GOAL_CPU_H=H a target stops once cpu.tsv holds H CPU-hours for it (counted across runs),
# so the others get its core. Hours of earlier sessions, whose build trees are gone, are carried in
# tests/fuzz/cpu-hours-earlier.tsv (same columns, committed): --sum and the goal count them too.
#
#   tests/fuzz/cpu_hours.sh build-fuzz 08:30 [SLICE=600] [TARGET...]   (make fuzz-build first)
#   FUZZ_GOAL_CPU_H=1 tests/fuzz/cpu_hours.sh build-fuzz 20:30 900
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
cpu="$build/fuzz-logs/cpu.tsv"
earlier="$here/cpu-hours-earlier.tsv"
ledgers() { cat "$earlier" "$cpu" 2>/dev/null; }  # every slice counted so far, earlier sessions first
if [ "${2:-}" = --sum ]; then
  awk -F'\t' '{u[$1] += $2 + $3; n[$1]++; if ($4 != 0 && $4 != 72) c[$1]++}
    END {for (t in u) printf "%-18s %6.2f CPU-h  %3d slices  %d findings (non-zero exits other than 72, interrupted)\n", t, u[t] / 3600, n[t], c[t]}' < <(ledgers) | sort
  exit 0
fi
until_epoch=$(date -d "$2" +%s) || exit 2
slice=${3:-600}
shift $(( $# < 3 ? $# : 3 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tokenizer_json tokenizer_encode model_config safetensors corpus qrels_run queries server hub)
declare -A max_len=([tokenizer_json]=65536 [corpus]=16384 [server]=8192 [hub]=16384 [model_config]=8192)
python3 "$here/seed.py" "$build/fuzz-seeds" || exit 1
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
idle=(nice -n 19)
chrt --idle 0 true 2>/dev/null && idle=(chrt --idle 0 nice -n 19)
# SIGTERM to this script (e.g. `pkill -TERM -f "cpu_hours.sh BUILD_DIR"`) ends the run early: each running fuzzer
# gets SIGINT, and the CPU time of its cut slice is still recorded (exit 72 = interrupted).
cpu_hours_of() {  # CPU-hours the ledgers (earlier sessions + cpu.tsv) hold for target $1
  ledgers | awk -F'\t' -v t="$1" '$1 == t {s += $2 + $3} END {printf "%.4f", s / 3600}'
}
goal_reached() {
  [ -n "${FUZZ_GOAL_CPU_H:-}" ] && awk -v h="$(cpu_hours_of "$1")" -v g="$FUZZ_GOAL_CPU_H" 'BEGIN {exit !(h >= g)}'
}
run_target() {
  local t=$1 bin="$build/tests/fuzz/fuzz_$1" left stop=0 child="" tf="$build/fuzz-logs/$1.$BASHPID.time"
  trap 'stop=1; [ -z "$child" ] || pkill -INT -P "$child"' TERM INT
  mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-seeds/$t" "$here/corpus/$t"
  while left=$((until_epoch - $(date +%s))); [ "$left" -gt 30 ] && [ "$stop" = 0 ] && ! goal_reached "$t"; do
    [ "$left" -lt "$slice" ] || left=$slice
    TMPDIR=$tmp ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} UBSAN_OPTIONS=print_stacktrace=1 \
      /usr/bin/time -f "%U %S %x" -o "$tf" "${idle[@]}" "$bin" -max_total_time="$left" \
      -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len="${max_len[$t]:-4096}" \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
      "$build/fuzz-corpus/$t" "$build/fuzz-seeds/$t" "$here/corpus/$t" >> "$build/fuzz-logs/$t.long.log" 2>&1 &
    child=$!
    while kill -0 "$child" 2>/dev/null; do wait "$child"; done  # a trap interrupts wait: wait again
    child=""
    read -r u s x < <(tail -1 "$tf")
    rm -f "$tf"
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$u" "$s" "$x" "$(date -u +%H:%M:%S)" >> "$cpu"
    [ "$x" = 0 ] || [ "$stop" = 1 ] || sleep 5  # a finding: its input is in fuzz-artifacts/; go on with the next slice
  done
}
# the harnesses write each input to files under $TMPDIR (the readers take paths): on tmpfs, not the disk's journal
tmp=${TMPDIR:-/tmp}
[ -n "${TMPDIR:-}" ] || { [ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm; }
pids=()
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { echo "not built: fuzz_$t" >&2; exit 1; }
  run_target "$t" &
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM INT
while [ -n "$(jobs -r)" ]; do wait; done
"$0" "$build" --sum
