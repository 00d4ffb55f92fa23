#!/usr/bin/env bash
# Micro-macro benchmark of a yum mirror run dominated by primary.xml: gen_yum_tree.py writes a
# repository of COUNT packages (sharing 64 small blobs) per compression, a local nginx serves
# it (optionally at NGINX_LIMIT_RATE per connection, e.g. 20m), and each depot binary of DEPOTS
# mirrors it into a fresh directory REPEAT times. Prints, per run: wall seconds, the snapshot's
# seconds (launch to the yum.repo log line, at the log's millisecond resolution), peak RSS in
# KiB, and the medians.
# Not part of make bench.
#
#   bench/yum_primary_bench.sh
#   DEPOTS="before=/tmp/old/depot after=build/depot" COMPRESS="gz zst" NGINX_LIMIT_RATE=20m \
#     bench/yum_primary_bench.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
COUNT=${COUNT:-100000}
COMPRESS=${COMPRESS:-gz xz zst}
REPEAT=${REPEAT:-3}
DEPOTS=${DEPOTS:-depot=$ROOT/build/depot}
KEEP=${KEEP:-0}

log() { printf '[yum-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }
# shellcheck source=bench/nginx.sh
source "$HERE/nginx.sh"

for tool in python3 nginx curl /usr/bin/time zstd; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/yum-bench.XXXXXX")
cleanup() {
  stop_nginx
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

for c in $COMPRESS; do
  python3 "$HERE/gen_yum_tree.py" "$WORK/up/$c" --count "$COUNT" --compress "$c" >&2
done
start_nginx "$WORK/up" "$WORK/nginx" "$(set -- $COMPRESS; echo "$1")/repodata/repomd.xml" \
  "$HERE/nginx_serve.conf.in"
log "serving $BASE (limit_rate ${NGINX_LIMIT_RATE:-0})"

RESULTS=$WORK/results.tsv
for rep in $(seq "$REPEAT"); do
  for c in $COMPRESS; do
    for d in $DEPOTS; do
      label=${d%%=*} bin=${d#*=}
      out=$WORK/out-$label-$c
      rm -rf "$out"
      sync
      start=$(date +%s.%N)
      /usr/bin/time -f '%e %M' -o "$WORK/time" "$bin" mirror yum "$BASE/$c" "$out" \
        --log-format json -q >/dev/null 2>"$WORK/log" || { cat "$WORK/log" >&2; die "$label failed"; }
      read -r wall rss <"$WORK/time"
      snap=$(python3 - "$WORK/log" "$start" <<'PY'
import json, sys
from datetime import datetime
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
end = next(l for l in lines if l.get("event") == "yum.repo")
ts = datetime.fromisoformat(end["ts"].replace("Z", "+00:00")).timestamp()
print(f"{ts - float(sys.argv[2]):.3f}")
PY
)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$label" "$rep" "$wall" "$snap" "$rss" | tee -a "$RESULTS"
    done
  done
done
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print("compress\tdepot\truns\twall_s\tsnapshot_s\trss_kib (medians)")
for key in dict.fromkeys((r[0], r[1]) for r in rows):
    sel = [r for r in rows if (r[0], r[1]) == key]
    med = lambda i: statistics.median(float(r[i]) for r in sel)
    print(f"{key[0]}\t{key[1]}\t{len(sel)}\t{med(3):.2f}\t{med(4):.2f}\t{med(5):.0f}")
PY
