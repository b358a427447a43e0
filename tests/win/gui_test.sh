#!/usr/bin/env bash
# profswitchw.exe (GUI subsystem: no console at logon) does the same work
# as profswitch.exe; what it would print is dropped, so the report file
# and the store are what show it:  gui_test.sh SRC WINE_RUN PREFIX EXE
set -euo pipefail
src=$1 run=$2 prefix=$3 exe=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s=$src/scenarios/basic-update
cp "$s/HKCU.reg" "$tmp/u.reg"
status=0
(cd "$s" && "$run" "$prefix" "$exe" update --store "$tmp/u.reg" \
	--mapping mapping.puf --config config.ini --report "$tmp/r.csv") \
	>"$tmp/out" 2>&1 || status=$?
[ "$status" -eq 0 ] || { echo "exit $status"; cat "$tmp/out"; exit 1; }
grep -q ',updated,' "$tmp/r.csv" || { echo "no updated row"; cat "$tmp/r.csv"; exit 1; }
cmp -s "$s/HKCU.reg" "$tmp/u.reg" && { echo "the store did not change"; exit 1; }
[ -s "$tmp/out" ] && grep -q "PROFILE" "$tmp/out" && { echo "the GUI build printed to the console"; exit 1; }
echo "profswitchw.exe: updated, report written, nothing printed"
