#!/usr/bin/env bash
# The main job on bundled sample data: build profswitch (installing what
# is missing) and rehearse the cut-over on the sample fleet (samples/fleet:
# 39 users' exported profiles, every outcome a rehearsal can report).
# Nothing is changed; the fleet report is written as HTML, CSV and JSON
# under build/sample/ and the HTML file is named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" \
	--target profswitch >/dev/null
out=build/sample
mkdir -p "$out"
echo "== profswitch rehearse samples/fleet"
status=0
build/release/profswitch rehearse samples/fleet \
	--mapping samples/fleet-mapping.puf --config samples/fleet.ini \
	--report "$out/fleet.html" --report "$out/fleet.csv" \
	--report "$out/fleet.json" || status=$?
echo
echo "fleet report: $(pwd)/$out/fleet.html"
# The status carries the fleet's exit bits (1 failed, 4 blocked: the
# sample has both on purpose); only a real error fails the job.
[ "$status" -lt 64 ] || exit "$status"
