#!/usr/bin/env bash
# Install the Debian packages profswitch needs to build and test, when
# any is missing.  Runs apt-get as root (or through sudo).
set -euo pipefail

# ci/install-deps.sh build: only what building profswitch needs (the
# README's main job); no argument: everything the tests need too.
build=(cmake make gcc pkg-config libcmocka-dev python3 libcurl4-openssl-dev
	libxml2-dev libmicrohttpd-dev libssl-dev libhivex-dev ca-certificates)
packages=(cmake make gcc pkg-config libcmocka-dev valgrind python3
	libcurl4-openssl-dev libxml2-dev libmicrohttpd-dev openssl ca-certificates
	libssl-dev clang libhivex-dev libwin-hivex-perl libhivex-bin registry-tools
	chromium gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64
	wine wine64 xvfb xauth)
[ "${1:-}" = build ] && packages=("${build[@]}")
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
# The 32-bit Wine (for the mingw32 build's tests) needs Debian's i386
# architecture; it is added before the one apt-get update.
if [ "${1:-}" != build ] &&
	! dpkg --print-foreign-architectures | grep -qx i386; then
	"${sudo[@]}" dpkg --add-architecture i386
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "${missing[@]}"
[ "${1:-}" = build ] && exit 0
# Optional: the 32-bit Wine.  Plainly first; when that fails because the
# mirror's i386 packages lag its amd64 ones (seen here: bookworm-security
# has no i386 index, so a library wine32 shares with wine64 has no i386
# build of the installed amd64 version), both sides of those libraries
# are taken from bookworm itself (-t bookworm; a library apt says it
# cannot install for i386 is added as NAME/bookworm NAME:i386, which may
# step its amd64 side back to bookworm's version).  The plan is simulated
# first: the packages it would step back are named, and a plan that would
# step back a core or security library (libc, TLS, crypto, Kerberos...) is
# refused.  Nothing is removed.  When it still fails, ci/windows.sh says
# the 32-bit tests were skipped.
downgrades() {
	printf '%s\n' "$1" |
		sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\) .*/\1 \2 \3/p' |
		while read -r p old new; do
			if dpkg --compare-versions "$old" gt "$new"; then
				printf '%s ' "$p"
			fi
		done
}
wine32() {
	local extra=() args out new down p i
	if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends --no-remove wine32:i386 >/dev/null 2>&1; then
		return 0
	fi
	for i in 1 2 3 4 5; do
		args=(--no-install-recommends --no-remove -t bookworm
			--allow-downgrades wine32:i386 "${extra[@]}")
		if out=$(apt-get install -s -q "${args[@]}" 2>&1); then
			down=$(downgrades "$out")
			if printf '%s\n' $down | grep -qE '^(libc6|libc-|libssl|openssl|libgnutls|libgcrypt|libnss3|libkrb5|libgssapi|libk5crypto|zlib1g|libsystemd|libudev|libcurl|libsasl|libldap)'; then
				echo "wine32: refused, it would step back: $down"
				return 1
			fi
			if [ -n "$down" ]; then
				echo "wine32: stepping back to bookworm's version: $down"
			fi
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q "${args[@]}" >/dev/null 2>&1
			return
		fi
		new=$(printf '%s\n' "$out" | sed -n \
			's/.*Depends: \([^ :]*\):i386 .*but .*/\1/p' | sort -u)
		[ -n "$new" ] || break
		for p in $new; do
			extra+=("$p/bookworm" "$p:i386")
		done
	done
	printf '%s\n' "$out" | tail -n 5
	return 1
}
if ! wine32; then
	echo "wine32 (i386) not installable here: the mingw32 tests under Wine will be skipped"
fi
