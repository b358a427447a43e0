#!/usr/bin/env bash
# Run a command and check its exit status and that its stderr holds a text:
#   expect_run.sh STATUS TEXT COMMAND [ARGS...]
set -uo pipefail
want=$1 text=$2
shift 2
err=$(mktemp)
"$@" >/dev/null 2>"$err"
got=$?
cat "$err" >&2
if [ "$got" -ne "$want" ]; then
	echo "exit status $got, expected $want: $*" >&2
	rm -f "$err"
	exit 1
fi
if ! grep -q -F -- "$text" "$err"; then
	echo "stderr lacks '$text'" >&2
	rm -f "$err"
	exit 1
fi
rm -f "$err"
echo "exit $got and '$text' as expected"
