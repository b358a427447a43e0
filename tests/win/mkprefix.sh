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
# No server left from earlier tests: theirs is persistent (wine-run.sh),
# so each `wineserver -w` below would wait a minute for it.
wineserver -k 2>/dev/null || true
wineserver -w 2>/dev/null || true
# A killed earlier run may have left a half-made prefix.
if [ ! -f "$prefix/system.reg" ]; then
	wineboot -i >/dev/null 2>&1 || wine wineboot -i >/dev/null 2>&1
	wineserver -w
fi
# The prefix's user keeps her files where the scenarios' registries say:
# %LOCALAPPDATA% is C:\Users\alice\AppData\Local (Wine's own default
# is C:\users\<Unix user>\...).  Wine's SHGetKnownFolderPath answers
# with this value only while the folder exists.
mkdir -p "$prefix/drive_c/users/alice/AppData/Local"
wine reg add 'HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders' \
	/v 'Local AppData' /t REG_EXPAND_SZ /d 'C:\Users\alice\AppData\Local' \
	/f >/dev/null
wineserver -w
# In both registry views: a 64-bit exe reads HKLM\Software, a 32-bit one
# HKLM\Software\Wow6432Node, and plain `wine reg` is the 32-bit reg.exe
# (writing to Wow6432Node) as soon as wine32 is installed.
if [ -n "$dll" ]; then
	winpath="Z:$(readlink -f "$dll" | tr / '\\')"
	for view in 64 32; do
		wine reg add 'HKLM\Software\Clients\Mail' /ve /d FakeMAPI \
			/f /reg:$view >/dev/null
		wine reg add 'HKLM\Software\Clients\Mail\FakeMAPI' \
			/v DLLPathEx /d "$winpath" /f /reg:$view >/dev/null
	done
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
