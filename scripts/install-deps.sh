#!/usr/bin/env bash
# Installs, from Debian 12's archive, whatever of Parley's build and test
# dependencies is missing. Idempotent; needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-all-dev libssl-dev libexpat1-dev libsqlite3-dev libpqxx-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libicu-dev libidn2-dev
  libstrophe-dev libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev
  postgresql openssl
  faketime  # the stepped-clock hostile case preloads libfaketime
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
