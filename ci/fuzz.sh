#!/usr/bin/env bash
# Build the libFuzzer targets (preset fuzz: clang, ASan + UBSan: fuzz_reg,
# fuzz_hive, fuzz_mapping, fuzz_ini, fuzz_autodiscover, fuzz_mapidx,
# fuzz_backup, fuzz_json, fuzz_report) and run
# each for FUZZ_SECONDS (default 20) from its committed seed corpus
# (tests/fuzz/corpus/<name>/).  New inputs go to a scratch folder, never
# into the repository; a crash, leak or timeout (10 s per input; 2 s for
# fuzz_autodiscover) fails the run and leaves the input in
# build/fuzz/artifacts/.
#
# The mutations start from a fixed seed (FUZZ_SEED, default 1), so that a
# red run can be replayed: the same binary and corpus try the same inputs
# in the same order, and a slower machine tries a prefix of them.  CI is a
# regression check; finding new inputs is the job of longer runs with
# FUZZ_SEED=0 (a random seed) and FUZZ_SECONDS=600 (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
seed=${FUZZ_SEED:-1}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
mkdir -p build/fuzz/artifacts
pass=0
fail=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	work=$(mktemp -d)
	# A time bound per input: 10 s, and 2 s for the Autodiscover answer
	# (a 1 MiB answer parses in milliseconds; docs/performance.md), whose
	# inputs may reach the 1 MiB it accepts (PS_AD_MAX_BODY).
	timeout=10
	max_len=262144
	if [ "$name" = autodiscover ]; then
		timeout=2
		max_len=1048576
	fi
	if "$bin" -seed="$seed" -max_total_time="$seconds" -timeout="$timeout" \
		-rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="build/fuzz/artifacts/$name-" \
		"$work" "tests/fuzz/corpus/$name" >"build/fuzz/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "fuzz: $name ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' \
			"build/fuzz/$name.log" | grep -o '[0-9]*$') runs in ${seconds}s)"
	else
		fail=$((fail + 1))
		echo "fuzz: $name FAILED"
		tail -40 "build/fuzz/$name.log"
	fi
	rm -rf "$work"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
