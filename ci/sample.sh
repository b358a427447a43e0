#!/usr/bin/env bash
# The main job on bundled sample data: build profswitch (installing what
# is missing) and show what an update would do to a sample user's
# exported profile: a dry run, which changes nothing, and its report.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" \
	--target profswitch >/dev/null
sample=scenarios/basic-update
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== profswitch inspect $sample/HKCU.reg"
build/release/profswitch inspect "$sample/HKCU.reg"
echo
echo "== profswitch update --dry-run"
status=0
build/release/profswitch update --store "$sample/HKCU.reg" \
	--mapping "$sample/mapping.puf" --config "$sample/config.ini" \
	--dry-run --report "$out/plan.csv" || status=$?
echo
echo "== report ($out/plan.csv)"
cat "$out/plan.csv"
exit "$status"
