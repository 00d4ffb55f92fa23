#!/usr/bin/env bash
# Macro benchmark: `depot mirror npm` against curl --parallel 64 over the same URL list (every
# packument and tarball) of a generated npm registry of COUNT packages served by a local nginx,
# in one run, alternating; then depot's no-op re-run, and the mirror served by plain nginx
# (npm_nginx_static.conf.in) checked against its files. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=npm-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

COUNT=${COUNT:-2000}
VERSIONS=${VERSIONS:-5}
REPEAT=${REPEAT:-3}

need_tools "" nginx curl python3 /usr/bin/time
need_depot

# Always a new work dir (BENCH_DIR is not used): the generated packuments name this run's port.
BENCH_DIR='' make_work npm-bench
UP=$WORK/upstream OUT=$WORK/out LOGS=$WORK/logs
# shellcheck disable=SC2317,SC2119  # invoked by trap; nothing to remove but WORK
cleanup_work() { remove_work; }
mkdir -p "$UP" "$OUT" "$LOGS" "$WORK/lists"
private_depot

# The upstream's port is picked first: tarball URLs in the packuments name it.
NGINX_PORT=$(free_port)
log "generating $COUNT packages x $VERSIONS versions"
python3 "$HERE/gen_npm_tree.py" --root "$UP" --lists "$WORK/lists" --count "$COUNT" \
  --versions "$VERSIONS" --base "http://127.0.0.1:$NGINX_PORT" >"$LOGS/gen.txt"
log "$(cat "$LOGS/gen.txt")"
start_nginx "$UP" "$WORK/nginx-up" "pkg-00001"
UP_BASE=$BASE
unset NGINX_PORT
FILES=$(wc -l <"$WORK/lists/urls")
# curl's config: one url/output pair per file, packuments saved under their names.
python3 - "$WORK/lists/urls" "$WORK/curl.cfg" <<'PY'
import sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for u in f.read().split():
        path = u.split("/", 3)[3].replace("%2f", "/")
        if "/-/" not in path:
            path += ".packument.json"
        out.write('url = "%s"\noutput = "%s"\n' % (u, path))
PY

settle() { sync; sleep 1; }
# run NAME CMD...: wall seconds of CMD into $LOGS/NAME.time; stdout+stderr into NAME.log.
run() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>&1 ||
    { cat "$LOGS/$name.log" >&2; die "$name failed"; }
  cut -d' ' -f1 "$LOGS/$name.time"
}

declare -a T_DEPOT T_CURL
for rep in $(seq "$REPEAT"); do
  for tool in depot curl; do
    rm -rf "$OUT" && mkdir -p "$OUT" && settle
    if [[ $tool == depot ]]; then
      # shellcheck disable=SC2086
      t=$(run "$rep.depot" "$DEPOT" mirror npm "$UP_BASE" "$OUT" --base-url http://mirror.example \
        --packages-from "$WORK/lists/packages" $DEPOT_ARGS)
      T_DEPOT+=("$t")
      n=$(find "$OUT" -name '*.tgz' | wc -l)
      [[ $n == $((COUNT * VERSIONS)) ]] || die "depot mirrored $n tarballs"
    else
      t=$(cd "$OUT" && run "$rep.curl" curl --parallel --parallel-max 64 --create-dirs -sSf \
        -K "$WORK/curl.cfg")
      T_CURL+=("$t")
      n=$(find "$OUT" -type f | wc -l)
      [[ $n == "$FILES" ]] || die "curl fetched $n files of $FILES"
    fi
    log "rep $rep $tool: ${t}s"
  done
done

# No-op re-runs of the last depot mirror (the last loop left curl's output: mirror again).
rm -rf "$OUT" && mkdir -p "$OUT"
run mirror "$DEPOT" mirror npm "$UP_BASE" "$OUT" --base-url http://mirror.example \
  --packages-from "$WORK/lists/packages" >/dev/null
settle
declare -a T_NOOP
for rep in $(seq "$REPEAT"); do
  t=$(run "noop.$rep" "$DEPOT" mirror npm "$UP_BASE" "$OUT" --base-url http://mirror.example \
    --packages-from "$WORK/lists/packages")
  T_NOOP+=("$t")
  log "no-op $rep: ${t}s"
done

# The mirror behind plain nginx with the static config: both scoped spellings, both forms.
start_nginx "$OUT" "$WORK/nginx-static" "pkg-00001" "$HERE/npm_nginx_static.conf.in"
corgi='application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'
curl -sf "$BASE/@bench0%2fpkg-00000" | cmp -s - "$OUT/@bench0/pkg-00000/index.json" ||
  die "nginx: /@scope%2fname is not index.json"
curl -sf -H "Accept: $corgi" "$BASE/@bench0/pkg-00000" |
  cmp -s - "$OUT/@bench0/pkg-00000/index.abbrev.json" || die "nginx: corgi is not index.abbrev.json"
curl -sf -H "Accept: $corgi" "$BASE/pkg-00001" | cmp -s - "$OUT/pkg-00001/index.abbrev.json" ||
  die "nginx: /name corgi is not index.abbrev.json"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/.upstream/pkg-00001.json") == 404 ]] ||
  die "nginx: .upstream/ is served"
log "nginx static config: /name, /@scope%2fname, /@scope/name and the corgi form check out"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
md=$(median "${T_DEPOT[@]}") mc=$(median "${T_CURL[@]}") mn=$(median "${T_NOOP[@]}")
mkdir -p "$RESULTS_DIR"
res=$RESULTS_DIR/npm-$(date +%Y%m%d-%H%M%S).txt
{
  echo "npm bench: $COUNT packages, $FILES files ($(cat "$LOGS/gen.txt")), REPEAT=$REPEAT, $(nproc) cores"
  echo "depot mirror npm  s: ${T_DEPOT[*]}  (median $md)"
  echo "curl --parallel 64 s: ${T_CURL[*]}  (median $mc)"
  echo "no-op re-run      s: ${T_NOOP[*]}  (median $mn)"
  awk -v d="$md" -v c="$mc" 'BEGIN {printf "speed depot/curl = curl time / depot time = %.2f\n", c / d}'
} | tee "$res"
log "results in $res"
