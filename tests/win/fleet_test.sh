#!/usr/bin/env bash
# `profswitch fleet` in the shipped exe (win32 list_reports: the folder
# walk and the files' modification times) reads the same share as the
# native build and writes the same rows:
#   fleet_test.sh SRC WINE_RUN PREFIX EXE NATIVE_BUILD
# The share: PC1's latest run (a CSV) and an older one of the same user
# (its deferred rows must be left out by modification time), PC2's JSON
# report, a broken report (one failed row, never the end) and a file that
# is no report.  The rows, with the input column made relative to the
# share, must be the same; so must the exit status (bit 1: the broken
# report).
set -euo pipefail
src=$1 run=$2 prefix=$3 exe=$4 native=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$src/tests/data/report
fail() { echo "fleet: $*"; cat "$tmp/out" 2>/dev/null || true; exit 1; }
[ -x "$native/profswitch" ] || { echo "no native build: skipped"; exit 77; }

mkdir -p "$tmp/share/PC1" "$tmp/share/PC2" "$tmp/share/misc"
sed 's/^vm,a,/PC1,a,/' "$data/update.csv" >"$tmp/share/PC1/a.csv"
sed -e 's/^vm,a,/PC1,a,/' -e 's/,updated,"[^"]*",/,deferred-running,,/' \
	"$data/update.csv" >"$tmp/share/PC1/a-monday.csv"
touch -d '2026-11-30 08:00:00 UTC' "$tmp/share/PC1/a-monday.csv"
touch -d '2026-12-01 08:00:00 UTC' "$tmp/share/PC1/a.csv"
sed 's/"host": "vm"/"host": "PC2"/' "$data/update.json" \
	>"$tmp/share/PC2/b.json"
printf '{"host": "PC3", "user": "c", "rows": [' >"$tmp/share/misc/c.json"
printf 'not a report\n' >"$tmp/share/misc/notes.txt"

status_n=0
"$native/profswitch" fleet "$tmp/share" --report "$tmp/n.csv" \
	--report "$tmp/n.json" -q >"$tmp/out" 2>&1 || status_n=$?
winpath() { printf 'Z:%s' "$1" | tr / '\\'; }
status_w=0
"$run" "$prefix" "$exe" fleet "$(winpath "$tmp/share")" \
	--report "$(winpath "$tmp/w.csv")" --report "$(winpath "$tmp/w.json")" \
	-q >"$tmp/out" 2>&1 || status_w=$?
[ "$status_n" -eq 1 ] || fail "native: exit $status_n, expected 1"
[ "$status_w" -eq 1 ] || fail "exe: exit $status_w, expected 1"

python3 - "$tmp" <<'PY' || fail "the rows differ"
import csv, io, sys
tmp = sys.argv[1]
def rows(name, share):
    text = open(f"{tmp}/{name}", encoding="utf-8-sig", newline="").read()
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        p = r["input"].replace("\\", "/")
        assert p.startswith(share), (name, p)
        r["input"] = p[len(share):]
        out.append(r)
    return out
n = rows("n.csv", tmp + "/share/")
w = rows("w.csv", "Z:" + tmp + "/share/")
if n != w:
    for a, b in zip(n, w):
        if a != b:
            print("native:", a, "\nexe:   ", b)
    print(len(n), "native rows,", len(w), "exe rows")
    sys.exit(1)
st = sorted((r["host"], r["user"], r["status"]) for r in n)
want = sorted([("PC1", "a", "updated"), ("PC1", "a", "updated"),
               ("PC2", "b", "updated"), ("PC2", "b", "updated"),
               ("", "c", "failed")])
if st != want:
    print("rows:", st, "\nexpected:", want)
    sys.exit(1)
PY
grep -q '"superseded_reports": 1' "$tmp/w.json" ||
	fail "the exe's JSON does not leave out the older run"
echo "fleet: the exe and the native build read the share alike" \
	"(5 rows, 1 older run left out, 1 broken report)"
