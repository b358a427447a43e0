#!/usr/bin/env bash
# Make the throw-away Wine prefix the Windows tests run in:
#   mkprefix.sh PREFIX [PROVIDER_DLL [STANDIN_EXE]]
# With PROVIDER_DLL (the fake MAPI provider, fakemapi.dll) it is
# registered exactly where a real Outlook installation is found:
# HKLM\Software\Clients\Mail (default) = FakeMAPI and
# HKLM\Software\Clients\Mail\FakeMAPI\DLLPathEx = the DLL's Windows path.
set -euo pipefail
prefix=$1
dll=${2:-}
command -v wine >/dev/null || { echo "wine is not installed" >&2; exit 77; }
export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$prefix"
# A killed earlier run may have left a half-made prefix.
if [ ! -f "$prefix/system.reg" ]; then
	wineboot -i >/dev/null 2>&1 || wine wineboot -i >/dev/null 2>&1
	wineserver -w
fi
if [ -n "$dll" ]; then
	winpath="Z:$(readlink -f "$dll" | tr / '\\')"
	wine reg add 'HKLM\Software\Clients\Mail' /ve /d FakeMAPI /f >/dev/null
	wine reg add 'HKLM\Software\Clients\Mail\FakeMAPI' /v DLLPathEx \
		/d "$winpath" /f >/dev/null
	wineserver -w
fi
# With the stand-in outlook.exe: start a window once under xvfb-run, so
# that Wine's first GUI start (its desktop process, fonts) is not paid by
# a scenario that waits for the stand-in.
standin=${3:-}
if [ -n "$standin" ] && command -v xvfb-run >/dev/null; then
	xvfb-run -a wine "$standin" --exit-after 0 >/dev/null 2>&1 || true
	# Its desktop belonged to that X display: a fresh server for the
	# tests (each stand-in scenario does the same when it ends).
	wineserver -k || true
	wineserver -w
fi
echo "wine prefix ready: $prefix${dll:+ (provider $dll)}"
