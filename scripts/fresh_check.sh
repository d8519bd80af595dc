#!/usr/bin/env bash
# make fresh-check: the README's two commands on a bare Debian 12 root, so a used machine cannot hide a missing package.
#
#   1. debootstrap a minimal (minbase) Debian 12 root from the mirror in this machine's own apt sources; the
#      bootstrapped base is cached as a tarball under ~/.cache/rerank-fresh-check (FRESH_CHECK_REBUILD=1 redoes it)
#   2. `git clone` the working tree's HEAD into it as /root/rerank (uncommitted changes are not part of the check)
#   3. carry exactly what a fresh machine of this world has to reach the package registries, nothing else: the CA
#      certificates of /usr/local/share/ca-certificates/, world-readable /etc/pip.conf and /etc/npmrc, the PIP_*,
#      *_CA_* and SSL_CERT_* environment variables, and for apt the host's Debian sources (bookworm, -updates,
#      -security) plus its Acquire proxy / Check-Valid-Until / Check-Date settings when it has any
#   4. chroot in (a private mount namespace with /proc, /sys, /dev, /dev/pts, /dev/shm; unmounted on every exit
#      path), install `make` (the one prerequisite of the README besides git), then run `make demo` and `make test`
#      as root with HOME=/root and a clean environment
# Fails if either command fails, naming it and printing its last lines. Logs: build/fresh-check/*.log.
# Runs as root (re-executes itself with sudo otherwise); installs debootstrap on the host when it is missing.
set -euo pipefail

if [ "${1:-}" = --inner ]; then
  # ---- inside `unshare --mount`: mount, chroot, run one command, unmount (trap covers every exit path) ----
  root=$2 step=$3 log=$4
  shift 4
  mounted=()
  umount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
    mounted=()
  }
  trap umount_all EXIT
  trap 'exit 130' INT TERM HUP
  mnt() {  # mnt TARGET mount-args...
    local target=$root$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
  }
  mount --make-rprivate /  # nothing mounted here propagates back to the host
  # The root itself as a mount point, as on a real machine: without it the chroot's /proc/self/mounts has no entry
  # for "/", and programs that look up the file system of a path fail (Java's Files.getFileStore: "Mount point not
  # found", which stops OpenSearch's nodes in the opensearch_cluster test).
  mount --bind "$root" "$root"
  mounted+=("$root")
  mnt /proc -t proc proc
  mnt /sys -t sysfs sysfs
  mnt /dev --bind /dev
  mnt /dev/pts -t devpts devpts -o newinstance,ptmxmode=0666,mode=0620
  mnt /dev/shm -t tmpfs tmpfs -o mode=1777,size=1g
  set +e
  chroot "$root" /usr/bin/env -i "$@" /bin/bash -c "$step" >"$log" 2>&1 < /dev/null &
  child=$!
  tail --pid="$child" -n +1 -F "$log" 2>/dev/null &
  wait "$child"
  rc=$?
  sleep 0.5
  exit $rc
fi

# ---- outside: prepare the root ----
self=$(readlink -f "$0")
if [ "$(id -u)" != 0 ]; then exec sudo --preserve-env "$self" "$@"; fi
repo=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm
arch=$(dpkg --print-architecture)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rerank-fresh-check
base=$cache/debian-$suite-minbase-$arch.tar.gz
logs=$repo/build/fresh-check
mkdir -p "$cache" "$logs"
t0=$SECONDS
say() { printf 'fresh-check [%4ds]: %s\n' $((SECONDS - t0)) "$*"; }

# Debian sources of this machine: "URI SUITE COMPONENTS..." for bookworm, bookworm-updates, bookworm-security,
# from one-line .list files and deb822 .sources files (Enabled: no and non-deb types skipped).
debian_sources() {
  local f files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v suite="$suite" '
    function want(s) { return s == suite || s == suite "-updates" || s == suite "-security" }
    function flush(   n, m, i, j, U, S) {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
        n = split(uris, U, /[ \t]+/); m = split(suites, S, /[ \t]+/)
        for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (U[i] != "" && want(S[j])) print U[i], S[j], comps
      }
      types = uris = suites = comps = enabled = ""; key = ""
    }
    FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
    /^[ \t]*#/ { next }
    !deb822 {
      line = $0; sub(/#.*/, "", line); sub(/[ \t]+$/, "", line); gsub(/\[[^]]*\]/, " ", line)
      n = split(line, w, /[ \t]+/); k = (w[1] == "" ? 2 : 1)
      if (w[k] == "deb" && want(w[k + 2])) { c = ""; for (i = k + 3; i <= n; i++) c = c " " w[i]; print w[k + 1], w[k + 2] c }
      next
    }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]/ { v = $0; sub(/^[ \t]+/, "", v); if (key == "uris") uris = uris " " v; else if (key == "suites") suites = suites " " v; else if (key == "components") comps = comps " " v; next }
    {
      key = tolower(substr($0, 1, index($0, ":") - 1)); v = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
      if (key == "types") types = v; else if (key == "uris") uris = v; else if (key == "suites") suites = v
      else if (key == "components") comps = v; else if (key == "enabled") enabled = v
    }
    END { flush() }' "${files[@]}" | awk '!seen[$0]++'
}
sources=$(debian_sources)
mirror=${FRESH_CHECK_MIRROR:-$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$sources")}
[ -n "$mirror" ] || { echo "fresh-check: no Debian 12 ($suite) source in /etc/apt/sources.list{,.d/*}; set FRESH_CHECK_MIRROR" >&2; exit 1; }
[ -n "$sources" ] || sources="$mirror $suite main"

in_root() {  # in_root DIR: pids of processes whose root directory is DIR (a server a test left running, ...)
  local p
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" != "$1" ] || echo "${p#/proc/}"; done
}
kill_leftovers() {  # kill_leftovers DIR
  local pids
  pids=$(in_root "$1")
  [ -z "$pids" ] || { say "killing processes left in $1: $(echo $pids)"; kill -KILL $pids 2>/dev/null || true; sleep 1; }
}
# Stale state of an earlier run that was killed: its mount namespace died with it, so only the directory is left
# (a directory with anything still mounted below it is never deleted).
workbase=${FRESH_CHECK_WORKDIR:-/var/tmp}
for d in "$workbase"/rerank-fresh-check.*; do
  [ -d "$d" ] || continue
  pid=$(cat "$d/pid" 2>/dev/null || echo 0)
  if [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
  if awk -v d="$d/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    say "stale mounts below $d: unmounting"
    awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  fi
  kill_leftovers "$d/root"
  say "removing stale $d"; rm -rf --one-file-system "$d"
done
work=$(mktemp -d "$workbase/rerank-fresh-check.XXXXXX")
echo $$ > "$work/pid"
root=$work/root
cleanup() {
  [ ! -d "$root" ] || kill_leftovers "$root"
  if awk -v d="$work/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    echo "fresh-check: something is still mounted below $work; not deleting it" >&2; return
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- 1. the base root (cached) ----
if [ -f "$base" ] && [ -z "${FRESH_CHECK_REBUILD:-}" ]; then
  say "base root from the cache $base"
else
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap on the host"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
  fi
  include=()
  grep -q '^https:' <<<"$sources" && include=(--include=ca-certificates)  # apt over https needs it before `make deps`
  say "debootstrap --variant=minbase $suite from the host's mirror $mirror"
  debootstrap --variant=minbase "${include[@]}" "$suite" "$work/base" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
    { tail -n 30 "$logs/debootstrap.log"; echo "fresh-check: debootstrap failed (log: $logs/debootstrap.log)" >&2; exit 1; }
  rm -f "$work/base"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$work/base" -czf "$base.$$.tmp" . && mv "$base.$$.tmp" "$base"
  rm -rf --one-file-system "$work/base"
  say "base root cached as $base ($(du -h "$base" | cut -f1))"
fi
mkdir "$root"
tar --numeric-owner -C "$root" -xzf "$base"

# ---- 2. the clone ----
head=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  say "NOTE: the working tree has uncommitted changes; the check uses the commit HEAD (${head:0:12})"
git clone -q --no-hardlinks "$repo" "$root/root/rerank"
if [ "$(git -C "$root/root/rerank" rev-parse HEAD)" != "$head" ]; then
  git -C "$root/root/rerank" fetch -q "$repo" HEAD && git -C "$root/root/rerank" checkout -q --detach "$head"
fi
say "cloned HEAD ${head:0:12} into /root/rerank"

# ---- 3. what a fresh machine of this world brings along ----
carried=()
if [ -d /usr/local/share/ca-certificates ]; then
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  carried+=("$(find /usr/local/share/ca-certificates -name '*.crt' | wc -l) CA certificate(s)")
fi
for f in /etc/pip.conf /etc/npmrc; do
  if [ -f "$f" ] && [ "$(( 0$(stat -c %a "$f") & 4 ))" != 0 ]; then install -m 0644 "$f" "$root$f"; carried+=("$f"); fi
done
env_carried=()
while read -r name; do
  if [[ $name =~ ^(PIP_[A-Za-z0-9_]*|[A-Za-z0-9_]*_CA_[A-Za-z0-9_]*|SSL_CERT_[A-Za-z0-9_]*)$ ]]; then env_carried+=("$name=${!name}"); fi
done < <(compgen -e)
[ ${#env_carried[@]} -eq 0 ] || carried+=("env ${env_carried[*]%%=*}")
awk '{ printf "deb %s %s", $1, $2; for (i = 3; i <= NF; i++) printf " %s", $i; print "" }' <<<"$sources" > "$root/etc/apt/sources.list"
carried+=("apt sources: $(awk '{ print $2 }' <<<"$sources" | paste -sd' ')")
apt_conf=$(apt-config dump | grep -E '^Acquire::(https?::Proxy|ftp::Proxy|Check-Valid-Until|Check-Date) ' || true)
if [ -n "$apt_conf" ]; then
  printf '%s\n' "$apt_conf" > "$root/etc/apt/apt.conf.d/99fresh-check-host"
  carried+=("apt: $(cut -d' ' -f1 <<<"$apt_conf" | paste -sd' ')")
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
say "carried into the root: $(IFS=';'; echo "${carried[*]}")"

# ---- 4. the two commands ----
user_env=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${env_carried[@]}")
run_step() {  # run_step NAME COMMAND
  local name=$1 cmd=$2 log=$logs/${1// /-}.log rc=0 t=$SECONDS
  say "== $name"
  unshare --mount --propagation private "$self" --inner "$root" "$cmd" "$log" "${user_env[@]}" || rc=$?
  kill_leftovers "$root"
  say "$name: exit $rc after $((SECONDS - t)) s"
  if [ $rc -ne 0 ]; then
    echo
    echo "fresh-check: FAILED: \`$name\` (exit $rc) on a fresh Debian 12 root; its last lines ($log):"
    tail -n 40 "$log" | sed 's/^/  | /'
    exit 1
  fi
}
run_step prerequisites 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make && { ! command -v update-ca-certificates >/dev/null || update-ca-certificates; }'
run_step "make demo" 'cd /root/rerank && make demo'
run_step "make test" 'cd /root/rerank && make test'
say "PASSED: make demo and make test on a fresh Debian 12 root (HEAD ${head:0:12})"
