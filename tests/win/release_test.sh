#!/usr/bin/env bash
# ci/release.sh is reproducible and makes the layout the docs show:
#   release_test.sh SOURCE_DIR WORK_DIR [WINE_RUN PREFIX]
# builds the release twice from the same commit (HEAD when it starts),
# into two different folders, compares the two zips byte for byte, then
# checks one (tests/win/release_check.py).  With WINE_RUN and PREFIX, the
# x64 profswitch.exe from the zip also runs under Wine and prints the
# version the zip is named after.
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
commit=$(git -C "$src" rev-parse HEAD)
for run in a b; do
	"$src/ci/release.sh" --build-dir "$work/build-$run" \
		--out "$work/dist-$run" --commit "$commit" \
		>"$work/release-$run.log" 2>&1 || {
		cat "$work/release-$run.log"
		exit 1
	}
done
za=$(ls "$work"/dist-a/profswitch-*-windows.zip)
zb=$(ls "$work"/dist-b/profswitch-*-windows.zip)
if ! cmp "$za" "$zb"; then
	echo "release: two builds of $commit differ:"
	sha256sum "$za" "$zb"
	exit 1
fi
echo "release: two builds of $commit, same bytes: $(sha256sum <"$za" |
	cut -d' ' -f1)"
python3 "$src/tests/win/release_check.py" "$za" "$src" "$commit" \
	"$work/build-a" "$work/build-b"
if [ $# -ge 4 ]; then
	mkdir -p "$work/unzip"
	(cd "$work/unzip" && python3 -m zipfile -e "$za" .)
	name=$(basename "$za" .zip)
	want="profswitch ${name#profswitch-}"
	want=${want%-windows}
	got=$("$3" "$4" "$work/unzip/x64/profswitch.exe" --version | tr -d '\r')
	if [ "$got" != "$want" ]; then
		echo "release: x64/profswitch.exe --version says '$got', not" \
			"'$want'"
		exit 1
	fi
	echo "release: x64/profswitch.exe --version under Wine: $got"
fi
