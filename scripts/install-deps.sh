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
# nginx must not start a system service; tests start their own instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
