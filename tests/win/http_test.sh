#!/usr/bin/env bash
# Drive test_http.exe (cmocka tests of the WinHTTP port under Wine)
# against the native mock Autodiscover server:
#   http_test.sh NATIVE_BUILD WINE_RUN PREFIX TEST_HTTP_EXE
# Makes two throw-away CAs with tests/mkcert.sh, starts fakeautodiscover
# on loopback with tests/win/data/http (https and http), runs the test
# with Windows paths, stops the server.  Exit 77 (skip) without the
# native build.
set -euo pipefail
native=$1 winerun=$2 prefix=$3 exe=$4
here=$(cd "$(dirname "$0")" && pwd)
mock=$native/fakeautodiscover
if [ ! -x "$mock" ]; then
	echo "skipped: no $mock (build the dev preset's fakeautodiscover and" \
	     "give its folder as -DPS_NATIVE_BUILD=...)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_http.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
# RSA: Wine 8's crypt32 now and then rejects a valid ECDSA signature.
export PS_MKCERT_ALG=rsa
"$here/../mkcert.sh" "$tmp/ca" autodiscover.contoso.com
"$here/../mkcert.sh" "$tmp/other" autodiscover.contoso.com
mkfifo "$tmp/ports"
"$mock" --scenario "$here/data/http" --cert "$tmp/ca/server.pem" \
	--key "$tmp/ca/server.key" --port 0 --http-port 0 \
	--log "$tmp/ad.log" >"$tmp/ports" &
pid=$!
read -r line <"$tmp/ports"
https=${line#https=}; https=${https%% *}
http=${line##*http=}
echo "mock: $line"
win() { printf 'Z:%s' "$(readlink -f "$1" | tr / '\\')"; }
rc=0
"$winerun" "$prefix" "$exe" "$http" "$https" "$(win "$tmp/ca/ca.pem")" \
	"$(win "$tmp/other/ca.pem")" "$(win "$tmp/ad.log")" || rc=$?
exit $rc
