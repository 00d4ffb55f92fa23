#!/usr/bin/env bash
# Macro benchmark: `depot mirror conda` against curl --parallel, wget and aria2c, all fetching
# the same generated conda channels from a local nginx. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

SMALL_COUNT=${SMALL_COUNT:-20000}
LARGE_COUNT=${LARGE_COUNT:-20}
LARGE_MB=${LARGE_MB:-50}
REPEAT=${REPEAT:-1}
SEED=${SEED:-42}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
DEPOT=${DEPOT:-$ROOT/build/depot}
DEPOT_ARGS=${DEPOT_ARGS:-}
SETS=${SETS:-small large}
TOOLS=${TOOLS:-curl wget aria2c depot}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }
# shellcheck source=bench/nginx.sh
source "$HERE/nginx.sh"

for tool in nginx python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool not found (the 'time' package provides /usr/bin/time)"
done
for tool in $TOOLS; do
  case $tool in
    depot) [[ -x $DEPOT ]] || log "warning: $DEPOT not found; depot rows will be skipped" ;;
    curl | wget | aria2c) command -v "$tool" >/dev/null || die "$tool not found" ;;
    *) die "unknown tool '$tool' in TOOLS" ;;
  esac
done

# ---------------------------------------------------------------- work dir and cleanup
if [[ -n ${BENCH_DIR:-} ]]; then
  WORK=$BENCH_DIR
  mkdir -p "$WORK"
  OWN_WORK=0
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/depot-bench.XXXXXX")
  OWN_WORK=1
fi
WORK=$(cd "$WORK" && pwd)
[[ -n $WORK && $WORK != / ]] || die "refusing work dir '$WORK'"
UP=$WORK/upstream
OUT=$WORK/out
NGX=$WORK/nginx
LOGS=$WORK/logs

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  stop_nginx
  if [[ $KEEP == 1 ]]; then
    log "KEEP=1: leaving $WORK"
  else
    rm -rf -- "$OUT" "$NGX" "$LOGS" "$WORK/lists" "$WORK/times" "$WORK/depot.bin"
    if [[ $OWN_WORK == 1 ]]; then
      rm -rf -- "$WORK"
    else
      rm -rf -- "$UP"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT" "$LOGS" "$WORK/lists" "$WORK/times"

# A private copy of the depot binary, so a rebuild during the run cannot swap it half-way.
DEPOT_VERSION=
if [[ -x $DEPOT && " $TOOLS " == *" depot "* ]]; then
  cp -- "$DEPOT" "$WORK/depot.bin"
  DEPOT_SRC=$DEPOT
  DEPOT=$WORK/depot.bin
  DEPOT_VERSION=$("$DEPOT" --version 2>/dev/null | head -n 1 || true)
  GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || true)
  DEPOT_VERSION="$DEPOT_VERSION${GIT_REV:+ (tree $GIT_REV)}"
  log "depot: $DEPOT_SRC (${DEPOT_VERSION:-no --version})"
fi

# ---------------------------------------------------------------- upstream tree
STAMP="small=$SMALL_COUNT large=$LARGE_COUNT large_mb=$LARGE_MB seed=$SEED"
if [[ -f $UP/.stamp && $(cat "$UP/.stamp") == "$STAMP" ]]; then
  log "reusing upstream tree in $UP ($STAMP)"
else
  rm -rf -- "$UP"
  log "generating upstream tree ($STAMP)"
  t0=$(date +%s%N)
  python3 "$HERE/gen_tree.py" "$UP" --small-count "$SMALL_COUNT" --large-count "$LARGE_COUNT" \
    --large-mb "$LARGE_MB" --seed "$SEED"
  echo "$STAMP" >"$UP/.stamp"
  log "generated in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
fi

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
  awk -v b="$BASE/$set/noarch" '{printf "url = \"%s/%s\"\noutput = \"%s\"\n", b, $0, $0}' \
    "$names" >"$WORK/lists/$set.curlrc"
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
if awk -v l="$LOADAVG" 'BEGIN {exit !(l > 0.5)}'; then
  log "warning: load average is $LOADAVG; other work on this machine will skew the numbers"
fi

for rep in $(seq "$REPEAT"); do
  for set in $SETS; do
    log "rep $rep/$REPEAT, set $set"
    for tool in $TOOLS; do
      # Warm-up read before every tool, not once per set: this host pages out page cache that
      # has been idle for about a minute (DAMON pageout), and aria2c alone takes that long.
      find "$UP/$set" -type f -print0 | xargs -0 cat >/dev/null
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
rc=0
python3 "$HERE/report.py" "$RESULTS_TSV" --json "$RESULTS_DIR/last.json" \
  --meta small_count="$SMALL_COUNT" large_count="$LARGE_COUNT" large_mb="$LARGE_MB" \
  repeat="$REPEAT" seed="$SEED" depot="${DEPOT_SRC:-$DEPOT}" depot_version="$DEPOT_VERSION" loadavg_at_start="$LOADAVG" \
  loadavg_at_end="$(cut -d' ' -f1 /proc/loadavg)" \
  small_files="${EXPECT_FILES[small]:-0}" small_bytes="${EXPECT_BYTES[small]:-0}" \
  large_files="${EXPECT_FILES[large]:-0}" large_bytes="${EXPECT_BYTES[large]:-0}" \
  || rc=$?
cp "$RESULTS_TSV" "$RESULTS_DIR/last.tsv"
if [[ $STRICT == 1 ]]; then exit "$rc"; fi
exit 0
