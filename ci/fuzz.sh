#!/usr/bin/env bash
# Build the libFuzzer targets (preset fuzz: clang, ASan + UBSan: fuzz_reg,
# fuzz_hive, fuzz_mapping, fuzz_ini, fuzz_autodiscover, fuzz_mapidx,
# fuzz_backup) and run
# each for FUZZ_SECONDS (default 20) from its committed seed corpus
# (tests/fuzz/corpus/<name>/).  New inputs go to a scratch folder, never
# into the repository; a crash, leak or timeout fails the run and leaves
# the input in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
mkdir -p build/fuzz/artifacts
pass=0
fail=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	work=$(mktemp -d)
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=262144 -print_final_stats=1 \
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
