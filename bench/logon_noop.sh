#!/bin/sh
# bench/logon_noop.sh
#
# Logon no-op with a compiled mapping (docs/performance.md): "update" on a
# profile that is already updated, with a compiled 300,000-row mapping and
# with a compiled one-row mapping; the ratio of the two times should stay
# at most 1.5, because a lookup reads the header, one directory page and
# one bucket whatever the row count.
#
# Builds profswitch (preset release) unless PROFSWITCH names one, writes
# the mappings (scenario already-updated's profile: alice is already on
# the target; her line is in both mappings), compiles both, then runs
# "update --store COPY --mapping X.idx --config config.ini" REPS times
# with each, alternating, on a fresh copy of the export each time (the
# store is not rewritten: nothing changes).  With strace installed, one
# run of each is traced for the bytes the process read.
#
# Environment: ROWS (default 300000), REPS (default 200).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ROWS=${ROWS:-300000}
REPS=${REPS:-200}
scen=$root/scenarios/already-updated

if [ -n "${PROFSWITCH:-}" ]; then
	ps=$PROFSWITCH
else
	(cd "$root" && cmake --preset release >/dev/null &&
	 cmake --build --preset release -j2 --target profswitch >/dev/null)
	ps=$root/build/release/profswitch
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The one-row mapping: alice's line of the scenario's mapping.
head -n 1 "$scen/mapping.puf" >"$work/one.puf"
grep 'cn=alice|' "$scen/mapping.puf" >>"$work/one.puf"
# The big one: the same header and alice's line, then ROWS - 1 others.
{
	cat "$work/one.puf"
	awk -v n="$((ROWS - 1))" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "/o=Fabrikam/ou=Exchange Administrative Group " \
			       "(FYDIBOHF23SPDLT)/cn=Recipients/cn=user%07d|" \
			       "/o=ExchangeLabs/ou=Exchange Administrative Group " \
			       "(FYDIBOHF23SPDLT)/cn=Recipients/cn=%08x%024d-user%07d|" \
			       "user%07d@contoso.com|user%07d@fabrikam.com|" \
			       "outlook.office365.com\n", i, i * 2654435761 % 4294967296, i, i, i, i
	}'
} >"$work/big.puf"

"$ps" mapping compile "$work/one.puf" -o "$work/one.idx" >"$work/one.txt"
"$ps" mapping compile "$work/big.puf" -o "$work/big.idx" >"$work/big.txt"
echo "one-row mapping: $(grep -c '' "$work/one.puf") lines, index $(wc -c <"$work/one.idx") bytes"
echo "big mapping:     $(grep -c '' "$work/big.puf") lines ($(wc -c <"$work/big.puf") bytes), index $(wc -c <"$work/big.idx") bytes"
sed -n 's/^  pages: /  big index pages: /p' "$work/big.txt"

run() {
	cp "$scen/HKCU.reg" "$work/u.reg"
	"$ps" update --store "$work/u.reg" --mapping "$1" \
		--config "$scen/config.ini" -q >/dev/null 2>&1
	cmp -s "$scen/HKCU.reg" "$work/u.reg" || {
		echo "the store changed with $1" >&2
		exit 1
	}
}

now() {
	date +%s%N
}

# One warm-up run each (page cache).
run "$work/one.idx"
run "$work/big.idx"
t_one=0
t_big=0
i=0
while [ "$i" -lt "$REPS" ]; do
	a=$(now); run "$work/one.idx"; b=$(now)
	t_one=$((t_one + b - a))
	a=$(now); run "$work/big.idx"; b=$(now)
	t_big=$((t_big + b - a))
	i=$((i + 1))
done
awk -v one="$t_one" -v big="$t_big" -v n="$REPS" -v rows="$ROWS" 'BEGIN {
	printf "update, already updated, %d runs each (ms per run, incl. cp):\n", n
	printf "  one-row index:   %.2f\n", one / n / 1e6
	printf "  %d-row index: %.2f\n", rows, big / n / 1e6
	printf "  ratio: %.3f\n", big / one
}'

if command -v strace >/dev/null 2>&1; then
	for m in one big; do
		cp "$scen/HKCU.reg" "$work/u.reg"
		strace -f -e trace=read,pread64 -o "$work/$m.strace" \
			"$ps" update --store "$work/u.reg" --mapping "$work/$m.idx" \
			--config "$scen/config.ini" -q >/dev/null 2>&1 || true
		idx=$(grep -c 'pread64' "$work/$m.strace" || true)
		bytes=$(awk -F'= ' '/pread64\(/ { s += $NF } END { print s + 0 }' "$work/$m.strace")
		all=$(awk -F'= ' '/(read|pread64)\(/ && $NF ~ /^[0-9]+$/ { s += $NF } END { print s + 0 }' "$work/$m.strace")
		echo "strace, $m index: $idx pread64 calls, $bytes bytes by pread64 (the mapping); $all bytes read in all (store, config, libraries)"
	done
fi
