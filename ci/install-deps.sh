#!/usr/bin/env bash
# Install the Debian packages profswitch needs to build and test, when
# any is missing.  Runs apt-get as root (or through sudo).
set -euo pipefail

packages=(cmake make gcc pkg-config libcmocka-dev valgrind python3
	libcurl4-openssl-dev libxml2-dev libmicrohttpd-dev openssl ca-certificates
	libssl-dev clang libhivex-dev libwin-hivex-perl libhivex-bin registry-tools
	chromium)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "${missing[@]}"
