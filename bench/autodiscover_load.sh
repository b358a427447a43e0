#!/bin/sh
# bench/autodiscover_load.sh [FAKEAUTODISCOVER]
#
# Load figure for the mock Autodiscover server (docs/performance.md):
# builds the server (unless its path is given) and the libcurl client
# bench/autodiscover_load.c, makes a test certificate, writes a scenario
# with one rule answering a ~2 KB settings body, starts the server on
# loopback and runs the client over http and over https.
#
# Environment: N (requests per run, default 20000), C (concurrent
# transfers, default 16), THREADS (server worker threads, default 4),
# BUILD (build folder, default build/release, else build/dev).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N=${N:-20000}
C=${C:-16}
THREADS=${THREADS:-4}

if [ $# -ge 1 ]; then
	server=$1
else
	build=${BUILD:-}
	if [ -z "$build" ]; then
		for b in build/release build/dev; do
			if [ -d "$root/$b" ]; then
				build=$b
				break
			fi
		done
	fi
	[ -n "$build" ] || {
		echo "autodiscover_load.sh: no build folder: run" \
			"'cmake --preset release' first or give the" \
			"fakeautodiscover binary" >&2
		exit 64
	}
	# A build folder configured before fakeautodiscover/ existed has no
	# such target yet: configure it again, then build.
	if ! cmake --build "$root/$build" --target fakeautodiscover \
		>/dev/null 2>&1; then
		cmake "$root/$build" >/dev/null
		cmake --build "$root/$build" --target fakeautodiscover \
			>/dev/null
	fi
	server=$root/$build/fakeautodiscover
fi
[ -x "$server" ] || {
	echo "autodiscover_load.sh: $server: not an executable" >&2
	exit 66
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/adload.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror \
	"$here/autodiscover_load.c" -o "$tmp/autodiscover_load" \
	$(pkg-config --cflags --libs libcurl)
"$root/tests/mkcert.sh" "$tmp/cert" contoso.com autodiscover.contoso.com

mkdir -p "$tmp/scenario/autodiscover"
cat >"$tmp/scenario/autodiscover/server.ini" <<'EOF'
[Server]
Hosts = contoso.com autodiscover.contoso.com

[Rule alice]
Method = POST
Path = /autodiscover/autodiscover.xml
Email = alice@contoso.com
Body = alice.xml
EOF
cat >"$tmp/scenario/autodiscover/alice.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>Alice Example</DisplayName>
      <LegacyDN>/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=0a1b2c3d4e5f40718293a4b5c6d7e8f9-alice</LegacyDN>
      <AutoDiscoverSMTPAddress>alice@contoso.com</AutoDiscoverSMTPAddress>
      <DeploymentId>6b3f2a14-1c2d-4e5f-8a9b-0c1d2e3f4a5b</DeploymentId>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <MicrosoftOnline>False</MicrosoftOnline>
      <Protocol>
        <Type>EXCH</Type>
        <Server>4c1b5a7e-1111-2222-3333-444455556666@contoso.com</Server>
        <ServerDN>/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=4c1b5a7e-1111-2222-3333-444455556666@contoso.com</ServerDN>
        <ServerVersion>73C18880</ServerVersion>
        <MdbDN>/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=4c1b5a7e-1111-2222-3333-444455556666@contoso.com/cn=Microsoft Private MDB</MdbDN>
        <EwsUrl>https://%HOST%:%PORT%/EWS/Exchange.asmx</EwsUrl>
        <OABUrl>https://%HOST%:%PORT%/OAB/0a1b2c3d-0000-1111-2222-333344445555/</OABUrl>
      </Protocol>
      <Protocol>
        <Type>EXPR</Type>
        <Server>outlook.contoso.com</Server>
        <SSL>On</SSL>
        <AuthPackage>Negotiate</AuthPackage>
        <EwsUrl>https://%HOST%:%PORT%/EWS/Exchange.asmx</EwsUrl>
      </Protocol>
      <Protocol Type="mapiHttp" Version="1">
        <MailStore>
          <InternalUrl>https://%HOST%:%PORT%/mapi/emsmdb/?MailboxId=4c1b5a7e-1111-2222-3333-444455556666@contoso.com</InternalUrl>
          <ExternalUrl>https://%HOST%:%PORT%/mapi/emsmdb/?MailboxId=4c1b5a7e-1111-2222-3333-444455556666@contoso.com</ExternalUrl>
        </MailStore>
        <AddressBook>
          <InternalUrl>https://%HOST%:%PORT%/mapi/nspi/?MailboxId=4c1b5a7e-1111-2222-3333-444455556666@contoso.com</InternalUrl>
          <ExternalUrl>https://%HOST%:%PORT%/mapi/nspi/?MailboxId=4c1b5a7e-1111-2222-3333-444455556666@contoso.com</ExternalUrl>
        </AddressBook>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
EOF

"$server" --scenario "$tmp/scenario" --cert "$tmp/cert/server.pem" \
	--key "$tmp/cert/server.key" --port 0 --http-port 0 \
	--threads "$THREADS" >"$tmp/ports" 2>"$tmp/server.err" &
pid=$!
i=0
while [ ! -s "$tmp/ports" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "autodiscover_load.sh: the server did not start:" >&2
		cat "$tmp/server.err" >&2
		exit 1
	fi
	sleep 0.1
done
read -r line <"$tmp/ports"
https_port=$(printf '%s\n' "$line" | sed -n 's/^https=\([0-9]*\) .*/\1/p')
http_port=$(printf '%s\n' "$line" | sed -n 's/.* http=\([0-9]*\)$/\1/p')
size=$(wc -c <"$tmp/scenario/autodiscover/alice.xml")

echo "server: $server, $THREADS threads; body ~$size bytes;" \
	"$N requests, $C concurrent, keep-alive"
rc=0
printf 'http:  '
"$tmp/autodiscover_load" -n "$N" -c "$C" \
	"http://127.0.0.1:$http_port/autodiscover/autodiscover.xml" || rc=1
printf 'https: '
"$tmp/autodiscover_load" -n "$N" -c "$C" --cacert "$tmp/cert/ca.pem" \
	--connect-to "autodiscover.contoso.com:443:127.0.0.1:$https_port" \
	"https://autodiscover.contoso.com/autodiscover/autodiscover.xml" ||
	rc=1

kill -TERM "$pid"
if ! wait "$pid"; then
	echo "autodiscover_load.sh: the server did not exit 0" >&2
	rc=1
fi
pid=
exit $rc
