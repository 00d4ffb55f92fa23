#!/usr/bin/env bash
# Macro benchmark: `depot mirror crates` against curl --parallel (64 and 16) over the same URL
# list (config.json, every index file, every .crate) of a generated crates.io-style sparse
# registry of COUNT .crate files served by a local nginx, in one run, in a rotating order; plus
# the floor (cp -r of the tree) and depot's no-op re-run. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

COUNT=${COUNT:-20000}
VERSIONS=${VERSIONS:-10}
MIN_KB=${MIN_KB:-2}
MAX_KB=${MAX_KB:-60}
SEED=${SEED:-1}
REPEAT=${REPEAT:-3}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
DEPOT=${DEPOT:-$ROOT/build/depot}
DEPOT_ARGS=${DEPOT_ARGS:-}
TOOLS=${TOOLS:-depot curl64 curl16 cp index-seq index-par}
IO_SETTLE_MAX=${IO_SETTLE_MAX:-60}
OUT_DIR=${OUT_DIR:-}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}

log() { printf '[crates-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }
# shellcheck source=bench/nginx.sh
source "$HERE/nginx.sh"

for tool in nginx curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool not found (the 'time' package provides /usr/bin/time)"
done
for tool in $TOOLS; do
  case $tool in
    depot) [[ -x $DEPOT ]] || die "$DEPOT not built (make build, or DEPOT=path)" ;;
    curl64 | curl16 | cp | index-seq | index-par) ;;
    *) die "unknown tool '$tool' in TOOLS" ;;
  esac
done

# ---------------------------------------------------------------- work dir and cleanup
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/depot-crates-bench.XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
[[ -n $WORK && $WORK != / ]] || die "refusing work dir '$WORK'"
UP=$WORK/upstream
# The tools' outputs: under the work dir, or in a directory of our own under OUT_DIR (say a
# tmpfs, to take the disk out of the comparison).
if [[ -n $OUT_DIR ]]; then
  mkdir -p "$OUT_DIR"
  OUT=$(cd "$OUT_DIR" && pwd)/depot-crates-bench-out.$$
else
  OUT=$WORK/out
fi
OUT_FS=$(mkdir -p "$OUT" && stat -f -c %T "$OUT")
NGX=$WORK/nginx
LOGS=$WORK/logs
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  stop_nginx
  [[ $KEEP == 1 ]] || rm -rf -- "$OUT"
  if [[ $KEEP == 1 ]]; then
    log "KEEP=1: leaving $WORK"
  elif [[ -n ${BENCH_DIR:-} ]]; then
    rm -rf -- "$NGX" "$LOGS" "$WORK/lists" "$WORK/depot.bin"
    log "left the upstream tree in $WORK for later runs"
  else
    rm -rf -- "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf -- "$OUT" "$LOGS" "$WORK/lists"
mkdir -p "$OUT" "$LOGS" "$WORK/lists"

# A private copy of the depot binary, so a rebuild during the run cannot swap it half-way.
DEPOT_VERSION=
DEPOT_SRC=$DEPOT
if [[ " $TOOLS " == *" depot "* ]]; then
  cp -- "$DEPOT" "$WORK/depot.bin"
  DEPOT_VERSION="$("$DEPOT" --version 2>/dev/null | head -n 1 || true) (tree $(git -C "$(dirname "$DEPOT")" describe --always --dirty 2>/dev/null || echo '?'))"
  DEPOT=$WORK/depot.bin
  log "depot: $DEPOT_SRC ($DEPOT_VERSION)"
fi

# ---------------------------------------------------------------- upstream tree
STAMP="count=$COUNT versions=$VERSIONS kb=$MIN_KB-$MAX_KB seed=$SEED"
if [[ -f $UP/.stamp && $(cat "$UP/.stamp") == "$STAMP" ]]; then
  log "reusing upstream tree in $UP ($STAMP)"
else
  rm -rf -- "$UP"
  log "generating upstream tree ($STAMP)"
  t0=$(date +%s%N)
  python3 "$HERE/gen_crates_tree.py" "$UP" --count "$COUNT" --versions "$VERSIONS" \
    --min-kb "$MIN_KB" --max-kb "$MAX_KB" --seed "$SEED"
  echo "$STAMP" >"$UP/.stamp"
  log "generated in $((($(date +%s%N) - t0) / 1000000)) ms"
fi

# ---------------------------------------------------------------- nginx
# config.json's dl names the port, so the port is chosen before nginx starts.
# shellcheck disable=SC2119  # free_port takes no arguments here
NGINX_PORT=$(free_port)
printf '{"dl":"http://127.0.0.1:%s/crates/{crate}/{crate}-{version}.crate"}\n' "$NGINX_PORT" \
  >"$UP/index/config.json"
start_nginx "$UP" "$NGX" index/config.json
log "nginx pid $NGINX_PID serving $UP on $BASE"

# ---------------------------------------------------------------- URL lists
# What depot fetches: index/config.json, every index file, every .crate (the dl template above
# makes a .crate's URL path its path in the tree, and the mirror's layout is the same).
(cd "$UP" && find index -type f ! -path index/config.json | LC_ALL=C sort) >"$WORK/lists/index"
(cd "$UP" && find crates -type f | LC_ALL=C sort) >"$WORK/lists/crates"
curlrc() { awk -v b="$BASE" '{printf "url = \"%s/%s\"\noutput = \"%s\"\n", b, $0, $0}'; }
{ echo index/config.json; cat "$WORK/lists/index" "$WORK/lists/crates"; } | curlrc >"$WORK/lists/all.curlrc"
{ echo index/config.json; cat "$WORK/lists/index"; } | curlrc >"$WORK/lists/index.curlrc"
N_INDEX=$(wc -l <"$WORK/lists/index")
N_CRATES=$(wc -l <"$WORK/lists/crates")
N_NAMES=$(wc -l <"$UP/crates.list")
BYTES_INDEX=$(cd "$UP" && xargs -a "$WORK/lists/index" stat -c %s | awk '{s+=$1} END {print s+0}')
BYTES_CRATES=$(cd "$UP" && xargs -a "$WORK/lists/crates" stat -c %s | awk '{s+=$1} END {print s+0}')
log "$N_NAMES crates: $N_INDEX index files ($BYTES_INDEX bytes), $N_CRATES .crate files ($BYTES_CRATES bytes)"
log "outputs in $OUT ($OUT_FS)"

# ---------------------------------------------------------------- runs
TSV=$WORK/results.tsv
printf 'rep\ttool\tseconds\trss_kb\trc\tindex_files\tcrate_files\tbytes\tindex_ok\tcrates_ok\tcomplete\tloadavg\tsettle_s\tio_stall_s\tfirst_s\tindex_s\tplan_s\n' >"$TSV"

# io_stall_us: microseconds some task waited for I/O since boot (PSI), 0 without PSI.
io_stall_us() { awk '/^some/ {sub("total=", "", $5); print $5; exit}' /proc/pressure/io 2>/dev/null || echo 0; }

# io_settle: waits (at most IO_SETTLE_MAX s) until a whole second passes with under 50 ms of I/O
# stall: the virtual disk keeps writing back and discarding long after sync returns, and a tool
# started then is charged for it. Prints the seconds waited.
io_settle() {
  local t0=$SECONDS a b
  [[ -r /proc/pressure/io ]] || { echo 0; return; }
  while ((SECONDS - t0 < IO_SETTLE_MAX)); do
    a=$(io_stall_us)
    sleep 1
    b=$(io_stall_us)
    ((b - a < 50000)) && break
  done
  echo $((SECONDS - t0))
}

# measure REP TOOL OUTDIR VERIFY_ARGS -- CMD...: wall time and peak RSS of CMD; then (untimed)
# whether OUTDIR holds every expected file with the right bytes, and for depot the seconds to
# its first request and to its crates.index and mirror.plan events.
measure() {
  local rep=$1 tool=$2 out=$3 vargs=$4 tf=$LOGS/time lg=$LOGS/$1.$2.log rc=0 secs rss load t0
  local settle stall0 stall
  shift 5
  settle=$(io_settle)
  load=$(cut -d' ' -f1 /proc/loadavg)
  stall0=$(io_stall_us)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$lg" 2>&1 || rc=$?
  stall=$(awk -v a="$stall0" -v b="$(io_stall_us)" 'BEGIN {printf "%.2f", (b - a) / 1e6}')
  read -r secs rss < <(tail -n 1 "$tf")
  local checked phases='{"first_s": null, "index_s": null, "plan_s": null}'
  # shellcheck disable=SC2086
  checked=$(python3 "$HERE/crates_report.py" verify "$UP" "$out" $vargs)
  if [[ $tool == depot* ]]; then phases=$(python3 "$HERE/crates_report.py" phases "$lg" "$t0"); fi
  python3 - "$rep" "$tool" "$secs" "$rss" "$rc" "$load" "$settle" "$stall" "$checked" "$phases" \
    >>"$TSV" <<'PY'
import json, sys
rep, tool, secs, rss, rc, load, settle, stall, checked, phases = sys.argv[1:]
c, p = json.loads(checked), json.loads(phases)
opt = lambda v: "" if v is None else v
print("\t".join(map(str, [rep, tool, secs, rss, rc, c["index_files"], c["crate_files"], c["bytes"],
                          c["index_ok"], c["crates_ok"], int(c["complete"]), load, settle, stall,
                          opt(p["first_s"]), opt(p["index_s"]), opt(p["plan_s"])])))
PY
  log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "%-10s %7ss rc=%s index_ok=%s crates_ok=%s complete=%s load=%s settled=%ss io_stall=%ss%s", $2, $3, $5, $9, $10, $11, $12, $13, $14, ($15 == "" ? "" : " first_req=" $15 "s to_index=" $16 "s to_plan=" $17 "s")}')"
  if [[ $rc != 0 ]]; then tail -n 15 "$lg" | sed 's/^/    /' >&2; fi
  sync # untimed: this tool's writeback stays out of the next tool's time
}

read -r -a TOOL_LIST <<<"$TOOLS"
N_TOOLS=${#TOOL_LIST[@]}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at start: $(uptime)"
if awk -v l="${LOAD_START%% *}" 'BEGIN {exit !(l > 1.0)}'; then
  log "warning: load average is ${LOAD_START%% *}; other work on this machine will skew the numbers"
fi
for rep in $(seq "$REPEAT"); do
  order=()
  for i in $(seq 0 $((N_TOOLS - 1))); do order+=("${TOOL_LIST[$(((i + rep - 1) % N_TOOLS))]}"); done
  log "rep $rep/$REPEAT: ${order[*]}"
  for tool in "${order[@]}"; do
    # Warm-up read before every tool: this host pages out page cache idle for about a minute.
    find "$UP/index" "$UP/crates" -type f -print0 | xargs -0 cat >/dev/null
    # A fresh directory per run, all removed only at the end: ext4 scans inodes deleted in the
    # last minute on each allocation, which would penalise whichever tool runs after a removal.
    # On a tmpfs (no such scan; the outputs would fill memory) each is removed after its check.
    out=$OUT/$rep.$tool
    mkdir -p "$out"
    sync
    case $tool in
      depot)
        args=(mirror crates "$BASE/index" "$out" --base-url http://mirror.example
          --crates-from "$UP/crates.list" -q --log-format json --log-level debug)
        # shellcheck disable=SC2086
        measure "$rep" depot "$out" "" -- "$DEPOT" "${args[@]}" $DEPOT_ARGS
        # shellcheck disable=SC2086
        measure "$rep" depot-noop "$out" "" -- "$DEPOT" "${args[@]}" $DEPOT_ARGS
        ;;
      curl64 | curl16)
        measure "$rep" "$tool" "$out" "" -- curl --parallel --parallel-max "${tool#curl}" \
          --create-dirs --no-progress-meter --fail --output-dir "$out" --config "$WORK/lists/all.curlrc"
        ;;
      cp)
        # The floor: the same files and directories by a local copy; no network, no
        # verification, no sync.
        measure "$rep" cp "$out" "" -- cp -r "$UP/index" "$UP/crates" "$out/"
        ;;
      index-seq)
        # Not a peer: the index files alone, one after another on one keep-alive connection,
        # as depot's snapshot fetches them.
        measure "$rep" index-seq "$out" --index-only -- curl --create-dirs --no-progress-meter \
          --fail --output-dir "$out" --config "$WORK/lists/index.curlrc"
        ;;
      index-par)
        # Not a peer: the same index files with 64 in parallel: what a concurrent index phase
        # could take.
        measure "$rep" index-par "$out" --index-only -- curl --parallel --parallel-max 64 \
          --create-dirs --no-progress-meter --fail --output-dir "$out" --config "$WORK/lists/index.curlrc"
        ;;
    esac
    if [[ $OUT_FS == tmpfs && $KEEP != 1 ]]; then rm -rf -- "$out"; fi
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at end: $(uptime)"
[[ $KEEP == 1 ]] || rm -rf -- "$OUT"

mkdir -p "$RESULTS_DIR"
cp "$TSV" "$RESULTS_DIR/crates_last.tsv"
rc=0
python3 "$HERE/crates_report.py" report "$TSV" --json "$RESULTS_DIR/crates_last.json" \
  --meta count="$COUNT" crates="$N_NAMES" index_files="$N_INDEX" index_bytes="$BYTES_INDEX" \
  crate_files="$N_CRATES" crate_bytes="$BYTES_CRATES" versions="$VERSIONS" kb="$MIN_KB-$MAX_KB" \
  seed="$SEED" repeat="$REPEAT" out_fs="$OUT_FS" depot="$DEPOT_SRC" depot_args="$DEPOT_ARGS" \
  depot_version="$DEPOT_VERSION" loadavg_start="$LOAD_START" loadavg_end="$LOAD_END" || rc=$?
if [[ $STRICT == 1 ]]; then exit "$rc"; fi
exit 0
