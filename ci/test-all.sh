#!/usr/bin/env bash
# Every test: installs what is missing, then the native suite (dev
# preset, -Werror), the same suite under ASan + UBSan, the unit tests and
# scenarios under valgrind, and a check that the committed scenario data
# is what its generator writes.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== dev build and tests"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs"

echo "== asan + ubsan build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

echo "== valgrind"
ci/valgrind.sh build/dev

echo "== scenario data matches its generator"
ci/check-scenarios.sh

echo "all test stages passed"
