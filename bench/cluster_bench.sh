#!/usr/bin/env bash
# Macro benchmark of `depot cluster serve`: 3 storage nodes (`depot serve DIR --node NAME`) and
# one gateway in front of them (`--copies 3`), all on loopback, measured side by side in one
# run. See bench/README.md ("cluster_bench.sh").
#   upload  fan-out: UP_FILES files of UP_MB MiB PUT once each through the gateway (it streams
#           every body to the 3 nodes at once), one curl on one keep-alive connection;
#           direct:  the same files PUT to each of the 3 nodes in turn (file 1 to n1, n2, n3,
#           then file 2 ...), one curl on keep-alive connections;
#           parallel: the same files PUT to the 3 nodes at once, one curl per node (the floor:
#           what any fan-out reaches on this hardware). Paths are new each repetition and
#           deleted (untimed) afterwards.
#   get     GET_FILES files per size in GET_SIZES (stored on every node through the gateway
#           first), requested round-robin by wrk -c CONNS for DURATION seconds from the gateway,
#           from node n1 directly, and from a private nginx proxying to n1 (the floor: the
#           best-known HTTP proxy on this hardware); the proxy's and the nodes' CPU time (utime
#           + stime from /proc/PID/stat) is read before and after each run.
# Legs rotate by one each repetition. Medians over REPEAT go to RESULTS_DIR/cluster_last.{tsv,json}
# (bench/cluster_report.py) with targets: fan-out time <= 0.5x direct time; gateway GET MiB/s
# >= 0.8x node MiB/s, every size; the floors' ratios are printed beside them.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=cluster-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

UP_FILES=${UP_FILES:-64}
UP_MB=${UP_MB:-8}
GET_SIZES=${GET_SIZES:-256k 8m}
GET_FILES=${GET_FILES:-8}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-16}
WRK_THREADS=${WRK_THREADS:-2}
TESTS=${TESTS:-upload get}
NODE_TOKEN=bench-node-token
CLIENT_TOKEN=bench-client-token
NODES=(n1 n2 n3)
# nginx as the floor proxy: unbuffered was faster than buffered (in memory) for both sizes here.
NGINX_PROXY_BUFFERING=${NGINX_PROXY_BUFFERING:-off}

need_tools "scripts/install-deps.sh installs it" wrk curl python3 sha256sum nginx
need_depot
warn_if_loaded 1.5

make_work cluster-bench
# shellcheck disable=SC2317  # invoked by trap
cleanup_work() { remove_work -m "left $WORK (generated files kept)" "$WORK/run"; }
private_depot
rm -rf -- "$WORK/run"
mkdir -p "$WORK/run/answers"
RUN=$WORK/run
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- files
bytes_of() {
  case $1 in
    *k) echo $((${1%k} * 1024)) ;;
    *m) echo $((${1%m} * 1024 * 1024)) ;;
    *) echo "$1" ;;
  esac
}
# gen_files DIR COUNT BYTES: COUNT random files f-NNN of BYTES each, and DIR/SHA256SUMS.
# shellcheck disable=SC2317  # invoked by ensure_tree
gen_files() {
  local dir=$1 i
  mkdir -p "$dir"
  for i in $(seq -w "$2"); do head -c "$3" /dev/urandom >"$dir/f-$i"; done
  (cd "$dir" && sha256sum f-* >SHA256SUMS)
}
UP_DIR=$WORK/files/up
ensure_tree "$UP_DIR" "files=$UP_FILES mb=$UP_MB" "upload files" \
  gen_files "$UP_DIR" "$UP_FILES" $((UP_MB * 1024 * 1024))
for size in $GET_SIZES; do
  ensure_tree "$WORK/files/get-$size" "files=$GET_FILES size=$size" "$size GET files" \
    gen_files "$WORK/files/get-$size" "$GET_FILES" "$(bytes_of "$size")"
done
UP_BYTES=$((UP_FILES * UP_MB * 1024 * 1024))

# ---------------------------------------------------------------- cluster
sha_hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
echo "gateway:$(sha_hex "$NODE_TOKEN"):full" >"$RUN/node-auth"
echo "bench:$(sha_hex "$CLIENT_TOKEN"):full" >"$RUN/client-auth"

declare -A PID BASE
for n in "${NODES[@]}"; do
  mkdir -p "$RUN/root-$n"
  "$DEPOT" serve "$RUN/root-$n" --node "$n" --auth-file "$RUN/node-auth" \
    --listen 127.0.0.1:0 --port-file "$RUN/$n.port" >"$RUN/$n.out" 2>"$RUN/$n.err" &
  PID[$n]=$!
  track_pid "${PID[$n]}"
done
node_args=()
for n in "${NODES[@]}"; do
  wait_for_file "$RUN/$n.port" "${PID[$n]}" 10 "node $n" "$RUN/$n.err"
  BASE[$n]=http://127.0.0.1:$(cat "$RUN/$n.port")
  node_args+=(--node "$n=${BASE[$n]}")
done
"$DEPOT" cluster serve --name gw --state "$RUN/state-gw" --copies 3 --node-token "$NODE_TOKEN" \
  --auth-file "$RUN/client-auth" "${node_args[@]}" --listen 127.0.0.1:0 \
  --port-file "$RUN/gw.port" >"$RUN/gw.out" 2>"$RUN/gw.err" &
PID[gw]=$!
track_pid "${PID[gw]}"
wait_for_file "$RUN/gw.port" "${PID[gw]}" 10 gateway "$RUN/gw.err"
BASE[gw]=http://127.0.0.1:$(cat "$RUN/gw.port")
for _ in $(seq 100); do
  up=$(curl -sf "${BASE[gw]}/_depot/v1/cluster/status" |
    python3 -c 'import json, sys; print(sum(n["up"] for n in json.load(sys.stdin)["nodes"]))' ||
    echo 0)
  [[ $up == "${#NODES[@]}" ]] && break
  sleep 0.1
done
[[ $up == "${#NODES[@]}" ]] || die "gateway ${BASE[gw]}: $up of ${#NODES[@]} nodes up after 10 s"
log "nodes ${NODES[*]} (${BASE[n1]} ...), gateway pid ${PID[gw]} on ${BASE[gw]}"
if [[ " $TESTS " == *" get "* ]]; then
  NGINX_UPSTREAM=${BASE[n1]#http://} start_nginx "$RUN/root-n1" "$RUN/nginx" _bench_probe \
    "$HERE/nginx_proxy.conf.in"
  PID[ngx]=$NGINX_PID
  unset 'BASE[0]'  # start_nginx's BASE= lands there in this associative array
  BASE[ngx]=http://127.0.0.1:$PORT
  log "nginx pid ${PID[ngx]} on ${BASE[ngx]}, proxying to ${BASE[n1]}"
fi

alive() {
  local p
  for p in gw "${NODES[@]}"; do
    kill -0 "${PID[$p]}" 2>/dev/null || { tail -n 20 "$RUN/$p.err" >&2; die "$p died"; }
  done
}
# cpu_s NAME...: CPU seconds (user + system) used so far by the named processes, summed; for
# ngx, nginx's master and its workers (its children).
cpu_s() {
  local p ticks=0 f pids=() kids
  for p in "$@"; do
    pids+=("${PID[$p]}")
    if [[ $p == ngx ]]; then
      read -r -a kids <"/proc/${PID[$p]}/task/${PID[$p]}/children" || true
      pids+=("${kids[@]}")
    fi
  done
  for p in "${pids[@]}"; do
    read -r -a f < <(sed 's/.*) //' "/proc/$p/stat")
    ticks=$((ticks + f[11] + f[12]))  # utime, stime: fields 14 and 15
  done
  awk -v t="$ticks" -v h="$CLK_TCK" 'BEGIN {printf "%.2f", t / h}'
}
now_ns() { date +%s%N; }

# put_config DIR PREFIX BASE TOKEN PATHPREFIX: curl config PUTting every file listed in
# DIR/SHA256SUMS to BASE/PATHPREFIX/PREFIX/<name>, one transfer per `next` section.
put_config() {
  local dir=$1 base=$2 token=$3 prefix=$4 sum name
  while read -r sum name; do
    printf 'url = "%s/%s/%s"\nupload-file = "%s/%s"\n' "$base" "$prefix" "$name" "$dir" "$name"
    printf 'header = "X-Depot-Sha256: %s"\nheader = "Authorization: Bearer %s"\n' "$sum" "$token"
    printf 'output = "%s/answers/%s-%s"\nwrite-out = "%%{http_code} %%{filename_effective}\\n"\nnext\n' \
      "$RUN" "${prefix//\//_}" "$name"
  done <"$dir/SHA256SUMS"
}
# run_puts CONFIG WANT [soft]: runs curl on CONFIG (its last `next` dropped); dies unless every
# answer is WANT, showing the first bodies that are not. With `soft`, other answers are logged and their count is printed instead.
run_puts() {
  local out=$RUN/puts.out bad
  sed -i '${/^next$/d}' "$1"
  curl --config "$1" --silent --show-error >"$out" 2>"$RUN/puts.err" ||
    { cat "$RUN/puts.err" >&2; die "curl --config $1 failed"; }
  bad=$(grep -cv "^$2 " "$out" || true)
  if [[ $bad != 0 ]]; then
    grep -v "^$2 " "$out" | head -n 3 | while read -r _ f; do cat "$f" >&2; done
    [[ ${3:-} == soft ]] || die "curl --config $1: $bad answers not $2 (above)"
    log "warning: curl --config $1: $bad answers not $2 (above)"
    grep -E ' (WARN|ERROR) ' "$RUN/gw.err" | tail -n 5 >&2 || true
  fi
  echo "$bad"
}
# delete URL TOKEN: DELETE, untimed; a failure is only logged.
delete() {
  curl -sf -o /dev/null -X DELETE -H "Authorization: Bearer $2" "$1" || log "warning: DELETE $1 failed"
}

# Files for GET, stored on every node through the gateway (untimed).
for size in $GET_SIZES; do
  put_config "$WORK/files/get-$size" "${BASE[gw]}" "$CLIENT_TOKEN" "get/$size" >"$RUN/get-$size.curlrc"
  run_puts "$RUN/get-$size.curlrc" 201 >/dev/null
  sed "s|^f-|/get/$size/f-|" <(cut -d' ' -f3 "$WORK/files/get-$size/SHA256SUMS") >"$RUN/paths.$size"
  for n in "${NODES[@]}"; do
    [[ $(find "$RUN/root-$n/get/$size" -type f | wc -l) == "$GET_FILES" ]] ||
      die "node $n holds $(find "$RUN/root-$n/get/$size" -type f | wc -l) of $GET_FILES $size files"
  done
  p=$(head -n 1 "$RUN/paths.$size")
  want=$(sha256sum "$RUN/root-n1$p" | cut -d' ' -f1)
  for b in "${BASE[gw]}" "${BASE[n1]}" ${BASE[ngx]:+"${BASE[ngx]}"}; do
    [[ $(curl -sf "$b$p" | sha256sum | cut -d' ' -f1) == "$want" ]] || die "GET $b$p: wrong body"
  done
done

# ---------------------------------------------------------------- runs
TSV=$RUN/results.tsv
printf 'rep\ttest\tsize\tleg\tseconds\tbytes\trequests\terrors\tgw_cpu_s\tnodes_cpu_s\tp50_us\tp99_us\n' >"$TSV"
row() { local IFS=$'\t'; echo "$*" >>"$TSV"; }

upload_leg() {
  local rep=$1 leg=$2 t0 t1 g0 g1 s0 s1 n bad
  local cfg=$RUN/up.$rep.$leg.curlrc
  if [[ $leg == fanout ]]; then
    put_config "$UP_DIR" "${BASE[gw]}" "$CLIENT_TOKEN" "up/$rep/fanout" >"$cfg"
  elif [[ $leg == parallel ]]; then
    # One config per node, each file by file: run at once by run_puts_parallel.
    for n in "${NODES[@]}"; do
      while read -r sum name; do
        echo "$sum $name" | put_config_one "$n" "$rep" parallel
      done <"$UP_DIR/SHA256SUMS" >"$cfg.$n"
    done
  else
    : >"$cfg"
    # File by file, to each node in turn: as a client without the gateway would.
    while read -r sum name; do
      for n in "${NODES[@]}"; do
        echo "$sum $name" | put_config_one "$n" "$rep" direct
      done
    done <"$UP_DIR/SHA256SUMS" >"$cfg"
  fi
  warm_cache "$UP_DIR"
  sync
  g0=$(cpu_s gw) s0=$(cpu_s "${NODES[@]}") t0=$(now_ns)
  if [[ $leg == parallel ]]; then
    bad=$(run_puts_parallel "$cfg" 201)
  else
    bad=$(run_puts "$cfg" 201 soft)
  fi
  t1=$(now_ns) g1=$(cpu_s gw) s1=$(cpu_s "${NODES[@]}")
  row "$rep" upload "${UP_MB}m" "$leg" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')" \
    "$UP_BYTES" "$UP_FILES" "$bad" "$(awk -v a="$g0" -v b="$g1" 'BEGIN {printf "%.2f", b - a}')" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f", b - a}')" 0 0
  alive
  # Untimed: the copies go, so the disk holds one round at a time.
  while read -r _ name; do
    if [[ $leg == fanout ]]; then
      delete "${BASE[gw]}/up/$rep/fanout/$name" "$CLIENT_TOKEN"
    else
      for n in "${NODES[@]}"; do
        delete "${BASE[$n]}/_depot/v1/files/up/$rep/$leg/$name" "$NODE_TOKEN"
      done
    fi
  done <"$UP_DIR/SHA256SUMS"
  sync
  log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "upload %-7s %7.2f s %8.1f MiB/s errors=%s  gateway cpu %s s, nodes cpu %s s", $4, $5, $6/$5/1048576, $8, $9, $10}')"
}
# put_config_one NODE REP LEG: put_config's section for the one "SUM NAME" line on stdin, to
# NODE's up/REP/LEG/NAME.
put_config_one() {
  local sum name
  read -r sum name
  printf 'url = "%s/_depot/v1/files/up/%s/%s/%s"\nupload-file = "%s/%s"\n' \
    "${BASE[$1]}" "$2" "$3" "$name" "$UP_DIR" "$name"
  printf 'header = "X-Depot-Sha256: %s"\nheader = "Authorization: Bearer %s"\n' "$sum" "$NODE_TOKEN"
  printf 'output = "%s/answers/%s-%s-%s-%s"\nwrite-out = "%%{http_code} %%{filename_effective}\\n"\nnext\n' \
    "$RUN" "$3" "$2" "$1" "$name"
}
# run_puts_parallel CONFIG WANT: runs one curl per node on CONFIG.NODE, all at once; prints the
# number of answers that are not WANT (logging the first bodies of those).
run_puts_parallel() {
  local n pids=() bad=0 out
  for n in "${NODES[@]}"; do
    sed -i '${/^next$/d}' "$1.$n"
    curl --config "$1.$n" --silent --show-error >"$RUN/puts.$n.out" 2>"$RUN/puts.$n.err" &
    pids+=($!)
  done
  for n in "${!pids[@]}"; do
    wait "${pids[n]}" || { cat "$RUN/puts.${NODES[n]}.err" >&2; die "curl --config $1.${NODES[n]} failed"; }
  done
  for n in "${NODES[@]}"; do
    out=$RUN/puts.$n.out
    bad=$((bad + $(grep -cv "^$2 " "$out" || true)))
    grep -v "^$2 " "$out" | head -n 3 | while read -r _ f; do cat "$f" >&2; done
  done
  [[ $bad == 0 ]] || log "warning: parallel PUTs: $bad answers not $2 (above)"
  echo "$bad"
}

get_leg() {
  local rep=$1 size=$2 leg=$3 base out g0 g1 s0 s1
  local proxy=gw
  base=${BASE[gw]}
  [[ $leg == node ]] && base=${BASE[n1]}
  [[ $leg == nginx ]] && base=${BASE[ngx]} proxy=ngx
  cat "$RUN/root-n1/get/$size"/* "$RUN/root-n2/get/$size"/* "$RUN/root-n3/get/$size"/* >/dev/null
  out=$RUN/wrk.$rep.$size.$leg
  g0=$(cpu_s $proxy) s0=$(cpu_s "${NODES[@]}")
  wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 30s \
    -s "$HERE/wrk_paths.lua" "$base" -- "$RUN/paths.$size" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $leg"; }
  g1=$(cpu_s $proxy) s1=$(cpu_s "${NODES[@]}")
  python3 - "$out" "$rep" "$size" "$leg" "$g0" "$g1" "$s0" "$s1" >>"$TSV" <<'PY'
import json, sys
out, rep, size, leg, g0, g1, n0, n1 = sys.argv[1:]
r = json.loads([l for l in open(out) if l.startswith('{"duration_us"')][-1])
print("\t".join(map(str, [rep, "get", size, leg, r["duration_us"] / 1e6, r["bytes"], r["requests"],
                          sum(r["errors"].values()), round(float(g1) - float(g0), 2),
                          round(float(n1) - float(n0), 2), r["latency_us"]["p50"],
                          r["latency_us"]["p99"]])))
PY
  alive
  log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "get %-4s %-7s %8.0f req/s %8.1f MiB/s errors=%s  proxy cpu %s s, nodes cpu %s s", $3, $4, $7/$5, $6/$5/1048576, $8, $9, $10}')"
}

for rep in $(seq "$REPEAT"); do
  log "rep $rep/$REPEAT"
  if [[ " $TESTS " == *" upload "* ]]; then
    for leg in $(rotated "$rep" fanout direct parallel); do upload_leg "$rep" "$leg"; done
  fi
  if [[ " $TESTS " == *" get "* ]]; then
    for size in $GET_SIZES; do
      for leg in $(rotated "$rep" gateway node nginx); do get_leg "$rep" "$size" "$leg"; done
    done
  fi
done

mkdir -p "$RESULTS_DIR"
cp "$TSV" "$RESULTS_DIR/cluster_last.tsv"
finish python3 "$HERE/cluster_report.py" "$TSV" --json "$RESULTS_DIR/cluster_last.json" \
  --meta up_files="$UP_FILES" up_mb="$UP_MB" get_sizes="$GET_SIZES" get_files="$GET_FILES" \
  duration_s="$DURATION" repeat="$REPEAT" conns="$CONNS" wrk_threads="$WRK_THREADS" \
  copies=3 nodes="${#NODES[@]}" cores="$(nproc)" loadavg="$(cut -d' ' -f1 /proc/loadavg)" \
  depot="$DEPOT_VERSION"
