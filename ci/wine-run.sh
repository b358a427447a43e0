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
# One wine server for the whole test run: started persistent (60 s after
# its last client), so that a test starting while a lingering server
# shuts down never meets "Connection reset by peer".
# A server started here gets its helper processes (services, device
# drivers) now, from a wine run whose output goes nowhere: otherwise they
# inherit the first test's output pipe, and the test seems to last until
# the server ends 60 s later.
if wineserver -p60 >/dev/null 2>&1; then
	wine wineboot </dev/null >/dev/null 2>&1 || true
fi
exec wine "$@"
