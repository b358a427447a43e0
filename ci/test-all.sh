#!/usr/bin/env bash
# Every test: installs what is missing, then the native suite (dev
# preset, -Werror), the same suite under ASan + UBSan, the unit tests and
# scenarios under valgrind, every libFuzzer target for 20 s, the Windows
# builds with every scenario through the shipped exe under Wine, and a check
# that the committed scenario data (and the fuzz seed corpora) are what
# their generators write.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total=0

# ctest, counting the tests it ran (it fails the script on any failure).
run_ctest() {
	ctest --preset "$1" -j "$jobs" | tee "$logs/$1.log"
	n=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' \
		"$logs/$1.log" | tail -n 1)
	total=$((total + ${n:-0}))
}

echo "== dev build and tests"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
run_ctest dev

echo "== asan + ubsan build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
run_ctest asan

echo "== valgrind"
ci/valgrind.sh build/dev | tee "$logs/valgrind.log"
n=$(sed -n 's/^valgrind: \([0-9]*\) passed, 0 failed$/\1/p' "$logs/valgrind.log")
total=$((total + ${n:-0}))

echo "== fuzzing: every parser for ${FUZZ_SECONDS:-20} s from its seed corpus"
ci/fuzz.sh | tee "$logs/fuzz.log"
n=$(sed -n 's/^fuzz: \([0-9]*\) passed, 0 failed$/\1/p' "$logs/fuzz.log")
total=$((total + ${n:-0}))

echo "== Windows: mingw-w64 builds, the shipped exe under Wine"
ci/windows.sh | tee "$logs/windows.log"
n=$(sed -n 's/^windows: \([0-9]*\) passed, 0 failed$/\1/p' "$logs/windows.log")
total=$((total + ${n:-0}))

echo "== scenario data matches its generator"
ci/check-scenarios.sh

echo "all test stages passed (dev, asan, valgrind, fuzz, windows under wine, scenario data)"
echo "ci: $total passed, 0 failed"
