#!/usr/bin/env bash
# The committed scenario inputs and expectations must be exactly what
# scenarios/tools/mkscen.py writes (its expectations are hand-derived;
# see scenarios/tools/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r scenarios "$tmp/scenarios"
python3 "$tmp/scenarios/tools/mkscen.py" >/dev/null
if ! diff -r scenarios "$tmp/scenarios" >/dev/null; then
	echo "scenario files differ from what scenarios/tools/mkscen.py writes:"
	diff -rq scenarios "$tmp/scenarios" || true
	exit 1
fi
# The fuzz seed corpora are the scenario inputs and hand-written seeds,
# as tests/fuzz/mkcorpus.py copies them.
mkdir -p "$tmp/tests"
cp -r tests/fuzz tests/data "$tmp/tests/"
python3 "$tmp/tests/fuzz/mkcorpus.py"
if ! diff -r tests/fuzz/corpus "$tmp/tests/fuzz/corpus" >/dev/null; then
	echo "fuzz corpora differ from what tests/fuzz/mkcorpus.py writes:"
	diff -rq tests/fuzz/corpus "$tmp/tests/fuzz/corpus" || true
	exit 1
fi
# The sample fleet (README's main job) is what samples/tools/mkfleet.py
# writes from the scenario inputs.
python3 samples/tools/mkfleet.py "$tmp/samples"
for f in fleet-mapping.puf fleet.ini fleet-expected.csv fleet; do
	if ! diff -r "samples/$f" "$tmp/samples/$f" >/dev/null; then
		echo "samples/$f differs from what samples/tools/mkfleet.py writes"
		diff -rq "samples/$f" "$tmp/samples/$f" || true
		exit 1
	fi
done
# The hive seeds are what tests/fuzz/mkhiveseeds.sh makes of the scenario
# exports (hivexregedit --merge, byte-deterministic).
if command -v hivexregedit >/dev/null; then
	bash tests/fuzz/mkhiveseeds.sh "$tmp/hive"
	if ! diff -r tests/fuzz/seeds/hive "$tmp/hive" >/dev/null; then
		echo "hive seeds differ from what tests/fuzz/mkhiveseeds.sh writes"
		exit 1
	fi
else
	echo "hivexregedit missing (ci/install-deps.sh): hive seeds not checked" >&2
	exit 1
fi
echo "scenario data: up to date"
