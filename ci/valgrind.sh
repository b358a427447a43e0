#!/usr/bin/env bash
# Run every unit test and every scenario under valgrind: any invalid
# access or leak fails the run.
set -euo pipefail
build=$(realpath "${1:-build/dev}")
cd "$(dirname "$0")/.."
vg=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)

pass=0
fail=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	# test_limits reads 512 MiB and 1 GiB inputs at their limits: too
	# slow under valgrind; the ASan run covers it.
	[ "$(basename "$t")" = test_limits ] && continue
	if "${vg[@]}" "$t" >"$build/valgrind-$(basename "$t").log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "valgrind: $(basename "$t") FAILED"
		tail -40 "$build/valgrind-$(basename "$t").log"
	fi
done
for dir in scenarios/*/; do
	[ -f "$dir/scenario.ini" ] || continue
	if PS_SCENARIO_WRAP="${vg[*]}" "$build/tests/scenario_run" \
		--exe "$build/profswitch" "${dir%/}" \
		>"$build/valgrind-scenario.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "valgrind: scenario $dir FAILED"
		tail -40 "$build/valgrind-scenario.log"
	fi
done
# A few scenarios on an NTUSER.DAT hive (libhivex read and write-back).
for name in basic-update unicode-profile-name rollback; do
	if PS_SCENARIO_WRAP="${vg[*]}" "$build/tests/scenario_run" \
		--exe "$build/profswitch" --hive "$PWD/tests/mkhive.py" \
		"scenarios/$name" >"$build/valgrind-scenario.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "valgrind: scenario $name on a hive FAILED"
		tail -40 "$build/valgrind-scenario.log"
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
