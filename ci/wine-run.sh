#!/usr/bin/env bash
# Run a Windows program of the build under Wine, in the build's own
# throw-away prefix:  wine-run.sh PREFIX PROGRAM [ARGS...]
# (CMAKE_CROSSCOMPILING_EMULATOR of the mingw presets).  The prefix is
# made by tests/win/mkprefix.sh (a ctest fixture) or here when missing.
set -euo pipefail
prefix=$1
shift
export WINEPREFIX=$prefix WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
if [ ! -f "$prefix/system.reg" ]; then
	"$(dirname "$0")/../tests/win/mkprefix.sh" "$prefix" >&2
fi
exec wine "$@"
