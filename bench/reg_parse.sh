#!/bin/sh
# bench/reg_parse.sh
#
# Reading a .reg export must stay linear in the number of sibling keys and
# of values in one key (docs/performance.md): a hostile export with 200,000
# sibling keys took 198 s when siblings were searched linearly.  Writes
# three exports in reg export's format (UTF-16LE with BOM, CRLF): KEYS
# sibling keys under one key, the same with 5 x KEYS, and one key with KEYS
# values; then times "profswitch inspect" on each (the whole file is read
# and checked; there is no profile, so nothing else is done) and prints
# seconds, peak memory and the time per key.  Linear means the 5 x file
# takes about 5 times as long.
#
# Builds profswitch (preset release) unless PROFSWITCH names one.
# Environment: KEYS (default 200000; 5 x KEYS = 1,000,000 keys).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
KEYS=${KEYS:-200000}

if [ -n "${PROFSWITCH:-}" ]; then
	ps=$PROFSWITCH
else
	(cd "$root" && cmake --preset release >/dev/null &&
		cmake --build --preset release --target profswitch >/dev/null)
	ps=$root/build/release/profswitch
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" "$KEYS" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
def gen(path, nkeys, nvals):
    out = ["Windows Registry Editor Version 5.00", "",
           r"[HKEY_CURRENT_USER\Software\Bench]"]
    out += ['"v%07d"=dword:%08x' % (i, i) for i in range(nvals)]
    out.append("")
    for i in range(nkeys):
        out += [r"[HKEY_CURRENT_USER\Software\Bench\k%07d]" % i, ""]
    data = ("\r\n".join(out) + "\r\n").encode("utf-16-le")
    with open(path, "wb") as f:
        f.write(b"\xff\xfe" + data)
gen(tmp + "/keys.reg", n, 0)
gen(tmp + "/keys5.reg", 5 * n, 0)
gen(tmp + "/values.reg", 0, n)
PY

run() {
	# $1 file, $2 label, $3 count
	start=$(date +%s.%N)
	/usr/bin/time -f "%M" -o "$tmp/mem" "$ps" inspect "$tmp/$1" >/dev/null
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v m="$(cat "$tmp/mem")" -v l="$2" \
		-v c="$3" -v b="$(wc -c <"$tmp/$1")" 'BEGIN {
		printf "%-28s %8.2f s %8.0f MiB peak %6.2f us/item (%d MiB file)\n",
			l, e - s, m / 1024, (e - s) * 1e6 / c, b / 1048576 }'
}
run keys.reg "$KEYS sibling keys" "$KEYS"
run keys5.reg "$((5 * KEYS)) sibling keys" "$((5 * KEYS))"
run values.reg "$KEYS values in one key" "$KEYS"
