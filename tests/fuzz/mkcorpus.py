#!/usr/bin/env python3
"""(Re)write the seed corpora tests/fuzz/corpus/<target>/ from the
scenario inputs and tests/data, one file per distinct input named by its
SHA-1 (files over 256 KiB are left out: libFuzzer's -max_len would cut
them anyway).  Hand-written seeds live in tests/fuzz/seeds/<target>/ and
are copied too.  Standard library only; deterministic."""
import glob
import hashlib
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
MAX = 256 * 1024

SOURCES = {
    "reg": ["scenarios/*/HKCU.reg", "scenarios/*/expect/*.reg", "tests/data/reg/*"],
    "mapping": ["scenarios/*/mapping*", "tests/data/mapping/*"],
    "ini": ["scenarios/*/config.ini", "scenarios/*/autodiscover/server.ini", "tests/data/config/*"],
    # Hive seeds: tests/fuzz/mkhiveseeds.sh writes them to seeds/hive/;
    # tests/data/hive holds damaged hives fuzz_hive found (test_hive).
    "hive": ["tests/data/hive/*"],
    # Compiled mappings: only the seeds (the scenario mappings compiled
    # with "profswitch mapping compile", committed).
    "mapidx": [],
    # Backup generations: the 01026fNN values of the scenarios' expected
    # registries (extracted below).
    "backup": [],
    # Autodiscover v2 answers (core/json.c)
    "json": ["scenarios/*/autodiscover/*.json"],
    # Reports of update, rehearse and fleet (profswitch fleet reads them).
    "report": ["tests/data/report/*"],
    "autodiscover": ["scenarios/*/autodiscover/*.xml",
                     "scenarios/*/files/Users/*/AppData/Local/Microsoft/Outlook/*.xml"],
}

def backup_blobs():
    """The bytes of every backup generation value (01026fNN) in the
    scenarios' expected exports (.reg text, UTF-16LE or Windows-1252)."""
    out = []
    for f in sorted(glob.glob(os.path.join(TOP, "scenarios/*/expect/*.reg"))):
        raw = open(f, "rb").read()
        text = raw[2:].decode("utf-16-le") if raw[:2] == b"\xff\xfe" else raw.decode("cp1252")
        text = text.replace("\\\r\n  ", "")
        for line in text.split("\r\n"):
            if line.lower().startswith('"01026f') and "=hex:" in line:
                out.append(bytes.fromhex(line.split("=hex:", 1)[1].replace(",", "")))
    return out


for target, patterns in SOURCES.items():
    out = os.path.join(HERE, "corpus", target)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    files = []
    for pat in patterns:
        files += glob.glob(os.path.join(TOP, pat))
    files += glob.glob(os.path.join(HERE, "seeds", target, "*"))
    blobs = [open(f, "rb").read() for f in sorted(files)
             if os.path.isfile(f) and os.path.getsize(f) <= MAX]
    if target == "backup":
        blobs += [b for b in backup_blobs() if len(b) <= MAX]
    for data in blobs:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as w:
            w.write(data)
