#!/usr/bin/env bash
# (Re)write the hive fuzz seeds tests/fuzz/seeds/hive/ from scenario
# exports with tests/mkhive.py (an empty hive filled by hivexregedit
# --merge; the output depends only on the input, so ci/check-scenarios.sh
# can check the committed seeds are what this writes).  Usage:
# mkhiveseeds.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-tests/fuzz/seeds/hive}
mkdir -p "$out"
rm -f "$out"/*.dat
python3 tests/mkhive.py --empty "$out/empty.dat"
for s in basic-update unicode-profile-name gpo-cached-mode-enforced \
	multi-account-both outlook2013-legacy-profile exchange-online-archive \
	reg-binary-strings; do
	python3 tests/mkhive.py "scenarios/$s/HKCU.reg" "$out/$s.dat"
done
