#!/usr/bin/env bash
# Collections under faults (issue 16, item 4): `kill -9` at random points during `rerank index` (BM25 only, and
# with --bi-encoder), during an embedding backfill and during deletes, N times each; after every kill:
# PRAGMA integrity_check = ok, the collection opens, and resuming the same command ends with the document
# count and search results of a clean build. Then a disk that fills up mid-index (a small tmpfs when this runs
# as root and may mount, else a file-size limit): a clear error, exit 1, and the collection still opens with
# every batch committed before the error.
#   collection_faults.sh RERANK_CLI [ITERATIONS=50]     (ctest runs it with 3 iterations: collection_faults)
set -euo pipefail
cli=$(realpath "$1")
n=${2:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
bi="$root/tests/data/encoders/models/bi-tiny-mean"
work=$(mktemp -d /tmp/rerank-faults.XXXXXX)
trap 'umount "$work/full" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "collection_faults: FAILED: $*" >&2; exit 1; }

# 600 documents of a few sentences each: batches of 20 -> 30 transactions per run
python3 - "$work/corpus.jsonl" <<'PY'
import json, random, sys
random.seed(7)
words = "password reset login account security email token server network storage index query rank model".split()
with open(sys.argv[1], "w") as f:
    for i in range(600):
        text = ". ".join(" ".join(random.choice(words) for _ in range(12)) for _ in range(4))
        f.write(json.dumps({"_id": f"d{i}", "title": f"doc {i}", "text": text}) + "\n")
with open(sys.argv[1].replace("corpus", "big"), "w") as f:  # 8 MB: more than the 3 MiB disk of the last case
    for i in range(8000):
        text = " ".join(random.choice(words) + str(random.randint(0, 99999)) for _ in range(120))
        f.write(json.dumps({"_id": f"b{i}", "text": text}) + "\n")
PY
check() {  # check DIR: integrity, opens
  python3 - "$1/collection.sqlite" <<'PY' || fail "integrity_check of $1"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
r = c.execute("PRAGMA integrity_check").fetchone()[0]
sys.exit(0 if r == "ok" else f"integrity_check: {r}")
PY
}
count() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from documents").fetchone()[0])' "$1/collection.sqlite"; }
search() { "$cli" search -c "$1" --k 20 --json "${@:2}" "password reset token" | python3 -c 'import json,sys; j=json.load(sys.stdin); print([(h.get("id") or h.get("doc_id"), round(h["score"], 4)) for h in j.get("first_stage", j.get("results", []))])'; }
# kill_during NAME COMMAND...: runs COMMAND, kills it with SIGKILL after a random 0-1.5 s (or lets it finish)
kill_during() {
  "${@:2}" > /dev/null 2>&1 &
  local pid=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0, 1.5), 3))')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# the clean builds the killed ones must end equal to
"$cli" index -c "$work/clean" --batch-size 20 "$work/corpus.jsonl" > /dev/null 2>&1
"$cli" index -c "$work/clean-bi" --batch-size 20 --bi-encoder "$bi" --threads 1 "$work/corpus.jsonl" > /dev/null 2>&1
ref=$(search "$work/clean"); ref_bi=$(search "$work/clean-bi" --retriever dense)
[ "$(count "$work/clean")" = 600 ] || fail "clean build has $(count "$work/clean") documents"

kills=0
for kind in index index-bi backfill delete; do
  for ((i = 1; i <= n; i++)); do
    c="$work/c-$kind"
    rm -rf "$c"
    case $kind in
      index) kill_during x "$cli" index -c "$c" --batch-size 20 --throttle-ms 20 "$work/corpus.jsonl"
             check "$c"; "$cli" index -c "$c" --batch-size 20 "$work/corpus.jsonl" > /dev/null 2>&1
             [ "$(search "$c")" = "$ref" ] || fail "$kind #$i: search differs from the clean build" ;;
      index-bi) kill_during x "$cli" index -c "$c" --batch-size 20 --throttle-ms 20 --bi-encoder "$bi" --threads 1 "$work/corpus.jsonl"
             check "$c"; "$cli" index -c "$c" --batch-size 20 --bi-encoder "$bi" --threads 1 "$work/corpus.jsonl" > /dev/null 2>&1
             [ "$(search "$c" --retriever dense)" = "$ref_bi" ] || fail "$kind #$i: dense search differs from the clean build" ;;
      backfill) cp -r "$work/clean" "$c"
             kill_during x "$cli" index -c "$c" --batch-size 20 --throttle-ms 20 --bi-encoder "$bi" --threads 1
             check "$c"; "$cli" index -c "$c" --bi-encoder "$bi" --threads 1 > /dev/null 2>&1
             [ "$(search "$c" --retriever dense)" = "$ref_bi" ] || fail "$kind #$i: dense search after the backfill differs" ;;
      delete) cp -r "$work/clean" "$c"
             ids=$(seq 0 2 599 | sed 's/^/d/' | tr '\n' ' ')
             # shellcheck disable=SC2086
             kill_during x "$cli" index -c "$c" --delete $ids
             check "$c"; left=$(count "$c")
             [ "$left" = 600 ] || [ "$left" = 300 ] || fail "$kind #$i: $left documents after a killed delete (one transaction: 600 or 300)"
             # shellcheck disable=SC2086
             "$cli" index -c "$c" --delete $ids > /dev/null 2>&1
             [ "$(count "$c")" = 300 ] || fail "$kind #$i: the delete did not complete" ;;
    esac
    [ "$(count "$c")" = "$([ $kind = delete ] && echo 300 || echo 600)" ] || fail "$kind #$i: wrong document count"
    kills=$((kills + 1))
  done
  echo "collection_faults: kill -9 during $kind: $n runs, integrity ok, results equal the clean build"
done

# a disk that fills up mid-index
full="$work/full"
mkdir -p "$full"
if mount -t tmpfs -o size=3m tmpfs "$full" 2>/dev/null; then
  how="a 3 MiB tmpfs"
  set +e; "$cli" index -c "$full/c" --batch-size 20 "$work/big.jsonl" > "$work/full.out" 2> "$work/full.err"; rc=$?; set -e
else
  how="a 3 MiB file-size limit (no mount permission)"
  set +e; (trap '' XFSZ; ulimit -f 3072; exec "$cli" index -c "$full/c" --batch-size 20 "$work/big.jsonl") > "$work/full.out" 2> "$work/full.err"; rc=$?; set -e
fi
cat "$work/full.err" >&2
if [ $rc = 0 ]; then
  echo "collection_faults: the corpus fit in $how; no disk-full case"; fail "disk-full case did not fill the disk"
fi
[ $rc = 1 ] || fail "disk full: exit $rc (expected 1 with a message)"
grep -qiE "full|space|disk|too large|I/O" "$work/full.err" || fail "disk full: unclear message: $(cat "$work/full.err")"
cp -r "$full/c" "$work/after-full"  # the database and its WAL as the full disk left them
umount "$full" 2>/dev/null || true
check "$work/after-full"
kept=$(count "$work/after-full")
[ $((kept % 20)) = 0 ] || fail "disk full: $kept documents kept, not whole batches of 20"
"$cli" search -c "$work/after-full" --k 5 "password" > /dev/null || fail "disk full: the collection does not open"
echo "collection_faults: disk full ($how): exit 1 with \"$(tail -1 "$work/full.err")\"; the collection opens with $kept documents"
echo "collection_faults: $kills kills, $kills passed, 0 failed"
