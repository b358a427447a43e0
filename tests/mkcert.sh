#!/bin/sh
# tests/mkcert.sh OUTDIR HOST...
#
# Makes a throw-away test CA (EC P-256, CN "profswitch test CA", valid one
# day) and a server key and certificate signed by it whose subjectAltName
# covers every HOST plus DNS:localhost and IP:127.0.0.1.  Writes
# OUTDIR/ca.pem, OUTDIR/server.pem and OUTDIR/server.key (mode 0600); the
# CA key is thrown away.  Quiet on success.  Needs the openssl CLI.
#
# These keys are for tests only: never commit them.
set -eu

me=${0##*/}
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $me OUTDIR [HOST...]" >&2
	exit 64
fi
out=$1
shift
command -v openssl >/dev/null 2>&1 || {
	echo "$me: the openssl command is needed (apt-get install openssl)" >&2
	exit 69
}
mkdir -p "$out"
umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkcert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# subjectAltName: every HOST (an address as IP:, a name as DNS:), then
# localhost and 127.0.0.1, each once.
san=
seen=' '
add_san() {
	case $seen in *" $1 "*) return ;; esac
	seen="$seen$1 "
	case $1 in
	*:*|*[!0-9.]*) kind=DNS ;;
	*) kind=IP ;;
	esac
	case $1 in *:*) kind=IP ;; esac
	san="${san:+$san,}$kind:$1"
}
for h in "$@"; do
	case $h in
	''|*[,\ ]*) echo "$me: bad host name '$h'" >&2; exit 64 ;;
	esac
	add_san "$(printf '%s' "$h" | LC_ALL=C tr '[:upper:]' '[:lower:]')"
done
add_san localhost
add_san 127.0.0.1
cn=${1:-localhost}

run() {
	if ! "$@" >"$tmp/log" 2>&1; then
		echo "$me: failed: $*" >&2
		cat "$tmp/log" >&2
		exit 1
	fi
}

# PS_MKCERT_ALG=rsa: RSA 2048 keys instead of P-256 (the Wine runs: Wine
# 8's crypt32 now and then finds a valid ECDSA signature invalid).
if [ "${PS_MKCERT_ALG:-ec}" = rsa ]; then
	keyalg="-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
else
	keyalg="-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
fi
# shellcheck disable=SC2086 # keyalg is the options, split on purpose
run openssl genpkey $keyalg \
	-out "$tmp/ca.key"
run openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 1 \
	-subj "/CN=profswitch test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out "$tmp/ca.pem"
# shellcheck disable=SC2086
run openssl genpkey $keyalg \
	-out "$tmp/server.key"
run openssl req -new -key "$tmp/server.key" -subj "/CN=$cn" \
	-out "$tmp/server.csr"
cat >"$tmp/ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
EOF
run openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" \
	-CAkey "$tmp/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom |
		tr -d ' \n')" -sha256 -days 1 -extfile "$tmp/ext" \
	-out "$tmp/server.pem"

mv -f "$tmp/server.key" "$out/server.key"
chmod 600 "$out/server.key"
chmod 644 "$tmp/ca.pem" "$tmp/server.pem"
mv -f "$tmp/ca.pem" "$out/ca.pem"
mv -f "$tmp/server.pem" "$out/server.pem"
