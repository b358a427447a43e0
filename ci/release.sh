#!/usr/bin/env bash
# The Windows release, dist/profswitch-VERSION-windows.zip:
#   ci/release.sh [--build-dir DIR] [--out DIR] [--commit REV]
# x64/ and x86/ (profswitch.exe, profswitchw.exe), the annotated sample
# profswitch.ini, the docs (docs/*.md), SHA256SUMS and COMMIT; the layout
# is the one docs/deploying.md shows.
#
# It builds the committed sources of one commit (git archive; HEAD
# unless --commit), never the working tree, so the zip is that commit's
# whatever else is lying around.  Reproducible: two runs on the same commit give the same bytes,
# whatever the build folder (tests/win/release_test.sh checks it): every
# time stamp is the commit's (SOURCE_DATE_EPOCH), entries are sorted,
# -ffile-prefix-map keeps build paths out of the executables, which are
# stripped and carry no link time (--no-insert-timestamp).
# Needs git, cmake, Debian's mingw-w64 compilers and python3
# (ci/install-deps.sh).  Default folders: build/release, dist.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=$top/build/release
out=$top/dist
rev=HEAD
while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--commit) rev=$2; shift 2 ;;
	*)
		echo "usage: ci/release.sh [--build-dir DIR] [--out DIR]" \
			"[--commit REV]" >&2
		exit 64
		;;
	esac
done
build=$(realpath -m "$build")
out=$(realpath -m "$out")
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

if ! commit=$(git rev-parse --verify -q "$rev^{commit}"); then
	echo "release: no commit $rev here (the release is built from a" \
		"commit of this git checkout)" >&2
	exit 1
fi
if [ "$rev" = HEAD ] &&
	[ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "release: note: uncommitted changes are not in the release;" \
		"it is built from HEAD ($commit)" >&2
fi
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct "$commit")
export SOURCE_DATE_EPOCH
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

rm -rf "$build"
src=$build/src
mkdir -p "$src"
git archive --format=tar "$commit" | tar -x -C "$src"
version=$(sed -n 's/^project(profswitch VERSION \([0-9.]*\).*/\1/p' \
	"$src/CMakeLists.txt")
if [ -z "$version" ]; then
	echo "release: no version in CMakeLists.txt's project()" >&2
	exit 1
fi
name=profswitch-$version-windows
echo "release: $name from $commit ($date)"

# arch folder in the zip : toolchain file
for pair in x64:mingw64 x86:mingw32; do
	arch=${pair%%:*}
	tc=${pair#*:}
	echo "== $arch ($tc)"
	cmake -S "$src" -B "$build/$arch" \
		-DCMAKE_TOOLCHAIN_FILE="$src/ci/$tc.cmake" \
		-DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
		-DCMAKE_C_FLAGS="-ffile-prefix-map=$src=. -ffile-prefix-map=$build=." \
		-DCMAKE_EXE_LINKER_FLAGS="-s -Wl,--no-insert-timestamp" \
		-DPS_TESTS=OFF -DPS_WERROR=ON >"$build/$arch.configure.log"
	cmake --build "$build/$arch" -j "$jobs" --target profswitch \
		profswitchw >"$build/$arch.build.log"
done

stage=$build/stage
mkdir -p "$stage/x64" "$stage/x86" "$stage/docs"
for arch in x64 x86; do
	for exe in profswitch.exe profswitchw.exe; do
		install -m 644 "$build/$arch/$exe" "$stage/$arch/$exe"
		# No build path may be left in what ships.
		if grep -q -a -F -e "$build" -e "$src" "$stage/$arch/$exe"; then
			echo "release: $arch/$exe holds a build path" >&2
			exit 1
		fi
	done
done
install -m 644 "$src/samples/profswitch.ini" "$stage/profswitch.ini"
install -m 644 "$src"/docs/*.md "$stage/docs/"
printf 'profswitch %s\ncommit %s\ndate %s\n' "$version" "$commit" "$date" \
	>"$stage/COMMIT"
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
	xargs sha256sum) >"$build/SHA256SUMS"
mv "$build/SHA256SUMS" "$stage/SHA256SUMS"

# The zip: entries in byte order, each dated with the commit's time (zip
# stores local time without a zone: UTC here), the same mode, deflated.
mkdir -p "$out"
zip=$out/$name.zip
python3 - "$stage" "$zip.tmp" "$SOURCE_DATE_EPOCH" <<'EOF'
import os
import sys
import time
import zipfile

stage, dest, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
when = time.gmtime(max(epoch, 315532800))[:6]   # zip starts at 1980
names = []
for root, dirs, files in os.walk(stage):
    for f in files:
        path = os.path.join(root, f)
        names.append(os.path.relpath(path, stage).replace(os.sep, "/"))
with zipfile.ZipFile(dest, "w") as z:
    for n in sorted(names, key=lambda s: s.encode()):
        info = zipfile.ZipInfo(n, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        with open(os.path.join(stage, n), "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
EOF
mv "$zip.tmp" "$zip"
touch -d "@$SOURCE_DATE_EPOCH" "$zip"
echo "release: $zip"
sha256sum "$zip"
