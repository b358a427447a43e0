#!/usr/bin/env bash
# The no-parameter logon run: the exe with no argument at all runs
# `update --config DIR\profswitch.ini` when that file is beside it, and
# without it exits 64 with a line in the default log
# (%LOCALAPPDATA%\profswitch\logs\profswitch.log):
#   noargs_test.sh SRC WINE_RUN PREFIX EXE
set -euo pipefail
src=$1 run=$2 prefix=$3 exe=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s=$src/scenarios/basic-update
name=$(basename "$exe")
mkdir "$tmp/bin"
cp "$exe" "$tmp/bin/$name"
cp "$s/HKCU.reg" "$tmp/u.reg"
# The fake MAPI provider of the prefix works on this export.
PROFSWITCH_FAKE_STORE="Z:$(printf '%s' "$tmp/u.reg" | tr / '\\')"
export PROFSWITCH_FAKE_STORE
fail() { echo "$name: $*"; cat "$tmp/out" 2>/dev/null || true; exit 1; }

# No profswitch.ini beside it: 64, and the default log says where it
# looked.
status=0
"$run" "$prefix" "$tmp/bin/$name" >"$tmp/out" 2>&1 || status=$?
[ "$status" -eq 64 ] || fail "no ini: exit $status, expected 64"
cmp -s "$s/HKCU.reg" "$tmp/u.reg" || fail "no ini: the store changed"
tag=$(basename "$tmp")
found=0
while IFS= read -r -d '' log; do
	if grep -F "$tag" "$log" | grep -q "exit status 64: no command given, and no profswitch.ini beside the program"; then
		found=1
	fi
done < <(find "$prefix/drive_c/users" -path '*/profswitch/logs/profswitch.log' -print0)
[ "$found" -eq 1 ] || fail "no line in the default log"

# With one: update --config it (Mapping= and ReportFile= relative to it).
cp "$s/mapping.puf" "$tmp/bin/"
{ cat "$s/config.ini"; printf 'Mapping=mapping.puf\r\nReportFile=r.csv\r\nLogFile=run.log\r\n'; } \
	>"$tmp/bin/profswitch.ini"
status=0
"$run" "$prefix" "$tmp/bin/$name" >"$tmp/out" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "with ini: exit $status"
grep -q ',updated,' "$tmp/bin/r.csv" || fail "no updated row"
grep -q 'update: exit status 0' "$tmp/bin/run.log" || fail "no log line"
cmp -s "$s/HKCU.reg" "$tmp/u.reg" && fail "the store did not change"
echo "$name with no argument: exit 64 and logged without profswitch.ini," \
	"update --config with it"
