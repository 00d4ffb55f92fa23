#!/usr/bin/env bash
# Macro benchmark: `depot mirror conda` against curl --parallel, wget and aria2c, all fetching
# the same generated conda channels from a local nginx. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

SMALL_COUNT=${SMALL_COUNT:-20000}
LARGE_COUNT=${LARGE_COUNT:-20}
LARGE_MB=${LARGE_MB:-50}
REPEAT=${REPEAT:-1}
SEED=${SEED:-42}
SETS=${SETS:-small large}
TOOLS=${TOOLS:-curl wget aria2c depot}

need_tools "the 'time' package provides /usr/bin/time" nginx python3 /usr/bin/time
for tool in $TOOLS; do
  case $tool in
    depot) [[ -x $DEPOT ]] || log "warning: $DEPOT not found; depot rows will be skipped" ;;
    curl | wget | aria2c) command -v "$tool" >/dev/null || die "$tool not found" ;;
    *) die "unknown tool '$tool' in TOOLS" ;;
  esac
done

# ---------------------------------------------------------------- work dir and cleanup
make_work bench
UP=$WORK/upstream
OUT=$WORK/out
NGX=$WORK/nginx
LOGS=$WORK/logs
# With BENCH_DIR, KEEP=1 keeps the upstream tree for the next run.
# shellcheck disable=SC2317  # invoked by trap
cleanup_work() {
  remove_work "$OUT" "$NGX" "$LOGS" "$WORK/lists" "$WORK/times" "$WORK/depot.bin" "$UP"
}
mkdir -p "$OUT" "$LOGS" "$WORK/lists" "$WORK/times"

DEPOT_VERSION=
if [[ -x $DEPOT && " $TOOLS " == *" depot "* ]]; then private_depot; fi

# ---------------------------------------------------------------- upstream tree
ensure_tree "$UP" "small=$SMALL_COUNT large=$LARGE_COUNT large_mb=$LARGE_MB seed=$SEED" \
  "upstream tree" python3 "$HERE/gen_tree.py" "$UP" --small-count "$SMALL_COUNT" \
  --large-count "$LARGE_COUNT" --large-mb "$LARGE_MB" --seed "$SEED"

# ---------------------------------------------------------------- nginx
start_nginx "$UP" "$NGX" small/noarch/repodata.json
log "nginx pid $NGINX_PID serving $UP on $BASE"

# ---------------------------------------------------------------- per-set file lists
# Every peer fetches exactly what depot fetches: repodata.json plus every file it names.
declare -A EXPECT_FILES EXPECT_BYTES
for set in $SETS; do
  dir=$UP/$set/noarch
  names=$WORK/lists/$set.names
  (cd "$dir" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort) >"$names"
  awk -v b="$BASE/$set/noarch" '{print b "/" $0}' "$names" >"$WORK/lists/$set.urls"
  curl_config "$BASE/$set/noarch" <"$names" >"$WORK/lists/$set.curlrc"
  EXPECT_FILES[$set]=$(wc -l <"$names")
  EXPECT_BYTES[$set]=$(cd "$dir" && find . -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  log "$set: ${EXPECT_FILES[$set]} files, ${EXPECT_BYTES[$set]} bytes (incl. repodata.json)"
done

# ---------------------------------------------------------------- measuring
RESULTS_TSV=$WORK/results.tsv
printf 'rep\tset\ttool\tseconds\trss_kb\trc\tfiles\tbytes\tcomplete\n' >"$RESULTS_TSV"

# count files and bytes a run left behind, ignoring depot's own state dir
tally() {
  find "$1" -path "$1/.depot" -prune -o -type f \( -name '*.conda' -o -name 'repodata.json' \) \
    -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d %d\n", n, s}'
}

# measure REP SET TOOL OUTDIR -- CMD...
measure() {
  local rep=$1 set=$2 tool=$3 dir=$4
  shift 5
  local tf=$WORK/times/$rep.$set.$tool log=$LOGS/$rep.$set.$tool.log rc=0 secs rss files bytes complete
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$log" 2>&1 || rc=$?
  read -r secs rss < <(tail -n 1 "$tf")
  read -r files bytes < <(tally "$dir")
  complete=0
  if [[ $files == "${EXPECT_FILES[$set]}" && $bytes == "${EXPECT_BYTES[$set]}" ]]; then complete=1; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$set" "$tool" "$secs" "$rss" "$rc" \
    "$files" "$bytes" "$complete" >>"$RESULTS_TSV"
  log "$(printf '%-7s %-12s %8ss %7s KiB rc=%s files=%s complete=%s' "$set" "$tool" "$secs" "$rss" \
    "$rc" "$files" "$complete")"
  if [[ $rc != 0 || $complete != 1 ]]; then
    log "  $tool output (tail of $log):"
    tail -n 20 "$log" | sed 's/^/    /' >&2
  fi
  sync # untimed: flush this tool's dirty pages so they do not slow the next tool
}

LOADAVG=$(cut -d' ' -f1 /proc/loadavg)
warn_if_loaded 0.5

for rep in $(seq "$REPEAT"); do
  for set in $SETS; do
    log "rep $rep/$REPEAT, set $set"
    for tool in $TOOLS; do
      # Before every tool, not once per set: aria2c alone takes about a minute.
      warm_cache "$UP/$set"
      sync # untimed: no writeback of the generated tree or of removed outputs during a timed run
      dir=$OUT/$set.$tool
      rm -rf -- "$dir"
      mkdir -p "$dir"
      case $tool in
        curl)
          measure "$rep" "$set" curl "$dir" -- curl --parallel --parallel-max 64 --no-progress-meter --fail \
            --output-dir "$dir" --config "$WORK/lists/$set.curlrc" ;;
        wget)
          measure "$rep" "$set" wget "$dir" -- wget -q -nd -P "$dir" -i "$WORK/lists/$set.urls" ;;
        aria2c)
          measure "$rep" "$set" aria2c "$dir" -- aria2c -i "$WORK/lists/$set.urls" -d "$dir" \
            -j 16 -x 1 --allow-overwrite=true --auto-file-renaming=false -q ;;
        depot)
          if [[ ! -x $DEPOT ]]; then
            log "$set depot: skipped ($DEPOT missing)"
            continue
          fi
          # shellcheck disable=SC2086
          measure "$rep" "$set" depot "$dir" -- "$DEPOT" mirror conda "$BASE/$set/noarch" "$dir" $DEPOT_ARGS
          # shellcheck disable=SC2086
          measure "$rep" "$set" depot-noop "$dir" -- "$DEPOT" mirror conda "$BASE/$set/noarch" "$dir" $DEPOT_ARGS
          ;;
      esac
      if [[ $KEEP != 1 ]]; then
        rm -rf -- "$dir"
        sync
      fi
    done
  done
done

# ---------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
cp "$RESULTS_TSV" "$RESULTS_DIR/last.tsv"
finish python3 "$HERE/report.py" "$RESULTS_TSV" --json "$RESULTS_DIR/last.json" \
  --meta small_count="$SMALL_COUNT" large_count="$LARGE_COUNT" large_mb="$LARGE_MB" \
  repeat="$REPEAT" seed="$SEED" depot="${DEPOT_SRC:-$DEPOT}" depot_version="$DEPOT_VERSION" loadavg_at_start="$LOADAVG" \
  loadavg_at_end="$(cut -d' ' -f1 /proc/loadavg)" \
  small_files="${EXPECT_FILES[small]:-0}" small_bytes="${EXPECT_BYTES[small]:-0}" \
  large_files="${EXPECT_FILES[large]:-0}" large_bytes="${EXPECT_BYTES[large]:-0}"
