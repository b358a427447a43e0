#!/usr/bin/env python3
"""Benchmark: `profswitch rehearse` over a generated fleet, against the
floor of merely reading and decoding the same exports.

    python3 bench/rehearse.py [--users 3000] [--rows 100000]
                              [--exe build/release/profswitch] [--dir DIR]
                              [--runs 3] [--hives N]

Generates (once, in DIR) N users' UTF-16 exports from the scenario inputs
(samples/tools/mkfleet.py's same-length rename): one account
(basic-update), two accounts (multi-account-both) or an additional
mailbox (second-wave-delegate), and a mapping of ROWS rows (every user's
rows plus filler mailboxes).  Then it times, best of RUNS:

  floor:     cat DIR/exports/*.reg | iconv -f UTF-16LE -t UTF-8 >/dev/null
  rehearse:  profswitch rehearse DIR/exports --mapping ... -q --report X.csv
             (all cores, and --jobs 1)

and prints users per second, the ratio to the floor (target: at most 3)
and the peak resident memory of the rehearse process.  With --hives N it
also turns the first N exports into NTUSER.DAT hives (tests/mkhive.py,
when present) and rehearses those.  Not a test: it prints figures.
"""

import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "samples", "tools"))
import mkfleet  # noqa: E402

TEMPLATES = [  # (scenario, mapping file, share of users)
    ("basic-update", "mapping.puf", 6),
    ("multi-account-both", "mapping.csv", 2),
    ("second-wave-delegate", "mapping-wave1.puf", 2),
]
COLUMNS = ["SourceLegacyDN", "TargetLegacyDN", "TargetSMTP", "SourceSMTP", "TargetServer"]
SRC = "/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
TGT = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="


def name_of(i):
    """Five characters, like "alice": u + four base-36 digits."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    for _ in range(4):
        s = digits[i % 36] + s
        i //= 36
    return "u" + s


def generate(d, users, rows):
    exports = os.path.join(d, "exports")
    os.makedirs(exports, exist_ok=True)
    weights = [w for _, _, w in TEMPLATES]
    mapping = {}
    raw = {}
    for i in range(users):
        k, acc = i % sum(weights), 0
        for t, w in zip(TEMPLATES, weights):
            acc += w
            if k < acc:
                scenario, mfile, _ = t
                break
        name = name_of(i)
        subs = mkfleet.renames(name, scenario)
        if scenario not in raw:
            with open(os.path.join(mkfleet.SCEN, scenario, "HKCU.reg"), "rb") as f:
                raw[scenario] = f.read()
        with open(os.path.join(exports, name + ".reg"), "wb") as f:
            f.write(mkfleet.rename_export(raw[scenario], subs))
        head, mrows = mkfleet.mapping_rows(scenario, mfile, subs)
        for r in mrows:
            full = dict(zip(head, r))
            line = [full.get(c, "") for c in COLUMNS]
            mapping.setdefault(line[0].lower(), line)
    n = 0
    while len(mapping) < rows:
        cn = "filler%06d" % n
        mapping[(SRC + cn).lower()] = [SRC + cn, TGT + "f%06d-" % n + cn,
                                       cn + "@contoso.com", cn + "@fabrikam.com",
                                       "outlook.office365.com"]
        n += 1
    with open(os.path.join(d, "mbm.puf"), "w", encoding="utf-8", newline="") as f:
        f.write("|".join(COLUMNS) + "\r\n")
        for key in sorted(mapping):
            f.write("|".join(mapping[key]) + "\r\n")
    with open(os.path.join(d, "profswitch.ini"), "w", newline="") as f:
        f.write(mkfleet.CONFIG)
    with open(os.path.join(d, "stamp"), "w") as f:
        f.write("%d %d\n" % (users, rows))


def timed(cmd, shell=False):
    """Wall seconds and peak RSS (KiB) of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode >= 64 or p.returncode < 0:
        sys.exit("command failed (%d): %s\n%s" % (p.returncode, cmd, err))
    return secs, ru.ru_maxrss


def best(cmd, runs, shell=False):
    results = [timed(cmd, shell) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "release", "profswitch"))
    ap.add_argument("--dir", default="/tmp/ps-bench-rehearse")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hives", type=int, default=0)
    a = ap.parse_args()
    stamp = os.path.join(a.dir, "stamp")
    if not os.path.exists(stamp) or open(stamp).read() != "%d %d\n" % (a.users, a.rows):
        print("generating %d users and a %d-row mapping in %s ..." % (a.users, a.rows, a.dir))
        generate(a.dir, a.users, a.rows)
    exports = os.path.join(a.dir, "exports")
    size = sum(os.path.getsize(os.path.join(exports, f)) for f in os.listdir(exports))
    print("inputs: %d exports, %.1f MiB; mapping %d rows; %d cores"
          % (a.users, size / 1048576, a.rows, os.cpu_count()))
    floor, _ = best("cat %s/*.reg | iconv -f UTF-16LE -t UTF-8 >/dev/null" % exports,
                    a.runs, shell=True)
    print("%-34s %8.3f s" % ("floor (cat | iconv)", floor))
    base = [a.exe, "rehearse", exports, "--mapping", os.path.join(a.dir, "mbm.puf"),
            "--config", os.path.join(a.dir, "profswitch.ini"), "-q",
            "--report", os.path.join(a.dir, "fleet.csv")]
    idx = os.path.join(a.dir, "mbm.idx")
    subprocess.run([a.exe, "mapping", "compile", os.path.join(a.dir, "mbm.puf"), "-o", idx],
                   check=True, stdout=subprocess.DEVNULL)
    compiled = [a.exe, "rehearse", exports, "--mapping", idx, "--config",
                os.path.join(a.dir, "profswitch.ini"), "-q", "--report",
                os.path.join(a.dir, "fleet-idx.csv")]
    for label, cmd in [("rehearse, all cores", base), ("rehearse, --jobs 1", base + ["--jobs", "1"]),
                       ("rehearse, compiled mapping", compiled)]:
        secs, rss = best(cmd, a.runs)
        print("%-34s %8.3f s  %7.0f users/s  %5.2fx floor  peak %6.1f MiB"
              % (label, secs, a.users / secs, secs / floor, rss / 1024))
    # The mapping alone: what every rehearsal pays before the first user.
    one = os.path.join(a.dir, "one")
    os.makedirs(one, exist_ok=True)
    first = sorted(os.listdir(exports))[0]
    link = os.path.join(one, first)
    if not os.path.exists(link):
        with open(os.path.join(exports, first), "rb") as s, open(link, "wb") as d:
            d.write(s.read())
    secs, rss = best([a.exe, "rehearse", one, "--mapping", os.path.join(a.dir, "mbm.puf"),
                      "-q"], a.runs)
    print("%-34s %8.3f s                      peak %6.1f MiB"
          % ("one user (mapping load)", secs, rss / 1024))
    if a.hives:
        mkhive = os.path.join(ROOT, "tests", "mkhive.py")
        if not os.path.exists(mkhive):
            print("hives: tests/mkhive.py not found, skipped")
            return
        hives = os.path.join(a.dir, "hives")
        names = sorted(os.listdir(exports))[:a.hives]
        for n in names:
            out = os.path.join(hives, n[:-4], "NTUSER.DAT")
            if not os.path.exists(out):
                os.makedirs(os.path.dirname(out), exist_ok=True)
                subprocess.run([sys.executable, mkhive, os.path.join(exports, n), out], check=True,
                               stdout=subprocess.DEVNULL)
        hsize = sum(os.path.getsize(os.path.join(hives, n[:-4], "NTUSER.DAT")) for n in names)
        secs, rss = best([a.exe, "rehearse", hives, "--mapping", os.path.join(a.dir, "mbm.puf"),
                          "--config", os.path.join(a.dir, "profswitch.ini"), "-q",
                          "--report", os.path.join(a.dir, "hives.csv")], a.runs)
        rsecs, _ = best([a.exe, "rehearse"] + [os.path.join(exports, n) for n in names] +
                        ["--mapping", os.path.join(a.dir, "mbm.puf"), "--config",
                         os.path.join(a.dir, "profswitch.ini"), "-q"], a.runs)
        print("%-34s %8.3f s  %7.0f users/s  (the same users' exports: %.3f s)  "
              "%.1f MiB of hives  peak %6.1f MiB"
              % ("rehearse %d hives" % len(names), secs, len(names) / secs, rsecs,
                 hsize / 1048576, rss / 1024))


if __name__ == "__main__":
    main()
