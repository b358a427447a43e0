#!/usr/bin/env bash
# The Windows build warns when the configuration or the mapping can be
# changed by someone other than an administrator (the file's DACL; Wine
# derives it from the Unix mode): writable_test.sh SRC WINE_RUN PREFIX EXE
set -euo pipefail
src=$1 run=$2 prefix=$3 exe=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/scenarios/basic-update/HKCU.reg" "$tmp/u.reg"
cp "$src/scenarios/basic-update/mapping.puf" "$tmp/m.puf"
printf '[Settings]\r\nOST=keep\r\n' >"$tmp/p.ini"
chmod 644 "$tmp/m.puf" "$tmp/p.ini"
"$run" "$prefix" "$exe" update --store "$tmp/u.reg" --mapping "$tmp/m.puf" \
	--config "$tmp/p.ini" --dry-run >/dev/null 2>"$tmp/err1"
if grep -q "warning: the" "$tmp/err1"; then
	echo "warned about read-only files:"; cat "$tmp/err1"; exit 1
fi
chmod 666 "$tmp/p.ini"
"$run" "$prefix" "$exe" update --store "$tmp/u.reg" --mapping "$tmp/m.puf" \
	--config "$tmp/p.ini" --dry-run >/dev/null 2>"$tmp/err2"
if ! grep -q "warning: the configuration .*p.ini can be changed by Everyone" "$tmp/err2"; then
	echo "no warning for a configuration everyone can write:"; cat "$tmp/err2"; exit 1
fi
echo "read-only: no warning; everyone-writable: warned"
