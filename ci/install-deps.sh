#!/usr/bin/env bash
# Install the Debian packages profswitch needs to build and test, when
# any is missing.  Runs apt-get as root (or through sudo).
set -euo pipefail

# ci/install-deps.sh build: only what building profswitch needs (the
# README's main job); no argument: everything the tests need too,
# including cmocka's source for the Windows tests (below);
# ci/install-deps.sh cmocka-source: only that source.
build=(cmake make gcc pkg-config libcmocka-dev python3 libcurl4-openssl-dev
	libxml2-dev libmicrohttpd-dev libssl-dev libhivex-dev ca-certificates)
packages=(cmake make gcc pkg-config libcmocka-dev valgrind python3
	libcurl4-openssl-dev libxml2-dev libmicrohttpd-dev openssl ca-certificates
	libssl-dev clang libhivex-dev libwin-hivex-perl libhivex-bin registry-tools
	chromium gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64
	wine wine64 xvfb xauth strace winbind)
[ "${1:-}" = build ] && packages=("${build[@]}")
# winbind: Samba's ntlm_auth, which Wine's NTLM runs (the Wine run of
# scenarios/autodiscover-windows-auth, docs/autodiscover.md).  Its
# winbindd service is installed but not started (nor needed); in a
# container without init the package's start is simply denied.

# Can this kernel run 32-bit x86 programs?  Some cannot (no IA-32
# emulation, or it is switched off: "Exec format error").  There the
# 32-bit Wine must not be installed at all: with wine32 present the
# `wine` launcher itself starts through the 32-bit loader and every Wine
# test fails.  The probe is a 93-byte static i386 ELF, written here, that
# only calls exit(0) (mov eax,1; xor ebx,ebx; int 0x80): it needs no
# 32-bit library, so it answers for the kernel alone.
# PS_NO_32BIT=1 pretends the kernel cannot (to test that path).
runs_32bit() {
	local f rc
	[ "${PS_NO_32BIT:-0}" = 1 ] && return 1
	f=$(mktemp "${TMPDIR:-/tmp}/ps-elf32.XXXXXX") || return 1
	printf '\177ELF\1\1\1\0\0\0\0\0\0\0\0\0\2\0\3\0\1\0\0\0%s%s' \
		'\124\200\4\10\64\0\0\0\0\0\0\0\0\0\0\0\64\0\40\0\1\0\0\0\0\0\0\0' \
		'\1\0\0\0\0\0\0\0\0\200\4\10\0\200\4\10\135\0\0\0\135\0\0\0\5\0\0\0\0\20\0\0\270\1\0\0\0\61\333\315\200' \
		>"$f"
	chmod 700 "$f"
	rc=0
	"$f" 2>/dev/null || rc=$?
	rm -f "$f"
	return "$rc"
}
if [ "${1:-}" = probe32 ]; then
	runs_32bit
	exit
fi

# cmocka's source for the Windows test programs (tests/win): Debian has
# no mingw build of cmocka, so the mingw builds cross-build it from the
# source package of the libcmocka-dev installed here.  It is fetched
# here, once, with apt-get source, into a fixed folder that
# tests/win/CMakeLists.txt reads (PS_CMOCKA_TARBALL), so that no build
# needs the network.  apt-get runs with a configuration of its own: the
# deb-src twins of this machine's Debian entries (same mirrors, suites
# and components, as apt-get indextargets lists them), its own index
# lists and cache in a temporary folder; the system's sources and lists
# are left as they are.  apt-get checks every file against the signed
# index; the build checks the tarball's SHA-256 again.
cmocka_dir=/var/cache/profswitch
cmocka_source() {
	local ver up tmp keyring opts n
	ver=$(dpkg-query -W -f='${source:Version}' libcmocka-dev 2>/dev/null) ||
		true
	up=$(dpkg-query -W -f='${source:Upstream-Version}' libcmocka-dev \
		2>/dev/null) || true
	if [ -z "$ver" ] || [ -z "$up" ]; then
		echo "install-deps: libcmocka-dev is not installed; run" \
			"ci/install-deps.sh first" >&2
		return 1
	fi
	if [ -s "$cmocka_dir/cmocka_$up.orig.tar.xz" ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		sudo "$0" cmocka-source
		return
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps-cmocka.XXXXXX")
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" \
		"$tmp/parts" "$tmp/out"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	opts=""
	[ -r "$keyring" ] && opts="[signed-by=$keyring] "
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Origin: Debian' 'Created-By: Packages' | sort -u |
		while read -r uri rel comp; do
			printf 'deb-src %s%s %s %s\n' "$opts" "$uri" "$rel" \
				"$comp"
		done >"$tmp/sources.list"
	n=$(wc -l <"$tmp/sources.list")
	if [ "$n" -eq 0 ] && [ -z "${PS_APT_UPDATED:-}" ]; then
		# No index yet (lists cleaned): the system's update, once.
		rm -rf "$tmp"
		apt-get update -qq
		PS_APT_UPDATED=1 cmocka_source
		return
	fi
	if [ "$n" -eq 0 ]; then
		echo "install-deps: apt lists no Debian package index here" \
			"(run apt-get update); cannot fetch cmocka's source" >&2
		rm -rf "$tmp"
		return 1
	fi
	# apt's download sandbox user must be able to write the folders.
	if id _apt >/dev/null 2>&1; then
		chown -R _apt "$tmp"
	fi
	local apt=(apt-get -q -o Dir::Etc::SourceList="$tmp/sources.list"
		-o Dir::Etc::SourceParts="$tmp/parts"
		-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache")
	echo "install-deps: fetching the source of cmocka $ver (for the" \
		"Windows tests) into $cmocka_dir"
	if ! "${apt[@]}" update >"$tmp/update.log" 2>&1 ||
		! (cd "$tmp/out" && "${apt[@]}" source --download-only \
			"cmocka=$ver") >"$tmp/source.log" 2>&1 ||
		[ ! -s "$tmp/out/cmocka_$up.orig.tar.xz" ]; then
		echo "install-deps: apt-get source cmocka=$ver failed:" >&2
		tail -n 5 "$tmp/update.log" "$tmp/source.log" >&2 || true
		rm -rf "$tmp"
		return 1
	fi
	install -d -m 755 "$cmocka_dir"
	install -m 644 "$tmp/out/cmocka_$up.orig.tar.xz" \
		"$tmp/out/cmocka_${ver#*:}.dsc" "$cmocka_dir/"
	rm -rf "$tmp"
	echo "install-deps: $cmocka_dir/cmocka_$up.orig.tar.xz"
}
if [ "${1:-}" = cmocka-source ]; then
	cmocka_source
	exit
fi
want32=1
if [ "${1:-}" != build ] && ! runs_32bit; then
	want32=0
	echo "install-deps: this kernel cannot run 32-bit programs; the 32-bit" \
		"Wine (wine32) is left off"
	if dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null |
		grep -q "install ok installed"; then
		echo "install-deps: removing wine32:i386 (an earlier run put it" \
			"there; it would make every Wine test fail here)"
		[ "$(id -u)" -eq 0 ] && rm_sudo=() || rm_sudo=(sudo)
		"${rm_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get remove -y -qq wine32:i386 >/dev/null
	fi
fi
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
need32=0
if [ "$want32" = 1 ] && [ "${1:-}" != build ] && ! installed wine32:i386; then
	need32=1
fi
missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

install_packages() {
	[ ${#missing[@]} -eq 0 ] && [ "$need32" = 0 ] && return 0

	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	# The 32-bit Wine (for the mingw32 build's tests) needs Debian's i386
	# architecture; it is added before the one apt-get update.
	if [ "$need32" = 1 ] &&
		! dpkg --print-foreign-architectures | grep -qx i386; then
		"${sudo[@]}" dpkg --add-architecture i386
	fi
	"${sudo[@]}" apt-get update -qq
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}"
	fi
	[ "$need32" = 1 ] || return 0
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
		echo "wine32 (i386) not installable here: the mingw32 tests" \
			"under Wine will be skipped"
	fi
}
install_packages
# (Called plainly, not in an || list, so that set -e holds inside.)
if [ "${1:-}" != build ]; then
	cmocka_source
fi
