#!/usr/bin/env bash
# Macro benchmark: `depot mirror apt` against apt-mirror and debmirror, all mirroring the same
# generated, signed apt archive (COUNT small .debs) from a local nginx; plus parsing the real
# Debian bookworm main amd64 Packages file against apt-sortpkgs and grep-dctrl. See
# bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=apt-bench
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
# shellcheck source=bench/apt_mirror.sh
source "$HERE/apt_mirror.sh"

COUNT=${COUNT:-5000}
REPEAT=${REPEAT:-3}
SEED=${SEED:-1}
PARSE_BENCH=${PARSE_BENCH:-$ROOT/build/bench/micro/depot_apt_parse_bench}
TOOLS=${TOOLS:-cp apt-mirror debmirror depot}
PACKAGES_FILE=${PACKAGES_FILE:-$(ls /var/lib/apt/lists/*debian_dists_bookworm_main_binary-amd64_Packages* 2>/dev/null | head -n 1 || true)}

need_tools "scripts/install-deps.sh installs it" nginx python3 /usr/bin/time apt-ftparchive gpg gpgv
need_depot

make_work apt-bench
UP=$WORK/upstream
NGX=$WORK/nginx
# shellcheck disable=SC2317  # invoked by trap
cleanup_work() {
  if [[ $KEEP == 1 || $OWN_WORK == 0 ]]; then
    rm -rf -- "$WORK/out"
    log "left $WORK"
  else
    rm -rf -- "$WORK"
  fi
}

# ---------------------------------------------------------------- upstream archive
# shellcheck disable=SC2317  # invoked by ensure_tree
gen_archive() {
  rm -rf -- "$WORK/gnupg"
  python3 "$HERE/gen_apt_tree.py" "$UP/debian" --count "$COUNT" --seed "$SEED" \
    --gnupghome "$WORK/gnupg" --keyring "$WORK/archive-key.gpg"
}
ensure_tree "$UP" "count=$COUNT seed=$SEED" "upstream archive" gen_archive
KEY=$WORK/archive-key.gpg
EXPECT_DEBS=$(find "$UP/debian/pool" -name '*.deb' | wc -l)
EXPECT_BYTES=$(find "$UP/debian/pool" -name '*.deb' -printf '%s\n' | awk '{s+=$1} END {print s+0}')

# ---------------------------------------------------------------- nginx
start_nginx "$UP" "$NGX" debian/dists/stable/InRelease
log "nginx pid $NGINX_PID on $BASE; $EXPECT_DEBS .debs, $EXPECT_BYTES bytes"

# ---------------------------------------------------------------- runs
TSV=$WORK/results.tsv
printf 'rep\ttool\tseconds\trss_kb\trc\tdebs\tcomplete\n' >"$TSV"

# measure REP TOOL POOLDIR -- CMD...: time, peak RSS (children included), and whether every
# .deb arrived with the right total size.
measure() {
  local rep=$1 tool=$2 pool=$3 tf=$WORK/time.$2 lg=$WORK/log.$1.$2 rc=0 secs rss debs bytes complete=0
  shift 4
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$lg" 2>&1 || rc=$?
  read -r secs rss < <(tail -n 1 "$tf")
  read -r debs bytes < <(find -L "$pool" -name '*.deb' -printf '%s\n' 2>/dev/null |
    awk '{n++; s+=$1} END {printf "%d %d\n", n, s}')
  [[ $debs == "$EXPECT_DEBS" && $bytes == "$EXPECT_BYTES" ]] && complete=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$tool" "$secs" "$rss" "$rc" "$debs" "$complete" >>"$TSV"
  log "$(printf '%-11s %7ss %7s KiB rc=%s debs=%s complete=%s' "$tool" "$secs" "$rss" "$rc" "$debs" "$complete")"
  if [[ $rc != 0 || $complete != 1 ]]; then tail -n 15 "$lg" | sed 's/^/    /' >&2; fi
  sync # untimed
}

for rep in $(seq "$REPEAT"); do
  log "rep $rep/$REPEAT"
  for tool in $TOOLS; do
    warm_cache "$UP"
    # A fresh directory per run, all removed only at the end: ext4 scans inodes deleted in the
    # last minute on every allocation, which would penalise whichever tool runs after a removal.
    out=$WORK/out/$rep.$tool
    mkdir -p "$out"
    sync
    case $tool in
      cp)
        # The floor: the same directories and files made by a local copy, no network, no
        # verification, no sync.
        measure "$rep" cp "$out/pool" -- cp -r "$UP/debian/pool" "$out/pool"
        ;;
      apt-mirror)
        apt_mirror_setup "$out" "$BASE" "$PORT" 20
        measure "$rep" apt-mirror "$out/mirror/127.0.0.1:$PORT/debian/pool" -- apt-mirror "$out/mirror.list"
        ;;
      debmirror)
        measure "$rep" debmirror "$out/m/pool" -- debmirror --host="127.0.0.1:$PORT" --root=debian \
          --method=http --dist=stable --section=main --arch=amd64 --nosource --keyring="$KEY" \
          --diff=none --rsync-extra=none --i18n "$out/m"
        ;;
      depot)
        args=(mirror apt "$BASE/debian" "$out/m" --dist stable --component main --arch amd64 --keyring "$KEY" -q)
        measure "$rep" depot "$out/m/pool" -- "$DEPOT" "${args[@]}"
        measure "$rep" depot-noop "$out/m/pool" -- "$DEPOT" "${args[@]}"
        ;;
    esac
  done
done
rm -rf -- "$WORK/out"

# ---------------------------------------------------------------- Packages parsing
PARSE_TSV=$WORK/parse.tsv
printf 'tool\tseconds\trss_kb\n' >"$PARSE_TSV"
if [[ -n $PACKAGES_FILE && -x $PARSE_BENCH ]]; then
  plain=$WORK/Packages
  case $PACKAGES_FILE in
    *.lz4) lz4 -dc "$PACKAGES_FILE" >"$plain" ;;
    *.xz) xz -dc "$PACKAGES_FILE" >"$plain" ;;
    *.gz) gzip -dc "$PACKAGES_FILE" >"$plain" ;;
    *) cp "$PACKAGES_FILE" "$plain" ;;
  esac
  stanzas=$(grep -c '^Package:' "$plain")
  log "parsing $PACKAGES_FILE ($stanzas stanzas, $(stat -c %s "$plain") bytes plain)"
  parse() {
    local tool=$1 tf=$WORK/time.parse
    shift
    for _ in $(seq "$REPEAT"); do
      /usr/bin/time -f '%e %M' -o "$tf" "$@" >/dev/null
      read -r secs rss < <(tail -n 1 "$tf")
      printf '%s\t%s\t%s\n' "$tool" "$secs" "$rss" >>"$PARSE_TSV"
    done
  }
  parse depot-plain "$PARSE_BENCH" "$plain"
  [[ $PACKAGES_FILE != "$plain" ]] && parse depot-compressed "$PARSE_BENCH" "$PACKAGES_FILE"
  command -v apt-sortpkgs >/dev/null && parse apt-sortpkgs apt-sortpkgs "$plain"
  command -v grep-dctrl >/dev/null && parse grep-dctrl grep-dctrl -s Filename,Size,SHA256 '' "$plain"
else
  log "Packages parsing skipped (no Debian Packages file in /var/lib/apt/lists, or $PARSE_BENCH not built: make bench)"
fi

mkdir -p "$RESULTS_DIR"
cp "$TSV" "$RESULTS_DIR/apt_last.tsv"
cp "$PARSE_TSV" "$RESULTS_DIR/apt_parse_last.tsv"
python3 "$HERE/apt_report.py" "$TSV" "$PARSE_TSV" --json "$RESULTS_DIR/apt_last.json" \
  --meta count="$COUNT" repeat="$REPEAT" debs="$EXPECT_DEBS" bytes="$EXPECT_BYTES" \
  packages_file="$PACKAGES_FILE" loadavg="$(cut -d' ' -f1 /proc/loadavg)"
