#!/bin/sh
# bench/fleet_collect.sh
#
# `profswitch fleet` over a share of per-user reports (docs/performance.md):
# writes REPORTS reports as logon runs leave them (a mix of CSV with
# ',' and ';', and JSON; one to three accounts each; every 50th user ran
# twice, so the older run is left out; every 1000th file is cut short),
# in 100 folders as a share would hold them, and a rehearsal report of the
# same users; then times "profswitch fleet" writing the HTML, CSV and JSON
# reports with the rehearsal comparison, and prints seconds, peak memory
# and the time per report.  Target: seconds for 100,000 reports.
#
# Builds profswitch (preset release) unless PROFSWITCH names one.
# Environment: REPORTS (default 100000).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
REPORTS=${REPORTS:-100000}

if [ -n "${PROFSWITCH:-}" ]; then
	ps=$PROFSWITCH
else
	(cd "$root" && cmake --preset release >/dev/null &&
		cmake --build --preset release --target profswitch >/dev/null)
	ps=$root/build/release/profswitch
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen_start=$(date +%s.%N)
python3 "$here/fleet_reports.py" --reports "$REPORTS" "$tmp"
gen_end=$(date +%s.%N)
awk -v s="$gen_start" -v e="$gen_end" -v n="$REPORTS" 'BEGIN {
	printf "generated %d reports in %.1f s\n", n, e - s }'

start=$(date +%s.%N)
status=0
/usr/bin/time -f "%M" -o "$tmp/mem" "$ps" fleet "$tmp/share" \
	--rehearsal "$tmp/rehearsal.csv" --report "$tmp/fleet.html" \
	--report "$tmp/fleet.csv" --report "$tmp/fleet.json" -q || status=$?
end=$(date +%s.%N)
# Bits 1 (the cut files), 2 (deferred) and 4 (blocked) are expected.
if [ "$status" -ge 64 ]; then
	echo "profswitch fleet failed: exit $status" >&2
	exit 1
fi
awk -v s="$start" -v e="$end" -v m="$(tail -n 1 "$tmp/mem")" -v c="$REPORTS" \
	-v h="$(wc -c <"$tmp/fleet.html")" -v j="$(wc -c <"$tmp/fleet.json")" \
	'BEGIN {
	printf "fleet: %d reports %8.2f s %8.0f MiB peak %6.1f us/report\n",
		c, e - s, m / 1024, (e - s) * 1e6 / c
	printf "       (HTML %d MiB, JSON %d MiB)\n", h / 1048576, j / 1048576 }'
