#!/usr/bin/env bash
# demo.sh — mirror a generated ~200-package conda channel from a loopback server with depot,
# re-run it (no-op), verify every file's sha256 against upstream, print a short summary.
# Run by `make demo` after the build.  Exits non-zero if anything fails.
#   DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)
#   KEEP=1                   keep the temp dir for inspection
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPOT="${DEPOT_BIN:-$REPO/build/depot}"
FIX="$REPO/tests/fixtures"
PY="${PYTHON:-python3}"
CHANNEL=demo-forge
COUNT="${DEMO_PACKAGES:-200}"

die() { echo "demo: FAILED: $*" >&2; exit 1; }
[ -x "$DEPOT" ] || die "depot binary not found at $DEPOT (build first)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/depot-demo.XXXXXX")"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "demo: kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { "$PY" -c 'import time; print(time.monotonic())'; }
elapsed() { "$PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

echo "demo: generating a $COUNT-package channel in $WORK/upstream"
"$PY" "$FIX/make_conda_channel.py" --root "$WORK/upstream" --channel "$CHANNEL" \
  --subdir noarch --count "$COUNT" --min-size 1024 --max-size 131072 --bz2 --current >/dev/null

"$PY" "$FIX/fault_server.py" --root "$WORK/upstream" --port-file "$WORK/port" \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || die "fault server did not start: $(cat "$WORK/server.err")"
PORT="$(cat "$WORK/port")"
URL="http://127.0.0.1:$PORT/$CHANNEL/noarch"
MIRROR="$WORK/mirror"
echo "demo: upstream $URL (server pid $SERVER_PID)"

# mirror_once NAME WHAT: one depot run; its output goes to $WORK/NAME.{out,err}.
mirror_once() {
  "$DEPOT" mirror conda "$URL" "$MIRROR" >"$WORK/$1.out" 2>"$WORK/$1.err" || {
    local rc=$?; cat "$WORK/$1.out" "$WORK/$1.err" >&2; die "$2 exited $rc"; }
  tail -n 1 "$WORK/$1.out" | sed 's/^/demo:   /'
}

echo "demo: \$ depot mirror conda $URL $MIRROR"
t0=$(now)
mirror_once run1 "first mirror"
t1=$(now)

curl_log() { "$PY" - "$PORT" <<'PYEOF'
import json, sys, urllib.request
log = json.load(urllib.request.urlopen("http://127.0.0.1:%s/__log" % sys.argv[1], timeout=10))
pk = [e for e in log if e["method"] == "GET" and e["path"].endswith((".conda", ".tar.bz2"))]
print(len(pk))
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/__log" % sys.argv[1],
                                              method="DELETE"), timeout=10).read()
PYEOF
}
FIRST_GETS=$(curl_log)

echo "demo: \$ depot mirror conda $URL $MIRROR   # again: nothing changed upstream"
t2=$(now)
mirror_once run2 "no-op re-run"
t3=$(now)
NOOP_GETS=$(curl_log)

echo "demo: verifying every file's sha256 against upstream"
SUMMARY=$("$PY" - "$FIX" "$WORK/upstream" "$CHANNEL" "$MIRROR" <<'PYEOF'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import make_conda_channel as mcc
up, channel, mirror = sys.argv[2:5]
want = mcc.expected_files(up, channel, "noarch")
got, nbytes = {}, 0
for dirpath, dirnames, filenames in os.walk(mirror):
    dirnames[:] = [d for d in dirnames if d != ".depot"]
    for fn in filenames:
        p = os.path.join(dirpath, fn)
        got[os.path.relpath(p, mirror)] = mcc.sha256_file(p)
        nbytes += os.path.getsize(p)
missing = sorted(set(want) - set(got))
extra = sorted(set(got) - set(want))
wrong = sorted(n for n in set(want) & set(got) if want[n] != got[n])
repodata = json.load(open(os.path.join(mirror, "repodata.json")))
for key in ("packages", "packages.conda"):
    for fn, e in repodata[key].items():
        if os.path.getsize(os.path.join(mirror, fn)) != e["size"] or got[fn] != e["sha256"]:
            wrong.append(fn)
if missing or extra or wrong:
    print("missing=%s extra=%s wrong=%s" % (missing[:10], extra[:10], wrong[:10]), file=sys.stderr)
    sys.exit(1)
print("%d %d" % (len(got), nbytes))
PYEOF
) || die "verification failed"
read -r NFILES NBYTES <<<"$SUMMARY"
[ "$NOOP_GETS" = 0 ] || die "no-op re-run downloaded $NOOP_GETS packages"

echo
echo "demo summary"
echo "  files mirrored     : $NFILES ($FIRST_GETS package downloads)"
echo "  bytes              : $NBYTES"
echo "  first mirror       : $(elapsed "$t0" "$t1") s"
echo "  sha256 verified    : $NFILES/$NFILES files match upstream"
echo "  no-op re-run       : $(elapsed "$t2" "$t3") s, $NOOP_GETS packages downloaded"
echo "demo: OK"
