#!/usr/bin/env bash
# Publishing benchmark (issue 5): depot's publish_repo against `aptly publish` and
# `reprepro export` on the same .deb set, built from the real Debian bookworm main amd64
# Packages file. See bench/README.md, "Publishing benchmark". Local only; never the network.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)

N=${N:-0}                      # packages; 0 = every paragraph (about 63,000)
if [ -n "${SMALL:-}" ]; then N=$SMALL; fi
REPEAT=${REPEAT:-3}
WORKERS=${WORKERS:-2}
TOOLS=${TOOLS:-depot aptly reprepro}
DEPOT_BENCH=${DEPOT_BENCH:-$TOP/build/bench/micro/depot_publish_bench}
RESULTS_DIR=${RESULTS_DIR:-$TOP/bench/results}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
PACKAGES=${PACKAGES:-}
if [ -z "$PACKAGES" ]; then
  for f in /var/lib/apt/lists/*_debian_dists_bookworm_main_binary-amd64_Packages{,.lz4,.xz,.gz}; do
    if [ -f "$f" ]; then PACKAGES=$f; break; fi
  done
fi
[ -n "$PACKAGES" ] || { echo "publish_bench: no bookworm main amd64 Packages file; set PACKAGES" >&2; exit 2; }

if [ -n "${BENCH_DIR:-}" ]; then
  mkdir -p "$BENCH_DIR"
else
  BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/depot-publish-bench.XXXXXX")
fi
WORK=$BENCH_DIR/run
SET=$BENCH_DIR/set-$N          # the generated .debs; reused by later runs with the same BENCH_DIR
rm -rf "$WORK"
mkdir -p "$WORK" "$RESULTS_DIR"
RAW=$RESULTS_DIR/publish-last.jsonl
: > "$RAW"
LOGS=$WORK/logs
mkdir -p "$LOGS"

export GNUPGHOME=$WORK/gnupg
cleanup() {
  gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
  if [ "$KEEP" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "publish_bench: $*" >&2; }

# measure TOOL PHASE REP CMD...: runs CMD under GNU time, appends a JSON line to $RAW.
measure() {
  local tool=$1 phase=$2 rep=$3
  shift 3
  local tf=$WORK/time.out
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >>"$LOGS/$tool.log" 2>&1; then
    log "$tool $phase failed; see $LOGS/$tool.log (KEEP=1 keeps it)"
    tail -20 "$LOGS/$tool.log" >&2
    return 1
  fi
  read -r secs rss < <(tail -1 "$tf")
  printf '{"tool":"%s","phase":"%s","rep":%s,"seconds":%s,"max_rss_kib":%s}\n' \
    "$tool" "$phase" "$rep" "$secs" "$rss" >>"$RAW"
  log "$tool $phase rep $rep: ${secs}s, $((rss / 1024)) MiB"
}

# 1. The import set: one tiny valid .deb per paragraph, plus REPEAT newer versions of one package.
log "generating the .deb set from $PACKAGES (N=$N) in $SET"
python3 "$HERE/gen_debs.py" "$PACKAGES" "$SET" --limit "$N" --changes "$REPEAT" --jobs 2
COUNT=$(find "$SET/debs" -name '*.deb' | wc -l)
CHANGE_PKG=$(dpkg-deb -f "$SET/change/1.deb" Package)
log "$COUNT packages; the changing package is $CHANGE_PKG"

# 2. A throwaway signing key, shared by the three tools.
mkdir -p "$GNUPGHOME"
chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'depot publish bench <bench@depot.invalid>' \
  ed25519 sign never >/dev/null 2>&1
KEY=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')

sync
for tool in $TOOLS; do
  case $tool in
  depot)
    [ -x "$DEPOT_BENCH" ] || { log "no $DEPOT_BENCH; build it with -DDEPOT_BUILD_BENCH=ON"; exit 2; }
    changes=()
    for r in $(seq 1 "$REPEAT"); do changes+=(--change-deb "$SET/change/$r.deb"); done
    log "depot: import $COUNT packages, then $REPEAT repetitions"
    /usr/bin/time -f '%e %M' -o "$WORK/depot.time" "$DEPOT_BENCH" --root "$WORK/depot" \
      --debs "$SET/debs" "${changes[@]}" --repeat "$REPEAT" --workers "$WORKERS" \
      --gnupghome "$GNUPGHOME" --key "$KEY" >"$WORK/depot.jsonl" 2>>"$LOGS/depot.log" || {
      log "depot bench failed"; tail -20 "$LOGS/depot.log" >&2; exit 1; }
    cat "$WORK/depot.jsonl" >>"$RAW"
    read -r secs rss < "$WORK/depot.time"
    printf '{"tool":"depot","phase":"process","rep":0,"seconds":%s,"max_rss_kib":%s}\n' \
      "$secs" "$rss" >>"$RAW"
    grep -v '"import"' "$WORK/depot.jsonl" | sed 's/^/  /' >&2
    ;;
  aptly)
    A=$WORK/aptly
    mkdir -p "$A"
    printf '{"rootDir": "%s", "architectures": ["amd64"], "gpgProvider": "gpg2",
 "downloadConcurrency": 1, "skipContentsPublishing": true}\n' "$A/root" >"$WORK/aptly.conf"
    ap=(aptly -config="$WORK/aptly.conf")
    pub=(-batch -gpg-key="$KEY" -architectures=amd64 -skip-contents)
    "${ap[@]}" repo create -distribution=bench -component=main bench >>"$LOGS/aptly.log" 2>&1
    log "aptly: repo add of $COUNT packages"
    measure aptly import 0 "${ap[@]}" repo add bench "$SET/debs"
    for r in $(seq 1 "$REPEAT"); do
      # Packages + .gz (no .bz2); then the full publish (aptly writes .gz and .bz2, no .xz).
      measure aptly publish_noxz "$r" "${ap[@]}" publish repo "${pub[@]}" -skip-bz2 \
        -acquire-by-hash -distribution=bench bench "noxz-$r"
      measure aptly publish_xz "$r" "${ap[@]}" publish repo "${pub[@]}" \
        -acquire-by-hash -distribution=bench bench "full-$r"
      newver=$(dpkg-deb -f "$SET/change/$r.deb" Version)
      measure aptly change "$r" bash -c "${ap[*]} repo add bench '$SET/change/$r.deb' &&
        ${ap[*]} repo remove bench 'Name (= $CHANGE_PKG), !\$Version (= $newver)'"
      measure aptly republish "$r" "${ap[@]}" publish update "${pub[@]}" bench "full-$r"
    done
    ;;
  reprepro)
    B=$WORK/reprepro
    mkdir -p "$B/conf"
    conf() {  # conf INDICES: (re)writes conf/distributions
      printf 'Codename: bench\nSuite: bench\nOrigin: depot-bench\nLabel: bench\nArchitectures: amd64\nComponents: main\nSignWith: %s\nDebIndices: %s\n' \
        "$KEY" "$1" >"$B/conf/distributions"
    }
    conf 'Packages Release . .gz .xz'
    rp=(reprepro -b "$B" --silent)
    log "reprepro: includedeb of $COUNT packages"
    measure reprepro import 0 sh -c 'find "$0" -name "*.deb" -print0 |
      xargs -0 -n 2000 "$@" --export=silent-never includedeb bench' "$SET/debs" "${rp[@]}"
    for r in $(seq 1 "$REPEAT"); do
      conf 'Packages Release . .gz'
      measure reprepro publish_noxz "$r" "${rp[@]}" export bench
      conf 'Packages Release . .gz .xz'
      measure reprepro publish_xz "$r" "${rp[@]}" export bench
      measure reprepro change "$r" "${rp[@]}" --export=silent-never includedeb bench "$SET/change/$r.deb"
      measure reprepro republish "$r" "${rp[@]}" export bench
    done
    ;;
  *) log "unknown tool $tool"; exit 2 ;;
  esac
done

python3 "$HERE/publish_report.py" "$RAW" --packages "$COUNT" --repeat "$REPEAT" \
  --out "$RESULTS_DIR/publish-last.json" --strict "$STRICT"
