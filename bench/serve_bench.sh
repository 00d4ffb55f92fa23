#!/usr/bin/env bash
# Macro benchmark, cache hits: `depot serve` against nginx and apt-cacher-ng serving the same
# files, measured by wrk in one run. See bench/README.md ("Serving benchmarks").
#
# A tree of FILES pseudo-random files per size (4 KiB, 256 KiB, 8 MiB by default), named
# pool/main/b/bench-SIZE/bench-SIZE-N_1.0_all.deb so apt-cacher-ng treats them as immutable
# packages, and for "-index" sizes (4k-index by default) apt index files
# dists/bench/main/bench-SIZE/Packages-N that depot must check for replacement on every request
# (apt-cacher-ng is not run on those: it revalidates them upstream), is served by
#   nginx          sendfile, open_file_cache, no access log, a worker per core, keep-alive
#                  (bench/nginx_serve.conf.in)
#   depot          build/depot serve TREE --listen 127.0.0.1:0 --port-file F (no access log)
#   apt-cacher-ng  a private instance (own config, cache and log dirs in the work dir), remapping
#                  /bench to a second nginx as its upstream; its cache is filled first (each file
#                  fetched from upstream exactly once, checked in the upstream's access log), then
#                  that upstream is stopped, so every request of the run is a cache hit (a miss
#                  would be an error in wrk's count).
# For each repetition, size and server: the size's files are read once (hot page cache), then
#   wrk -t WRK_THREADS -c CONNS -d DURATION --timeout 30s -s bench/wrk_paths.lua URL -- LIST
# requests the size's files round-robin. Server order rotates by one each repetition. Medians
# over REPEAT go to bench/results/serve_last.{tsv,json} (bench/serve_report.py) with targets:
# depot >= 0.9x nginx requests/s (1.0x for index files) and >= 3x apt-cacher-ng requests/s, for
# every size.
#
# Pinning: PIN=0 (default) pins nothing; servers and wrk share every core, as on a busy host.
# PIN=1 runs each server on SERVER_CPUS (default 0) with one worker/thread per CPU there, and
# wrk on CLIENT_CPUS (default 1), via taskset.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=serve-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

SIZES=${SIZES:-4k 4k-index 256k 8m}
FILES=${FILES:-8}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
SERVERS=${SERVERS:-nginx depot apt-cacher-ng}
PIN=${PIN:-0}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}

need_tools "scripts/install-deps.sh installs it" nginx wrk apt-cacher-ng curl python3 sha256sum

SERVER_WRAP=() CLIENT_WRAP=() THREADS=$(nproc)
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "taskset not found (util-linux)"
  SERVER_WRAP=(taskset -c "$SERVER_CPUS") CLIENT_WRAP=(taskset -c "$CLIENT_CPUS")
  THREADS=$(python3 -c 'import sys
n = 0
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    n += int(b or a) - int(a) + 1
print(n)' "$SERVER_CPUS")
fi

make_work serve-bench
TREE=$WORK/tree
# shellcheck disable=SC2317  # invoked by trap
cleanup_work() { remove_work -m "left $WORK"; }

HAVE_DEPOT=0
if [[ " $SERVERS " == *" depot "* ]]; then
  if [[ -x $DEPOT ]]; then
    private_depot
    HAVE_DEPOT=1
  else
    log "$DEPOT not built: the depot leg is skipped and its targets report MISS"
  fi
fi

# ---------------------------------------------------------------- tree
# shellcheck disable=SC2317  # used by gen_tree
bytes_of() {
  case $1 in
    *-index) bytes_of "${1%-index}" ;;
    *k) echo $((${1%k} * 1024)) ;;
    *m) echo $((${1%m} * 1024 * 1024)) ;;
    *) echo "$1" ;;
  esac
}
# dir_of SIZE, file_of SIZE N: where a size's files live. "-index" sizes are apt index files
# (Packages-N under dists/: revalidated, never immutable); the others are .debs under pool/.
dir_of() {
  if [[ $1 == *-index ]]; then echo "dists/bench/main/bench-$1"; else echo "pool/main/b/bench-$1"; fi
}
# shellcheck disable=SC2317  # used by gen_tree
file_of() {
  if [[ $1 == *-index ]]; then echo "Packages-$2"; else echo "bench-$1-${2}_1.0_all.deb"; fi
}
# apt-cacher-ng revalidates index files upstream, which is stopped during the runs: blobs only.
acng_sizes() {
  local s
  for s in $SIZES; do [[ $s == *-index ]] || echo "$s"; done
}
# shellcheck disable=SC2317  # invoked by ensure_tree
gen_tree() {
  local size dir i
  for size in $SIZES; do
    dir=$TREE/$(dir_of "$size")
    mkdir -p "$dir"
    for i in $(seq -w "$FILES"); do
      head -c "$(bytes_of "$size")" /dev/urandom >"$dir/$(file_of "$size" "$i")"
    done
  done
}
ensure_tree "$TREE" "sizes=$SIZES files=$FILES" tree gen_tree
for size in $SIZES; do
  (cd "$TREE" && find "$(dir_of "$size")" -type f | sort | sed 's|^|/|') >"$WORK/paths.$size"
  sed 's|^|/bench|' "$WORK/paths.$size" >"$WORK/paths.acng.$size"
done
FIRST_SIZE=${SIZES%% *}
PROBE=$(head -n 1 "$WORK/paths.$FIRST_SIZE")

# check_file URL PATH: the body at URL equals TREE/PATH.
check_file() {
  local got want
  got=$(curl -sf "$1" | sha256sum | cut -d' ' -f1) || die "GET $1 failed"
  want=$(sha256sum "$TREE$2" | cut -d' ' -f1)
  [[ $got == "$want" ]] || die "GET $1: body differs from $TREE$2"
}

# ---------------------------------------------------------------- servers
declare -A BASES
if [[ " $SERVERS " == *" nginx "* ]]; then
  NGINX_WORKERS=$THREADS NGINX_WRAP="${SERVER_WRAP[*]}" \
    start_nginx "$TREE" "$WORK/nginx" "${PROBE#/}" "$HERE/nginx_serve.conf.in"
  BASES[nginx]=$BASE
  log "nginx pid $NGINX_PID on $BASE ($THREADS workers)"
fi

if [[ $HAVE_DEPOT == 1 ]]; then
  threads_arg=()
  [[ $PIN == 1 ]] && threads_arg=(--threads "$THREADS")
  "${SERVER_WRAP[@]}" "$DEPOT" serve "$TREE" --listen 127.0.0.1:0 --port-file "$WORK/depot.port" \
    "${threads_arg[@]}" >"$WORK/depot.out" 2>"$WORK/depot.err" &
  DEPOT_PID=$!
  track_pid "$DEPOT_PID"
  wait_for_file "$WORK/depot.port" "$DEPOT_PID" 10 "depot serve" "$WORK/depot.err"
  BASES[depot]=http://127.0.0.1:$(cat "$WORK/depot.port")
  check_file "${BASES[depot]}$PROBE" "$PROBE"
  log "depot pid $DEPOT_PID on ${BASES[depot]}"
fi

if [[ " $SERVERS " == *" apt-cacher-ng "* ]]; then
  # apt-cacher-ng 3.7 keeps ports in a signed 16-bit integer: both of its ports stay below 32768.
  NGINX_PORT=$(free_port 20000 32000) NGINX_WORKERS=1 \
    NGINX_ACCESS_LOG="$WORK/upstream/access.log bench" start_nginx "$TREE" "$WORK/upstream" "${PROBE#/}" "$HERE/nginx_serve.conf.in"
  UP_PID=$NGINX_PID UP_BASE=$BASE
  ACNG_PORT=$(free_port 20000 32000)
  mkdir -p "$WORK/acng/conf" "$WORK/acng/cache" "$WORK/acng/log"
  cat >"$WORK/acng/conf/acng.conf" <<EOF
CacheDir: $WORK/acng/cache
LogDir: $WORK/acng/log
SupportDir: /usr/lib/apt-cacher-ng
Port: $ACNG_PORT
BindAddress: 127.0.0.1
SocketPath: $WORK/acng/socket
PidFile: $WORK/acng/pid
ForeGround: 1
ExThreshold: 4
Remap-bench: /bench ; $UP_BASE/
EOF
  "${SERVER_WRAP[@]}" apt-cacher-ng -c "$WORK/acng/conf" >"$WORK/acng/out" 2>&1 &
  ACNG_PID=$!
  track_pid "$ACNG_PID"
  ACNG_BASE=http://127.0.0.1:$ACNG_PORT
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$ACNG_BASE/" || true) != 000 ]] && break
    kill -0 "$ACNG_PID" 2>/dev/null || { cat "$WORK/acng/out" >&2; die "apt-cacher-ng exited"; }
    sleep 0.1
  done
  # Fill its cache: every file once through it, then once more (must not reach upstream).
  before=$(wc -l <"$WORK/upstream/access.log")
  nfiles=0
  for size in $(acng_sizes); do
    while read -r p; do
      check_file "$ACNG_BASE/bench$p" "$p"
      nfiles=$((nfiles + 1))
    done <"$WORK/paths.$size"
  done
  for size in $(acng_sizes); do
    while read -r p; do
      curl -sf -o /dev/null "$ACNG_BASE/bench$p" || die "apt-cacher-ng: GET $p"
    done <"$WORK/paths.$size"
  done
  fetched=$(($(wc -l <"$WORK/upstream/access.log") - before))
  [[ $fetched == "$nfiles" ]] || die "apt-cacher-ng made $fetched upstream requests for $nfiles files (2 passes)"
  stop_pid "$UP_PID"
  for size in $(acng_sizes); do
    p=$(head -n 1 "$WORK/paths.$size")
    check_file "$ACNG_BASE/bench$p" "$p"
  done
  BASES[apt-cacher-ng]=$ACNG_BASE
  log "apt-cacher-ng pid $ACNG_PID on $ACNG_BASE: $nfiles files cached, one upstream fetch each; upstream stopped"
fi

# ---------------------------------------------------------------- runs
TSV=$WORK/results.tsv
printf 'rep\tsize\tserver\tseconds\trequests\tbytes\terrors\tp50_us\tp99_us\n' >"$TSV"
read -r -a servers <<<"$SERVERS"
for rep in $(seq "$REPEAT"); do
  log "rep $rep/$REPEAT"
  mapfile -t order < <(rotated "$rep" "${servers[@]}")
  for size in $SIZES; do
    for server in "${order[@]}"; do
      base=${BASES[$server]:-}
      if [[ -z $base ]] || [[ $server == apt-cacher-ng && $size == *-index ]]; then
        continue
      fi
      list=$WORK/paths.$size
      [[ $server == apt-cacher-ng ]] && list=$WORK/paths.acng.$size
      # Hot page cache for the files this server reads (its cache copy for apt-cacher-ng).
      if [[ $server == apt-cacher-ng ]]; then
        cat "$WORK/acng/cache/bench/pool/main/b/bench-$size"/*.deb >/dev/null
      else
        cat "$TREE/$(dir_of "$size")"/* >/dev/null
      fi
      out=$WORK/wrk.$rep.$size.$server
      "${CLIENT_WRAP[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 30s \
        -s "$HERE/wrk_paths.lua" "$base" -- "$list" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against $server"; }
      python3 - "$out" "$rep" "$size" "$server" >>"$TSV" <<'PY'
import json, sys
out, rep, size, server = sys.argv[1:]
line = [l for l in open(out) if l.startswith('{"duration_us"')][-1]
r = json.loads(line)
errors = sum(r["errors"].values())
print("\t".join(map(str, [rep, size, server, r["duration_us"] / 1e6, r["requests"], r["bytes"],
                          errors, r["latency_us"]["p50"], r["latency_us"]["p99"]])))
PY
      log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "%-5s %-14s %10.0f req/s %9.1f MiB/s errors=%s", $2, $3, $5/$4, $6/$4/1048576, $7}')"
      case $server in
        depot) kill -0 "$DEPOT_PID" 2>/dev/null || { cat "$WORK/depot.err" >&2; die "depot serve died"; } ;;
        apt-cacher-ng) kill -0 "$ACNG_PID" 2>/dev/null || die "apt-cacher-ng died" ;;
      esac
    done
  done
done

mkdir -p "$RESULTS_DIR"
cp "$TSV" "$RESULTS_DIR/serve_last.tsv"
finish python3 "$HERE/serve_report.py" "$TSV" --json "$RESULTS_DIR/serve_last.json" \
  --meta sizes="$SIZES" files="$FILES" duration_s="$DURATION" repeat="$REPEAT" conns="$CONNS" \
  wrk_threads="$WRK_THREADS" pin="$PIN" server_cpus="$([[ $PIN == 1 ]] && echo "$SERVER_CPUS" || echo all)" \
  client_cpus="$([[ $PIN == 1 ]] && echo "$CLIENT_CPUS" || echo all)" server_threads="$THREADS" \
  cores="$(nproc)" loadavg="$(cut -d' ' -f1 /proc/loadavg)" depot="$HAVE_DEPOT"
