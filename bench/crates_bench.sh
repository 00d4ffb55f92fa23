#!/usr/bin/env bash
# Macro benchmark: `depot mirror crates` against curl --parallel (64 and 16) over the same URL
# list (config.json, every index file, every .crate) of a generated crates.io-style sparse
# registry of COUNT .crate files served by a local nginx, in one run, in a rotating order; plus
# the floor (cp -r of the tree) and depot's no-op re-run. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=crates-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

COUNT=${COUNT:-20000}
VERSIONS=${VERSIONS:-10}
MIN_KB=${MIN_KB:-2}
MAX_KB=${MAX_KB:-60}
SEED=${SEED:-1}
REPEAT=${REPEAT:-3}
TOOLS=${TOOLS:-depot curl64 curl16 cp index-seq index-par}
IO_SETTLE_MAX=${IO_SETTLE_MAX:-60}
OUT_DIR=${OUT_DIR:-}

need_tools "the 'time' package provides /usr/bin/time" nginx curl python3 /usr/bin/time
for tool in $TOOLS; do
  case $tool in
    depot) need_depot ;;
    curl64 | curl16 | cp | index-seq | index-par) ;;
    *) die "unknown tool '$tool' in TOOLS" ;;
  esac
done

# ---------------------------------------------------------------- work dir and cleanup
make_work crates-bench
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
cleanup_work() {
  remove_work -m "left the upstream tree in $WORK for later runs" \
    ${OUT:+"$OUT"} "$NGX" "$LOGS" "$WORK/lists" "$WORK/depot.bin"
}
rm -rf -- "$OUT" "$LOGS" "$WORK/lists"
mkdir -p "$OUT" "$LOGS" "$WORK/lists"

DEPOT_VERSION=
DEPOT_SRC=$DEPOT
if [[ " $TOOLS " == *" depot "* ]]; then private_depot; fi

# ---------------------------------------------------------------- upstream tree
ensure_tree "$UP" "count=$COUNT versions=$VERSIONS kb=$MIN_KB-$MAX_KB seed=$SEED" \
  "upstream tree" python3 "$HERE/gen_crates_tree.py" "$UP" --count "$COUNT" \
  --versions "$VERSIONS" --min-kb "$MIN_KB" --max-kb "$MAX_KB" --seed "$SEED"

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
{ echo index/config.json; cat "$WORK/lists/index" "$WORK/lists/crates"; } |
  curl_config "$BASE" >"$WORK/lists/all.curlrc"
{ echo index/config.json; cat "$WORK/lists/index"; } | curl_config "$BASE" >"$WORK/lists/index.curlrc"
N_INDEX=$(wc -l <"$WORK/lists/index")
N_CRATES=$(wc -l <"$WORK/lists/crates")
N_NAMES=$(wc -l <"$UP/crates.list")
BYTES_INDEX=$(cd "$UP" && xargs -a "$WORK/lists/index" stat -c %s | awk '{s+=$1} END {print s+0}')
BYTES_CRATES=$(cd "$UP" && xargs -a "$WORK/lists/crates" stat -c %s | awk '{s+=$1} END {print s+0}')
log "$N_NAMES crates: $N_INDEX index files ($BYTES_INDEX bytes)," \
  "$N_CRATES .crate files ($BYTES_CRATES bytes)"
log "outputs in $OUT ($OUT_FS)"

# ---------------------------------------------------------------- runs
TSV=$WORK/results.tsv
COLUMNS_TSV=(rep tool seconds rss_kb rc index_files crate_files bytes index_ok crates_ok complete
  loadavg settle_s io_stall_s first_s index_s plan_s)
(IFS=$'\t'; echo "${COLUMNS_TSV[*]}") >"$TSV"

# io_stall_us: microseconds some task waited for I/O since boot (PSI), 0 without PSI.
io_stall_us() {
  awk '/^some/ {sub("total=", "", $5); print $5; exit}' /proc/pressure/io 2>/dev/null || echo 0
}

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
  log "$(tail -n 1 "$TSV" | awk -F'\t' '{
    printf "%-10s %7ss rc=%s index_ok=%s crates_ok=%s complete=%s load=%s settled=%ss io_stall=%ss",
      $2, $3, $5, $9, $10, $11, $12, $13, $14
    if ($15 != "") printf " first_req=%ss to_index=%ss to_plan=%ss", $15, $16, $17
  }')"
  if [[ $rc != 0 ]]; then tail -n 15 "$lg" | sed 's/^/    /' >&2; fi
  sync # untimed: this tool's writeback stays out of the next tool's time
}

read -r -a TOOL_LIST <<<"$TOOLS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load at start: $(uptime)"
warn_if_loaded 1.0
for rep in $(seq "$REPEAT"); do
  mapfile -t order < <(rotated "$rep" "${TOOL_LIST[@]}")
  log "rep $rep/$REPEAT: ${order[*]}"
  for tool in "${order[@]}"; do
    warm_cache "$UP/index" "$UP/crates"
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
          --create-dirs --no-progress-meter --fail --output-dir "$out" \
          --config "$WORK/lists/all.curlrc"
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
          --create-dirs --no-progress-meter --fail --output-dir "$out" \
          --config "$WORK/lists/index.curlrc"
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
finish python3 "$HERE/crates_report.py" report "$TSV" --json "$RESULTS_DIR/crates_last.json" \
  --meta count="$COUNT" crates="$N_NAMES" index_files="$N_INDEX" index_bytes="$BYTES_INDEX" \
  crate_files="$N_CRATES" crate_bytes="$BYTES_CRATES" versions="$VERSIONS" kb="$MIN_KB-$MAX_KB" \
  seed="$SEED" repeat="$REPEAT" out_fs="$OUT_FS" depot="$DEPOT_SRC" depot_args="$DEPOT_ARGS" \
  depot_version="$DEPOT_VERSION" loadavg_start="$LOAD_START" loadavg_end="$LOAD_END"
