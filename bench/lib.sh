# shellcheck shell=bash
# Sourced by the bench scripts (after `set -euo pipefail`): logging, tool checks, the work dir and
# its cleanup at exit, processes stopped by PID, the private depot copy, generated trees kept by
# stamp, the rotating tool order and the report's exit status; sources nginx.sh too.
# The caller sets HERE (the bench directory) and BENCH_NAME (its log prefix) first.

ROOT=$(dirname "$HERE")
# Variables every script reads (bench/README.md, mirror_bench.sh's table).
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
DEPOT=${DEPOT:-$ROOT/build/depot}
DEPOT_ARGS=${DEPOT_ARGS:-}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 2
}

# need_tools HINT TOOL...: dies naming the first TOOL not found, with HINT (if not empty).
need_tools() {
  local hint=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found${hint:+ ($hint)}"
  done
}

# need_depot: dies unless DEPOT is an executable.
need_depot() { [[ -x $DEPOT ]] || die "$DEPOT not built (make build, or DEPOT=path)"; }

# free_port [LO HI]: prints a loopback TCP port that is free now, from LO..HI if given (else any).
# shellcheck disable=SC2120  # the range is optional
free_port() {
  python3 - "$@" <<'PY'
import random, socket, sys
lo, hi = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (0, 0)
for _ in range(200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(lo, hi) if hi else 0))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
else:
    sys.exit("no free port")
PY
}

# stop_pid PID: ends one process this script started (an nginx, a server under test), if it
# runs.
stop_pid() {
  if [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

# shellcheck source=bench/nginx.sh
source "$HERE/nginx.sh"

BENCH_PIDS=()
# track_pid PID: PID is stopped (stop_pid) when the script exits, the last tracked first.
track_pid() { BENCH_PIDS+=("$1"); }

# wait_for_file FILE PID SECONDS WHAT OUTPUT: waits until PID (WHAT) has written FILE (not
# empty); dies, showing the tail of OUTPUT, when PID exits first, or after SECONDS.
wait_for_file() {
  local file=$1 pid=$2 secs=$3 what=$4 output=$5 i
  for ((i = 0; i < secs * 10; i++)); do
    [[ -s $file ]] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$output" >&2; die "$what exited"; }
    sleep 0.1
  done
  [[ -s $file ]] || die "$what wrote no $file within $secs s"
}

# make_work NAME: sets WORK, the absolute work dir: BENCH_DIR (created if missing; OWN_WORK=0)
# or a new depot-NAME.XXXXXX under TMPDIR or /tmp (OWN_WORK=1); refuses "/". Then installs the
# exit trap: tracked processes and every nginx are stopped, the script's cleanup_work (if it
# defines one) runs, and the script exits with its own status (130 on INT or TERM).
make_work() {
  if [[ -n ${BENCH_DIR:-} ]]; then
    WORK=$BENCH_DIR
    OWN_WORK=0
    mkdir -p "$WORK"
  else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/depot-$1.XXXXXX")
    OWN_WORK=1
  fi
  WORK=$(cd "$WORK" && pwd)
  [[ -n $WORK && $WORK != / ]] || die "refusing work dir '$WORK'"
  trap on_exit EXIT
  trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317  # invoked by trap
on_exit() {
  local rc=$? i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BENCH_PIDS[i]}"; done
  stop_nginx
  if declare -F cleanup_work >/dev/null; then cleanup_work; fi
  exit "$rc"
}

# remove_work [-m NOTE] [PATH...]: the usual cleanup_work. KEEP=1 leaves everything; otherwise
# the PATHs go, then WORK itself when it is our own; a BENCH_DIR stays (NOTE is logged).
remove_work() {
  local note=
  if [[ ${1:-} == -m ]]; then
    note=$2
    shift 2
  fi
  if [[ $KEEP == 1 ]]; then
    log "KEEP=1: leaving $WORK"
    return
  fi
  rm -rf -- "$@"
  if [[ $OWN_WORK == 1 ]]; then
    rm -rf -- "$WORK"
  elif [[ -n $note ]]; then
    log "$note"
  fi
}

# private_depot: copies DEPOT into WORK/depot.bin, so a rebuild during the run cannot swap it
# half-way, and points DEPOT there; DEPOT_SRC is the original, DEPOT_VERSION its --version and
# the git revision of the tree it was built in.
private_depot() {
  local rev
  DEPOT_SRC=$DEPOT
  cp -- "$DEPOT" "$WORK/depot.bin"
  DEPOT=$WORK/depot.bin
  rev=$(git -C "$(dirname "$DEPOT_SRC")" describe --always --dirty 2>/dev/null || echo '?')
  DEPOT_VERSION="$("$DEPOT" --version 2>/dev/null | head -n 1 || true) (tree $rev)"
  log "depot: $DEPOT_SRC ($DEPOT_VERSION)"
}

# ensure_tree DIR STAMP WHAT CMD...: keeps DIR when DIR/.stamp holds STAMP (the parameters it was
# generated with); else removes DIR, runs CMD to generate it and writes the stamp.
ensure_tree() {
  local dir=$1 stamp=$2 what=$3 t0
  shift 3
  if [[ -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" ]]; then
    log "reusing $what in $dir ($stamp)"
    return
  fi
  rm -rf -- "$dir"
  log "generating $what ($stamp)"
  t0=$(date +%s%N)
  "$@"
  echo "$stamp" >"$dir/.stamp"
  log "generated in $((($(date +%s%N) - t0) / 1000000)) ms"
}

# warm_cache PATH...: reads every file below PATHs, so that the tool timed next meets a hot page
# cache. Done before every tool: this host pages out page cache idle for about a minute.
warm_cache() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }

# curl_config BASE: url/output pairs for `curl --config`, one per relative path on stdin.
curl_config() { awk -v b="$1" '{printf "url = \"%s/%s\"\noutput = \"%s\"\n", b, $0, $0}'; }

# warn_if_loaded LIMIT: logs a warning when the 1-minute load average is above LIMIT.
warn_if_loaded() {
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" -v m="$1" 'BEGIN {exit !(l > m)}'; then
    log "warning: load average is $load; other work on this machine will skew the numbers"
  fi
}

# rotated REP ITEM...: the ITEMs rotated left by REP-1, one a line: repetition REP's order.
rotated() {
  local rep=$1 i
  shift
  local items=("$@")
  for ((i = 0; i < $#; i++)); do echo "${items[(i + rep - 1) % $#]}"; done
}

# finish REPORT...: runs the report command and exits: with its status under STRICT=1, else 0
# (a benchmark, not a test).
finish() {
  local rc=0
  "$@" || rc=$?
  if [[ $STRICT == 1 ]]; then exit "$rc"; fi
  exit 0
}
