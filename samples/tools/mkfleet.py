#!/usr/bin/env python3
"""Generate the bundled sample fleet: a few dozen users' exported profiles
for `profswitch rehearse` (README's main job), with hand-derived
expectations.

Standard library only.  Run from anywhere:

    python3 samples/tools/mkfleet.py [OUTDIR]     (default: samples/)

It (re)writes OUTDIR/fleet/<site>/<user>.reg, OUTDIR/fleet-mapping.puf,
OUTDIR/fleet.ini and OUTDIR/fleet-expected.csv.  Output is deterministic;
ci/check-scenarios.sh checks that the committed files are what it writes.

How the users are made
----------------------
Every user is a copy of one scenario's input export (scenarios/NAME/HKCU.reg)
in which the scenario's user "alice" is renamed to another five-letter name
(same length, so no binary structure in the profile changes size: entry
IDs, backup blobs).  The rename is done on the decoded value bytes (UTF-16LE
and 8-bit spellings) and on the text; the mapping rows of the scenario are
renamed the same way.

How the expectations are made
-----------------------------
Nothing here runs profswitch.  A user's expected rows are the scenario's
own hand-derived expectations (its `[Step 1]` Row lines), renamed, with
`updated` read as `would-update` because a rehearsal is a dry run.  Three
users have no scenario rows, and their single row is the rule of
docs/rehearsal.md: a truncated export is `failed`, an export with no
Outlook profile and a profile with no Exchange account are `not-migrated`.
"""

import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCEN = os.path.join(ROOT, "scenarios")
sys.path.insert(0, os.path.join(SCEN, "tools"))
from mkscen import _render_hex  # noqa: E402  (regedit's hex wrapping)

NAMES = [
    "bruno", "chloe", "diego", "emily", "fiona", "grace", "henry", "irene",
    "jacob", "karen", "laura", "maria", "nancy", "oscar", "peter", "quinn",
    "rosie", "sarah", "tanya", "ulric", "vince", "wendy", "xenia", "yusuf",
    "zelda", "aaron", "bella", "cliff", "diana", "ethan", "felix", "gemma",
    "harry", "isaac", "james", "kevin", "lucas", "mason", "nolan", "olive",
]

# (scenario, mapping file, how many users, site)
PLAN = [
    ("basic-update", "mapping.puf", 8, "hq"),
    ("basic-update", "mapping.puf", 6, "branch-north"),
    ("multi-account-one", "mapping.puf", 3, "hq"),
    ("multi-account-both", "mapping.csv", 2, "branch-south"),
    ("second-wave-delegate", "mapping-wave1.puf", 3, "branch-north"),
    ("unicode-profile-name", "mapping.puf", 1, "branch-south"),
    ("outlook2013-legacy-profile", "mapping.puf", 1, "branch-south"),
    ("regedit4-export", "mapping.tsv", 1, "hq"),
    ("already-updated", "mapping.puf", 4, "hq"),
    ("not-migrated", "mapping.puf", 2, "branch-north"),
    ("pst-only", "mapping.puf", 1, "branch-south"),
    ("ambiguous", "mapping.puf", 1, "hq"),
    ("gpo-forceostpath-vs-rename", "mapping.puf", 2, "branch-south"),
    ("autodiscover-poisoned-detect", "mapping.puf", 2, "hq"),
    ("truncated-export", None, 1, "branch-north"),
    ("exchange-online-archive", "mapping.puf", 1, "branch-south"),
]

# The fleet's configuration: OST=rename is what the GPO users' policy
# forbids (scenario gpo-forceostpath-vs-rename).
CONFIG = ("[Settings]\r\nProfiles=all\r\nOutlookRunning=defer\r\nOST=rename\r\n"
          "ResetOAB=1\r\nCachedMode=keep\r\n")

NO_OUTLOOK = ("Windows Registry Editor Version 5.00\r\n\r\n"
              "[HKEY_CURRENT_USER\\Software\\Fabrikam]\r\n"
              "\"Theme\"=\"dark\"\r\n\r\n")

HEX_LINE = re.compile(r'^((?:"(?:[^"\\]|\\.)*"|@)=hex(?:\([0-9a-f]+\))?:)(.*)$')


# A shared mailbox one template migrates and another does not: in one
# fleet with one mapping it must be two mailboxes.
EXTRA = {"multi-account-both": [("sales", "shops"), ("Sales", "Shops")]}


def renames(name, scenario=""):
    return [("alice", name), ("Alice", name.capitalize())] + EXTRA.get(scenario, [])


def rename_bytes(data, subs, wide_too=True):
    for old, new in subs:
        assert len(old) == len(new)
        if wide_too:
            data = data.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
        data = data.replace(old.encode("ascii"), new.encode("ascii"))
    return data


def rename_text(text, subs):
    for old, new in subs:
        text = text.replace(old, new)
    return text


def rename_export(raw, subs):
    """A renamed copy of a `reg export` file, in its own encoding."""
    if raw.startswith(b"\xff\xfe"):
        text, enc = raw[2:].decode("utf-16-le"), "utf-16-le"
    else:
        text, enc = raw.decode("cp1252"), "cp1252"
    joined = text.replace("\\\r\n  ", "")
    out = []
    for line in joined.split("\r\n"):
        m = HEX_LINE.match(line)
        if m and m.group(2):
            data = bytes.fromhex(m.group(2).replace(",", ""))
            line = _render_hex(rename_text(m.group(1), subs), rename_bytes(data, subs))
        else:
            line = rename_text(line, subs)
        out.append(line)
    text = "\r\n".join(out)
    if enc == "utf-16-le":
        return b"\xff\xfe" + text.encode(enc)
    return text.encode(enc)


def step1_rows(scenario):
    rows, step = [], None
    with open(os.path.join(SCEN, scenario, "scenario.ini"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                step = line
            elif step == "[Step 1]" and line.startswith("Row"):
                profile, account, status = [x.strip() for x in line.split("=", 1)[1].split("|")]
                rows.append((profile, account, "would-update" if status == "updated" else status))
    return rows


def mapping_rows(scenario, fname, subs):
    """(header, [rows]) of a scenario's mapping, renamed, '|' delimited."""
    with open(os.path.join(SCEN, scenario, fname), "rb") as f:
        text = f.read().decode("utf-8-sig")
    lines = [l for l in text.replace("\r\n", "\n").split("\n") if l.strip()]
    if fname.endswith(".csv"):
        rows = list(csv.reader(lines))
    else:
        delim = "\t" if "\t" in lines[0] else "|"
        rows = [l.split(delim) for l in lines]
    if rows[0][0].startswith("/"):   # no header: the positional columns
        rows.insert(0, ["SourceLegacyDN", "TargetLegacyDN", "TargetSMTP", "TargetServer"])
    return rows[0], [[rename_text(c, subs) for c in r] for r in rows[1:]]


def main():
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "samples")
    fleet = os.path.join(out, "fleet")
    names = iter(NAMES)
    columns = ["SourceLegacyDN", "TargetLegacyDN", "TargetSMTP", "SourceSMTP", "TargetServer"]
    mapping = {}          # source DN (lower) -> row
    expected = []         # (user, profile, account, status)
    files = {}
    for scenario, mfile, count, site in PLAN:
        for _ in range(count):
            name = next(names)
            subs = renames(name, scenario)
            with open(os.path.join(SCEN, scenario, "HKCU.reg"), "rb") as f:
                raw = f.read()
            rel = os.path.join(site, name + ".reg")
            if mfile is None:
                files[rel] = raw     # the broken export stays as it is
                expected.append((name, "", "", "failed"))
                continue
            files[rel] = rename_export(raw, subs)
            head, rows = mapping_rows(scenario, mfile, subs)
            for r in rows:
                full = dict(zip(head, r))
                line = [full.get(c, "") for c in columns]
                key = line[0].lower()
                have = mapping.setdefault(key, line)
                for i, v in enumerate(line):   # columns one file lacks
                    assert not (have[i] and v) or have[i] == v, ("conflict", line)
                    have[i] = have[i] or v
            rows = [(p, rename_text(a, subs), s) for p, a, s in step1_rows(scenario)]
            if not rows:
                rows = [("", "", "not-migrated")]
            expected += [(name,) + r for r in rows]
    name = next(names)
    files[os.path.join("hq", name + ".reg")] = b"\xff\xfe" + NO_OUTLOOK.encode("utf-16-le")
    expected.append((name, "", "", "not-migrated"))

    os.makedirs(fleet, exist_ok=True)
    for rel, data in files.items():
        path = os.path.join(fleet, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    with open(os.path.join(out, "fleet-mapping.puf"), "w", encoding="utf-8", newline="") as f:
        f.write("|".join(columns) + "\r\n")
        for key in sorted(mapping):
            f.write("|".join(mapping[key]) + "\r\n")
    with open(os.path.join(out, "fleet.ini"), "w", encoding="utf-8", newline="") as f:
        f.write(CONFIG)
    # In the order rehearse reports: inputs sorted by path.
    order = {n: os.path.join(fleet, rel) for rel in files for n in [os.path.basename(rel)[:-4]]}
    expected.sort(key=lambda r: order[r[0]])   # stable: rows of a user keep their order
    with open(os.path.join(out, "fleet-expected.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("user,profile,account,status\n")
        for r in expected:
            f.write(",".join(r) + "\n")


if __name__ == "__main__":
    main()
