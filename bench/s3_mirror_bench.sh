#!/usr/bin/env bash
# Macro benchmark: `depot mirror conda ... s3://` against `rclone copy` from an :http: remote,
# both copying the same 20,000 small files from a local nginx into the same local RADOS Gateway.
# See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=s3-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

SMALL_COUNT=${SMALL_COUNT:-20000}
SEED=${SEED:-42}
REPEAT=${REPEAT:-1}
CONC=${CONC:-32}
TOOLS=${TOOLS:-rclone depot depot-auto put-floor}
DEPOT_BIN=${DEPOT_BIN:-$DEPOT}
RCLONE_ARGS=${RCLONE_ARGS:-}
NGINX_LOG=${NGINX_LOG:-1}
PREFIX=conda # key prefix inside each bucket

need_tools "scripts/install-deps.sh installs the tools" nginx python3 curl /usr/bin/time radosgw \
  ceph-osd ceph-mon
for tool in $TOOLS; do
  case $tool in
    rclone) command -v rclone >/dev/null || die "rclone not found (Debian: apt-get install rclone)" ;;
    depot | depot-auto) [[ -x $DEPOT_BIN ]] || die "depot binary $DEPOT_BIN not found (set DEPOT_BIN)" ;;
    put-floor) ;;
    *) die "unknown tool '$tool' in TOOLS (rclone depot depot-auto put-floor)" ;;
  esac
done

# ---------------------------------------------------------------- work dir and cleanup
make_work s3-bench
UP=$WORK/upstream
NGX=$WORK/nginx
RUNS=$WORK/runs
RGW_PID=
RGW_INFO=

# stop_rgw: ends the gateway helper by its PID (it SIGKILLs its three daemons by PID); if it
# does not go within 30 s, the daemons named in its INFO file and then the helper are killed.
stop_rgw() {
  [[ -n $RGW_PID ]] || return 0
  if kill -0 "$RGW_PID" 2>/dev/null; then
    kill "$RGW_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$RGW_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if kill -0 "$RGW_PID" 2>/dev/null && [[ -f $RGW_INFO ]]; then
    log "gateway helper $RGW_PID did not stop; killing its daemons"
    for pid in $(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["pids"].values())' "$RGW_INFO"); do
      kill -9 "$pid" 2>/dev/null || true
    done
    kill -9 "$RGW_PID" 2>/dev/null || true
  fi
  wait "$RGW_PID" 2>/dev/null || true
  RGW_PID=
}

# shellcheck disable=SC2317  # invoked by trap
cleanup_work() {
  stop_rgw
  remove_work "$NGX" "$RUNS" "$WORK"/rgw.* "$WORK/depot.bin" "$WORK/state" "$WORK/lists" \
    "$WORK/rclone.conf" "$WORK/nginx-autoindex.conf.in"
}
rm -rf -- "$RUNS" "$WORK/state"
mkdir -p "$RUNS" "$WORK/state" "$WORK/lists"

DEPOT=$DEPOT_BIN
DEPOT_VERSION=
if [[ -x $DEPOT_BIN ]]; then private_depot; fi
RCLONE_VERSION=$(rclone version 2>/dev/null | head -n 1 || true)

# ---------------------------------------------------------------- upstream tree and manifest
ensure_tree "$UP" "small=$SMALL_COUNT large=0 seed=$SEED" "upstream tree" \
  python3 "$HERE/gen_tree.py" "$UP" --small-count "$SMALL_COUNT" --large-count 0 --seed "$SEED"
CHANNEL=$UP/small/noarch
MANIFEST=$WORK/lists/manifest.tsv
python3 "$HERE/s3_bench.py" manifest "$CHANNEL" "$MANIFEST"
EXPECT_FILES=$(wc -l <"$MANIFEST")
EXPECT_BYTES=$(awk -F'\t' '{s+=$2} END {print s+0}' "$MANIFEST")
log "upstream: $EXPECT_FILES files, $EXPECT_BYTES bytes (incl. repodata.json)"

# ---------------------------------------------------------------- nginx (autoindex for rclone)
# rclone's :http: remote lists the directory page. The shared template gains `autoindex on` and,
# with NGINX_LOG=1, an access log (requests per tool are counted from it).
mkdir -p "$NGX"
ACCESS_LOG=
[[ $NGINX_LOG == 1 ]] && ACCESS_LOG=$NGX/access.log
sed -e 's|^\(\s*\)location / {|&\n\1  autoindex on;|' \
  -e "s|access_log off;|access_log ${ACCESS_LOG:-off};|" "$HERE/nginx.conf.in" >"$WORK/nginx-autoindex.conf.in"
grep -q 'autoindex on;' "$WORK/nginx-autoindex.conf.in" || die "could not add autoindex to nginx.conf.in"
start_nginx "$UP" "$NGX" small/noarch/ "$WORK/nginx-autoindex.conf.in"
log "nginx pid $NGINX_PID serving $UP on $BASE"
URL=$BASE/small/noarch

# floor: the upstream files PUT straight from disk (no download, no verification)
awk -v d="$CHANNEL" -F'\t' '{printf "upload-file = \"%s/%s\"\nurl = \"@EP@/@BUCKET@/'$PREFIX'/%s\"\n", d, $1, $1}' \
  "$MANIFEST" >"$WORK/lists/put.curlrc.in"

# ---------------------------------------------------------------- the gateway
# start_rgw NAME: a fresh, empty gateway (one per timed run: every tool meets the same state,
# and memory holds one copy at a time); sets RGW_PID, RGW_INFO, EP, AK, SK.
start_rgw() {
  local dir=$WORK/rgw.$1
  RGW_INFO=$dir.json
  rm -rf -- "$dir" "$RGW_INFO"
  # memstore: the copy twice over, plus 1 GiB
  python3 "$HERE/s3_bench.py" rgw "$dir" "$RGW_INFO" \
    --memstore-bytes $((EXPECT_BYTES * 2 + (1 << 30))) >"$dir.out" 2>&1 &
  RGW_PID=$!
  wait_for_file "$RGW_INFO" "$RGW_PID" 180 gateway "$dir.out"
  read -r EP AK SK < <(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print(i["endpoint"], i["access_key"], i["secret_key"])' "$RGW_INFO")
  log "gateway $EP for $1 (helper pid $RGW_PID, started in $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["start_seconds"])' "$RGW_INFO") s)"
}

# ---------------------------------------------------------------- measuring
# run_tool REP TOOL: one timed run into a fresh gateway, then the untimed checks. Everything the
# report needs goes to RUNS/REP.TOOL/.
run_tool() {
  local rep=$1 tool=$2 d=$RUNS/$1.$2 bucket="r$1-$2" rc=0 cmd=()
  mkdir -p "$d"
  start_rgw "$rep.$tool"
  python3 "$HERE/s3_bench.py" bucket "$RGW_INFO" "$bucket"
  case $tool in
    rclone)
      # shellcheck disable=SC2206
      cmd=(env -u AWS_CA_BUNDLE RCLONE_S3_ACCESS_KEY_ID="$AK" RCLONE_S3_SECRET_ACCESS_KEY="$SK"
        rclone --config "$WORK/rclone.conf" copy --transfers "$CONC"
        ":http,url='$URL/':" ":s3,provider=Ceph,endpoint='$EP':$bucket/$PREFIX" $RCLONE_ARGS) ;;
    depot | depot-auto)
      local conc=(--concurrency "$CONC")
      [[ $tool == depot-auto ]] && conc=()
      # shellcheck disable=SC2206
      cmd=(env AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" "$DEPOT" mirror conda "$URL"
        "s3://$bucket/$PREFIX" --s3-endpoint "$EP" --state "$WORK/state/$rep.$tool" "${conc[@]}"
        --log-format json --log-level debug -q $DEPOT_ARGS) ;;
    put-floor)
      sed -e "s|@EP@|$EP|" -e "s|@BUCKET@|$bucket|" "$WORK/lists/put.curlrc.in" >"$d/put.curlrc"
      cmd=(curl --parallel --parallel-max "$CONC" --no-progress-meter --fail -o /dev/null
        --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK"
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --config "$d/put.curlrc") ;;
  esac
  printf '%q ' "${cmd[@]}" | sed "s|$SK|SECRET|g" >"$d/cmd"
  # A hot page cache for every tool, and no pending writeback.
  warm_cache "$CHANNEL"
  sync
  python3 "$HERE/s3_bench.py" requests "$RGW_INFO" >"$d/rgw_before.json"
  local log_before=0
  [[ -n $ACCESS_LOG && -f $ACCESS_LOG ]] && log_before=$(wc -l <"$ACCESS_LOG")
  date +%s.%N >"$d/start"
  /usr/bin/time -f '%e %M' -o "$d/time" "${cmd[@]}" >"$d/stdout" 2>"$d/stderr" || rc=$?
  echo "$rc" >"$d/rc"
  python3 "$HERE/s3_bench.py" requests "$RGW_INFO" >"$d/rgw_after.json"
  if [[ -n $ACCESS_LOG && -f $ACCESS_LOG ]]; then
    tail -n +"$((log_before + 1))" "$ACCESS_LOG" | awk '{print $6}' | tr -d '"' | sort | uniq -c \
      | awk '{printf "%s %s\n", $2, $1}' >"$d/nginx_requests"
  fi
  python3 "$HERE/s3_bench.py" verify "$RGW_INFO" "$bucket" "$PREFIX" "$MANIFEST" >"$d/verify.json"
  python3 "$HERE/s3_bench.py" rgwlog "$RGW_INFO" "$(cat "$d/start")" --prefix "$PREFIX" \
    --conc "$CONC" >"$d/rgwlog.json"
  log "$(python3 -c 'import json,sys
v = json.load(open(sys.argv[1] + "/verify.json")); s, m = open(sys.argv[1] + "/time").read().split()[-2:]
print("%-10s %7ss %6.0f MiB rc=%s objects=%d complete=%d index_last=%s" % (sys.argv[2], s, int(m) / 1024,
      open(sys.argv[1] + "/rc").read().strip(), v["objects"], v["complete"], v["index_last"]))' "$d" "$tool")"
  if [[ $rc != 0 ]]; then tail -n 20 "$d/stderr" | sed 's/^/    /' >&2; fi
  stop_rgw
  [[ $KEEP == 1 ]] || rm -rf -- "$WORK/rgw.$rep.$tool"
}

: >"$WORK/rclone.conf"
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)
warn_if_loaded 0.5
read -r -a TOOL_LIST <<<"$TOOLS"
for rep in $(seq "$REPEAT"); do
  for tool in $(rotated "$rep" "${TOOL_LIST[@]}"); do run_tool "$rep" "$tool"; done
done

# ---------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
finish python3 "$HERE/s3_report.py" "$RUNS" --json "$RESULTS_DIR/s3_last.json" --tsv "$RESULTS_DIR/s3_last.tsv" \
  --meta small_count="$SMALL_COUNT" seed="$SEED" repeat="$REPEAT" conc="$CONC" \
  expect_files="$EXPECT_FILES" expect_bytes="$EXPECT_BYTES" depot="$DEPOT_BIN" \
  depot_version="$DEPOT_VERSION" rclone_version="$RCLONE_VERSION" loadavg_at_start="$LOADAVG" \
  loadavg_at_end="$(cut -d' ' -f1 /proc/loadavg)"
