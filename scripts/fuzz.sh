#!/usr/bin/env bash
# fuzz.sh — runs the libFuzzer targets of fuzz/ one after the other (one fuzzer process at a
# time, under nice), each for FUZZ_SECONDS, and reports executions, CPU time and crashes.
# Run by `make fuzz` (and `make fuzz-smoke`) after the build-fuzz build. Exits non-zero when a
# target crashed (an ASan/UBSan report, a leak, a failed oracle, a timeout or an OOM).
#
#   scripts/fuzz.sh [target...]      default: every fuzz/<name>_fuzz.cc
#   FUZZ_SECONDS=60                  per target (-max_total_time)
#   FUZZ_BUILD=build-fuzz            where the targets are built
#   FUZZ_SMOKE=1                     fresh working corpus each run (CI); else it accumulates
#   FUZZ_ARGS="..."                  more libFuzzer flags, e.g. "-jobs=1 -max_len=4096"
#
# Working corpora live in $FUZZ_BUILD/corpus/<target>/ (outside git; new inputs land there),
# seeded from fuzz/corpus/<target>/; crashes go to $FUZZ_BUILD/crashes/<target>/; one line per
# target is appended to $FUZZ_BUILD/fuzz-results.tsv.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD:-$REPO/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
SMOKE="${FUZZ_SMOKE:-0}"
RESULTS="$BUILD/fuzz-results.tsv"

# A dictionary per family of inputs (fuzz/dict/<name>.dict).
dict_for() {
  case "$1" in
    deb822 | apt_packages | apt_release | deb_control) echo deb822 ;;
    yum_primary | yum_repomd) echo xml ;;
    http_request | http_headers | serve_path) echo http ;;
    pypi_page | page_rewrite | url_text) echo pypi ;;
    conda_repodata | control_request | crates_index) echo json ;;
    *) echo "" ;;
  esac
}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$REPO"/fuzz/*_fuzz.cc; do
    n="$(basename "$f" .cc)"
    targets+=("${n%_fuzz}")
  done
fi

[ -f "$RESULTS" ] || printf 'date\ttarget\tseconds\tcpu_s\texecs\tcorpus\tcrashes\n' >"$RESULTS"
failed=()
total_cpu=0
for t in "${targets[@]}"; do
  bin="$BUILD/fuzz/${t}_fuzz"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin not built" >&2
    failed+=("$t(not built)")
    continue
  fi
  work="$BUILD/corpus/$t"
  [ "$SMOKE" = 1 ] && work="$BUILD/smoke-corpus/$t" && rm -rf "$work"
  crashes="$BUILD/crashes/$t"
  mkdir -p "$work" "$crashes"
  seeds="$REPO/fuzz/corpus/$t"
  [ -d "$seeds" ] || seeds=""
  args=(-max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 -detect_leaks=1
        -print_final_stats=1 -artifact_prefix="$crashes/")
  d="$(dict_for "$t")"
  [ -n "$d" ] && args+=(-dict="$REPO/fuzz/dict/$d.dict")
  log="$BUILD/fuzz-$t.log"
  before=$(find "$crashes" -type f | wc -l)
  # shellcheck disable=SC2086
  ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    /usr/bin/time -f '%U %S' -o "$BUILD/fuzz-$t.time" \
    nice -n 19 "$bin" "${args[@]}" ${FUZZ_ARGS:-} "$work" $seeds >"$log" 2>&1
  rc=$?
  after=$(find "$crashes" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cpu=$(tail -1 "$BUILD/fuzz-$t.time" | awk '{printf "%.1f", $1 + $2}')
  corpus=$(find "$work" -type f | wc -l)
  total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN {printf "%.1f", a + b}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$SECONDS_EACH" "$cpu" \
    "${execs:-0}" "$corpus" "$((after - before))" >>"$RESULTS"
  printf 'fuzz: %-16s %8s execs  %7s s CPU  corpus %5s  ' "$t" "${execs:-0}" "$cpu" "$corpus"
  if [ $rc -ne 0 ] || [ "$after" -gt "$before" ]; then
    echo "CRASH (exit $rc): see $log and $crashes/"
    grep -m3 -E 'ERROR: |SUMMARY: |fuzz check failed' "$log" | sed 's/^/fuzz:   /'
    failed+=("$t")
  else
    echo "ok"
  fi
done
echo "fuzz: ${#targets[@]} targets, $total_cpu s CPU in all; results in $RESULTS"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
