#!/usr/bin/env bash
# Installs the Debian packages depot needs to build, test and benchmark; only those missing.
# Idempotent. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libssl-dev libcurl4-openssl-dev libsqlite3-dev
  libsimdjson-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libboost-dev libarchive-dev libexpat1-dev libzstd-dev liblzma-dev libbz2-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 curl wget aria2 nginx-light time zstd bzip2
  gpg gpgv dpkg-dev apt-utils python3-venv python3-pip python3-setuptools python3-wheel
  rpm createrepo-c dnf dnf-plugins-core xz-utils
  apt-mirror debmirror dctrl-tools lz4
  wrk apt-cacher-ng
  aptly reprepro
  libgit2-dev git opam  # crates --git-index; opam mirror judge
  clang libclang-rt-14-dev llvm  # make fuzz: clang, libFuzzer runtime, llvm-symbolizer
  ceph-mon ceph-osd radosgw rclone  # S3 tests: RADOS Gateway on loopback; S3 bench peer
  faketime  # S3 error scenario: depot signing with a clock an hour off
  libsystemd-dev  # depot run: sd_notify readiness and watchdog under systemd (src/site)
  libhowardhinnant-date-dev tzdata  # depot run: cron schedules in a time zone (src/site)
  chromium chromium-driver  # status page scenario: headless Chromium through WebDriver
  squid  # proxy scenario: Debian's squid with depot serve --proxy as its parent
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# nginx, apt-cacher-ng and squid must not start a system service; tests and benchmarks start their own
# instances (policy-rc.d 101 = "do not start").
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Where policy-rc.d was already there but allowed starts, a system apt-cacher-ng may have started
# (it would hold port 3142): stop only that daemon, by the PID in its own pidfile.
for pidfile in /run/apt-cacher-ng/pid /var/run/apt-cacher-ng/pid; do
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = apt-cacher-ng ]; then
      $SUDO kill "$pid" || true
    fi
  fi
done
