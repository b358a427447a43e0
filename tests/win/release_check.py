#!/usr/bin/env python3
"""Check a release zip made by ci/release.sh (tests/win/release_test.sh):
release_check.py ZIP SOURCE_DIR COMMIT BUILD_DIR...

- its name carries the version of CMakeLists.txt's project();
- its entries are exactly the layout docs/deploying.md shows (the first
  code block under "## The release zip"), in byte order, each dated with
  the commit's time, and the admin docs are there;
- SHA256SUMS lists every other entry with its right hash;
- COMMIT names the commit;
- the executables are PE files of the right machine and subsystem, with
  no link time stamp and no build folder named inside.
Prints what is wrong and exits 1; standard library only."""
import fnmatch
import hashlib
import os
import re
import struct
import subprocess
import sys
import time
import zipfile

ADMIN_DOCS = ["docs/deploying.md", "docs/formats.md", "docs/exit-codes.md",
              "docs/guards.md"]
# zip folder: (PE machine, name of the machine)
MACHINES = {"x64": (0x8664, "x86-64"), "x86": (0x14C, "i386")}
SUBSYSTEMS = {"profswitch.exe": (3, "console"),
              "profswitchw.exe": (2, "GUI")}

errors = []


def bad(msg):
    errors.append(msg)


def doc_layout(source):
    """The patterns of the layout block in docs/deploying.md."""
    text = open(os.path.join(source, "docs", "deploying.md"),
                encoding="utf-8").read()
    m = re.search(r"^## The release zip\n(.*?)^```[a-z]*\n(.*?)^```",
                  text, re.S | re.M)
    if not m:
        bad("docs/deploying.md: no code block under '## The release zip'")
        return []
    return [line.split()[0] for line in m.group(2).splitlines()
            if line.strip()]


def pe_info(data):
    """(machine, subsystem, time stamp) of a PE image."""
    if data[:2] != b"MZ":
        return None
    off = struct.unpack_from("<I", data, 0x3C)[0]
    if data[off:off + 4] != b"PE\0\0":
        return None
    machine, _, stamp = struct.unpack_from("<HHI", data, off + 4)
    subsystem = struct.unpack_from("<H", data, off + 24 + 68)[0]
    return machine, subsystem, stamp


def main():
    zpath, source, commit = sys.argv[1:4]
    builds = sys.argv[4:]
    cm = open(os.path.join(source, "CMakeLists.txt"), encoding="utf-8").read()
    version = re.search(r"project\(profswitch VERSION ([0-9.]+)", cm).group(1)
    want_name = "profswitch-%s-windows.zip" % version
    if os.path.basename(zpath) != want_name:
        bad("zip is named %s, not %s" % (os.path.basename(zpath), want_name))

    z = zipfile.ZipFile(zpath)
    infos = z.infolist()
    names = [i.filename for i in infos]
    if names != sorted(names, key=lambda s: s.encode()):
        bad("entries are not in byte order: %s" % names)
    if len(set(i.date_time for i in infos)) != 1:
        bad("entries carry different time stamps")
    stamp = subprocess.run(["git", "-C", source, "log", "-1", "--format=%ct",
                            commit], capture_output=True, text=True,
                           check=True).stdout.strip()
    when = time.gmtime(max(int(stamp), 315532800))[:6]
    when = when[:5] + (when[5] // 2 * 2,)   # zip keeps even seconds
    for i in infos:
        if i.date_time != when:
            bad("%s is dated %s, not the commit's %s" % (i.filename,
                                                         i.date_time, when))
            break

    patterns = doc_layout(source)
    for p in patterns:
        if not any(fnmatch.fnmatchcase(n, p) for n in names):
            bad("docs/deploying.md shows %s, which the zip lacks" % p)
    for n in names:
        hits = [p for p in patterns if fnmatch.fnmatchcase(n, p)]
        if len(hits) != 1:
            bad("%s in the zip matches %s of docs/deploying.md's layout"
                % (n, hits or "no line"))
    for d in ADMIN_DOCS + ["profswitch.ini", "SHA256SUMS", "COMMIT"]:
        if d not in names:
            bad("the zip lacks %s" % d)
    for folder in MACHINES:
        for exe in SUBSYSTEMS:
            if "%s/%s" % (folder, exe) not in names:
                bad("the zip lacks %s/%s" % (folder, exe))

    sums = {}
    for line in z.read("SHA256SUMS").decode().splitlines():
        h, n = line.split("  ", 1)
        sums[n] = h
    for n in names:
        if n == "SHA256SUMS":
            continue
        h = hashlib.sha256(z.read(n)).hexdigest()
        if sums.get(n) != h:
            bad("SHA256SUMS: %s is %s, listed as %s" % (n, h, sums.get(n)))
    for n in sums:
        if n not in names:
            bad("SHA256SUMS lists %s, which the zip lacks" % n)

    lines = z.read("COMMIT").decode().splitlines()
    if "commit " + commit not in lines:
        bad("COMMIT does not name %s: %s" % (commit, lines))
    if "profswitch " + version not in lines:
        bad("COMMIT does not name version %s: %s" % (version, lines))

    for n in names:
        folder, _, exe = n.partition("/")
        if folder not in MACHINES or not exe.endswith(".exe"):
            continue
        data = z.read(n)
        info = pe_info(data)
        if not info:
            bad("%s is not a PE image" % n)
            continue
        machine, subsystem, tstamp = info
        if machine != MACHINES[folder][0]:
            bad("%s is for machine 0x%x, not %s" % (n, machine,
                                                    MACHINES[folder][1]))
        if exe in SUBSYSTEMS and subsystem != SUBSYSTEMS[exe][0]:
            bad("%s has subsystem %d, not %s" % (n, subsystem,
                                                 SUBSYSTEMS[exe][1]))
        if tstamp:
            bad("%s carries a link time stamp (0x%x)" % (n, tstamp))
        for b in builds + [os.path.realpath(source)]:
            if b.encode() in data:
                bad("%s names the build path %s" % (n, b))
        if b"profswitch" not in data or version.encode() not in data:
            bad("%s does not hold its version %s" % (n, version))

    for e in errors:
        print("release: " + e)
    if errors:
        return 1
    print("release: %s: %d entries, layout of docs/deploying.md, "
          "SHA256SUMS and COMMIT right" % (want_name, len(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
