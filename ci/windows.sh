#!/usr/bin/env bash
# The Windows builds (mingw-w64, -Werror) and their tests under Wine:
#   ci/windows.sh
# Needs the dev build first (its scenario runner and mock Autodiscover
# server drive the Wine scenarios).  Prints "windows: N passed, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
native=$PWD/build/dev
total=0

# The shipped exe may import Windows' own DLLs only.
check_imports() {
	local exe=$1 bad
	bad=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' |
		tr 'A-Z' 'a-z' | grep -v -x -E 'kernel32\.dll|advapi32\.dll|user32\.dll|ole32\.dll|oleaut32\.dll|shell32\.dll|winhttp\.dll|xmllite\.dll|crypt32\.dll|bcrypt\.dll|msvcrt\.dll|api-ms-win-.*\.dll|ws2_32\.dll|dnsapi\.dll|shlwapi\.dll' || true)
	if [ -n "$bad" ]; then
		echo "windows: $exe imports DLLs Windows does not have: $bad"
		return 1
	fi
	echo "windows: $(basename "$exe") imports only Windows DLLs"
}

# mingw32 first: the mingw64 tests register the other bitness's
# fakemapi.dll (exit 69 with the build to use) when it exists.
for preset in mingw32 mingw64; do
	echo "== $preset build"
	cmake --preset "$preset" -DPS_NATIVE_BUILD="$native" >/dev/null
	cmake --build --preset "$preset" -j "$jobs"
	for exe in build/$preset/profswitch.exe build/$preset/profswitchw.exe; do
		check_imports "$exe"
	done
done

run_ctest() {
	ctest --preset "$1" | tee "build/$1/ctest.log"
	n=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' \
		"build/$1/ctest.log" | tail -n 1)
	total=$((total + ${n:-0}))
}

echo "== mingw64 tests under Wine"
run_ctest mingw64
if ! ci/install-deps.sh probe32; then
	echo "== mingw32 tests under Wine: skipped: this kernel cannot run" \
		"32-bit programs (a static i386 test program fails with 'Exec" \
		"format error'), so the 32-bit Wine is not installed; the mingw32" \
		"build above is still built with -Werror"
elif dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null | grep -q "install ok installed"; then
	echo "== mingw32 tests under Wine"
	run_ctest mingw32
else
	echo "== mingw32 tests under Wine: skipped: the 32-bit Wine (wine32," \
		"Debian's i386 architecture) could not be installed here;" \
		"the mingw32 build above is still built with -Werror"
fi
echo "windows: $total passed, 0 failed"
