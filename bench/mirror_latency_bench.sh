#!/usr/bin/env bash
# Macro benchmark: mirroring many small files from a distant mirror. An upstream that waits a
# uniformly random LAT_MIN_MS..LAT_MAX_MS before each answer (latency_upstream.py) serves a
# signed apt archive of COUNT small .debs; depot, curl --parallel (16 and 64), wget, aria2c -j16
# and apt-mirror fetch the same files in one run, in a rotating order. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=latency-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
# shellcheck source=bench/apt_mirror.sh
source "$HERE/apt_mirror.sh"

COUNT=${COUNT:-20000}
MIN_KB=${MIN_KB:-1}
MAX_KB=${MAX_KB:-8}
LAT_MIN_MS=${LAT_MIN_MS:-25}
LAT_MAX_MS=${LAT_MAX_MS:-50}
REPEAT=${REPEAT:-3}
SEED=${SEED:-1}
TOOLS=${TOOLS:-depot curl16 curl64 wget aria2c apt-mirror}
FLOOR=${FLOOR:-1}
UPSTREAM_WORKERS=${UPSTREAM_WORKERS:-1}

need_tools "scripts/install-deps.sh installs it" python3 /usr/bin/time apt-ftparchive gpg gpgv
for tool in $TOOLS; do
  case $tool in
    depot) need_depot ;;
    curl16 | curl64) need_tools "" curl ;;
    wget | aria2c | apt-mirror) need_tools "" "$tool" ;;
    *) die "unknown tool '$tool' in TOOLS" ;;
  esac
done

# The per-host connection cap the bound is computed with: depot's own cap, i.e. what
# --concurrency or --max-concurrency in DEPOT_ARGS set, else the default its --help shows.
CAP=${CAP:-}
if [[ -z $CAP ]]; then
  CAP=$(sed -nE 's/.*--(max-)?concurrency[ =]([0-9]+).*/\2/p' <<<"$DEPOT_ARGS")
fi
if [[ -z $CAP && -x $DEPOT ]]; then
  CAP=$("$DEPOT" mirror --help | sed -nE 's/.*--max-concurrency [^=]*=([0-9]+).*/\1/p' | head -n 1)
fi
[[ -n $CAP ]] || die "cannot tell depot's per-host cap; set CAP"

# ---------------------------------------------------------------- work dir and cleanup
make_work latency-bench
UP=$WORK/upstream
OUT=$WORK/out
# shellcheck disable=SC2317  # invoked by trap
cleanup_work() {
  remove_work -m "left the upstream archive in $WORK for later runs" \
    "$OUT" "$WORK/logs" "$WORK/depot.bin"
}
rm -rf -- "$OUT" "$WORK/logs"
mkdir -p "$OUT" "$WORK/logs" "$WORK/lists"

DEPOT_VERSION=
if [[ " $TOOLS " == *" depot "* ]]; then private_depot; fi

# ---------------------------------------------------------------- upstream archive
# About 2 minutes for 20,000 files.
# shellcheck disable=SC2317  # invoked by ensure_tree
gen_archive() {
  rm -rf -- "$WORK/gnupg"
  python3 "$HERE/gen_apt_tree.py" "$UP/debian" --count "$COUNT" --min-kb "$MIN_KB" \
    --max-kb "$MAX_KB" --seed "$SEED" --gnupghome "$WORK/gnupg" --keyring "$WORK/archive-key.gpg"
}
ensure_tree "$UP" "count=$COUNT kb=$MIN_KB-$MAX_KB seed=$SEED" "upstream archive" gen_archive
KEY=$WORK/archive-key.gpg
PACKAGES=$UP/debian/dists/stable/main/binary-amd64/Packages

# ---------------------------------------------------------------- upstream server
python3 "$HERE/latency_upstream.py" "$UP" --port-file "$WORK/port" --log "$WORK/logs/upstream" \
  --min-ms "$LAT_MIN_MS" --max-ms "$LAT_MAX_MS" --workers "$UPSTREAM_WORKERS" --seed "$SEED" \
  >"$WORK/logs/upstream.out" 2>&1 &
UP_PID=$!
track_pid "$UP_PID"
rm -f "$WORK/port"
wait_for_file "$WORK/port" "$UP_PID" 60 upstream "$WORK/logs/upstream.out"
PORT=$(cat "$WORK/port")
BASE=http://127.0.0.1:$PORT
curl -sf -o /dev/null "$BASE/debian/dists/stable/InRelease" || die "upstream not answering on $BASE"
UP_LOGS=()
for w in $(seq 0 $((UPSTREAM_WORKERS - 1))); do UP_LOGS+=("$WORK/logs/upstream.$w"); done
log "upstream pid $UP_PID on $BASE: $LAT_MIN_MS-$LAT_MAX_MS ms before each answer, $UPSTREAM_WORKERS worker(s)"

# ---------------------------------------------------------------- lists for the URL-list peers
# Every tool fetches the same COUNT .debs (apt-mirror and depot also fetch the archive's index
# files, a handful of requests).
(cd "$UP/debian" && find pool -name '*.deb' | LC_ALL=C sort) >"$WORK/lists/debs"
awk -v b="$BASE/debian" '{print b "/" $0}' "$WORK/lists/debs" >"$WORK/lists/urls"
curl_config "$BASE/debian" <"$WORK/lists/debs" >"$WORK/lists/curlrc"
awk -v b="$BASE/debian" '{printf "%s/%s\n  out=%s\n", b, $0, $0}' "$WORK/lists/debs" \
  >"$WORK/lists/aria2"
EXPECT_DEBS=$(wc -l <"$WORK/lists/debs")
EXPECT_BYTES=$(cd "$UP/debian" && xargs -a "$WORK/lists/debs" stat -c %s | awk '{s+=$1} END {print s+0}')
log "$EXPECT_DEBS .debs, $EXPECT_BYTES bytes; bound computed with a per-host cap of $CAP"

# ---------------------------------------------------------------- runs
TSV=$WORK/results.tsv
printf 'rep\ttool\tseconds\trss_kb\trc\tdebs\tbytes\tdigests_ok\trequests\tdeb_requests\tdeb_distinct\tconnections\tmax_open_connections\tloadavg\n' >"$TSV"

log_offsets() {
  local f
  for f in "${UP_LOGS[@]}"; do stat -c %s "$f" 2>/dev/null || echo 0; done
}

# measure REP TOOL POOLDIR -- CMD...: wall time and peak RSS of CMD, then (untimed) what the
# upstream saw and whether every .deb arrived with the digest the Packages file names.
measure() {
  local rep=$1 tool=$2 pool=$3 tf=$WORK/logs/time lg=$WORK/logs/$1.$2.log rc=0 secs rss load
  shift 4
  local -a before
  mapfile -t before < <(log_offsets)
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$lg" 2>&1 || rc=$?
  read -r secs rss < <(tail -n 1 "$tf")
  sleep 0.3 # the upstream flushes its log every 100 ms
  local seen checked
  seen=$(python3 "$HERE/latency_upstream.py" --count "${UP_LOGS[@]}" --from "${before[@]}")
  checked=$(python3 "$HERE/mirror_latency_report.py" verify "$PACKAGES" "$pool")
  python3 - "$rep" "$tool" "$secs" "$rss" "$rc" "$load" "$seen" "$checked" >>"$TSV" <<'PY'
import json, sys
rep, tool, secs, rss, rc, load, seen, checked = sys.argv[1:]
s, c = json.loads(seen), json.loads(checked)
print("\t".join(map(str, [rep, tool, secs, rss, rc, c["files"], c["bytes"], c["digests_ok"],
                          s["requests"], s["deb_requests"], s["deb_distinct"], s["connections"],
                          s["max_open_connections"], load])))
PY
  log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "%-10s %8ss rc=%s debs=%s digests_ok=%s requests=%s max_conns=%s load=%s", $2, $3, $5, $6, $8, $9, $13, $14}')"
  if [[ $rc != 0 ]]; then tail -n 15 "$lg" | sed 's/^/    /' >&2; fi
  sync # untimed: this tool's writeback stays out of the next tool's time
}

read -r -a TOOL_LIST <<<"$TOOLS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
UPTIME_START=$(uptime)
log "load at start: $UPTIME_START"
for rep in $(seq "$REPEAT"); do
  mapfile -t order < <(rotated "$rep" "${TOOL_LIST[@]}")
  log "rep $rep/$REPEAT: ${order[*]}"
  for tool in "${order[@]}"; do
    # A fresh directory per run, all removed only at the end: ext4 scans inodes deleted in the
    # last minute on each allocation, which would penalise whichever tool runs after a removal.
    out=$OUT/$rep.$tool
    mkdir -p "$out"
    sync
    case $tool in
      depot)
        # shellcheck disable=SC2086
        measure "$rep" depot "$out/pool" -- "$DEPOT" mirror apt "$BASE/debian" "$out" --dist stable \
          --component main --arch amd64 --keyring "$KEY" -q $DEPOT_ARGS
        ;;
      curl16 | curl64)
        measure "$rep" "$tool" "$out/pool" -- curl --parallel --parallel-max "${tool#curl}" \
          --create-dirs --no-progress-meter --fail --output-dir "$out" --config "$WORK/lists/curlrc"
        ;;
      wget)
        # The default way: one process, one keep-alive connection, one file after the other.
        measure "$rep" wget "$out/pool" -- wget -q -x -nH --cut-dirs=1 -P "$out" -i "$WORK/lists/urls"
        ;;
      aria2c)
        measure "$rep" aria2c "$out/pool" -- aria2c -i "$WORK/lists/aria2" -d "$out" -j 16 -x 1 \
          --allow-overwrite=true --auto-file-renaming=false -q
        ;;
      apt-mirror)
        # apt-mirror's own downloader: `nthreads` wget processes (default 20, left at its
        # default here), each with its share of the URL list.
        apt_mirror_setup "$out" "$BASE" "$PORT"
        measure "$rep" apt-mirror "$out/mirror/127.0.0.1:$PORT/debian/pool" -- apt-mirror "$out/mirror.list"
        ;;
    esac
  done
  if [[ $FLOOR == 1 ]]; then
    # Not peers: CAP keep-alive connections from a minimal asyncio client (one thread), which
    # discards the bodies (floor-net: what the upstream and the network stack allow at that
    # cap), or writes each to its file in the pool layout (floor-disk), no verification, no
    # fsync.
    out=$OUT/$rep.floor-net
    measure "$rep" floor-net "$out/pool" -- python3 "$HERE/latency_floor_client.py" \
      "$BASE/debian" "$WORK/lists/debs" --connections "$CAP"
    out=$OUT/$rep.floor-disk
    measure "$rep" floor-disk "$out/pool" -- python3 "$HERE/latency_floor_client.py" \
      "$BASE/debian" "$WORK/lists/debs" --connections "$CAP" --out "$out"
  fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at end: $(uptime)"
rm -rf -- "$OUT"

mkdir -p "$RESULTS_DIR"
cp "$TSV" "$RESULTS_DIR/latency_last.tsv"
finish python3 "$HERE/mirror_latency_report.py" report "$TSV" --json "$RESULTS_DIR/latency_last.json" \
  --meta count="$EXPECT_DEBS" bytes="$EXPECT_BYTES" lat_min_ms="$LAT_MIN_MS" \
  lat_max_ms="$LAT_MAX_MS" cap="$CAP" repeat="$REPEAT" upstream_workers="$UPSTREAM_WORKERS" \
  depot_args="$DEPOT_ARGS" depot_version="$DEPOT_VERSION" loadavg_start="$LOAD_START" \
  loadavg_end="$LOAD_END" uptime_start="$UPTIME_START"
