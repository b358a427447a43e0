#!/usr/bin/env python3
"""profswitch on registry hives written by real Outlook (CTest label `real`).

    real_profiles.py --exe PROFSWITCH --data DIR --work DIR CASE

DIR is the folder of real hives kept beside the source tree (one
sub-folder per hive, each with its PROVENANCE.txt); CI runs from a fresh
clone with a copy of that folder beside it.  A missing folder FAILS the
test (it is never skipped): without it these tests prove nothing.

CASE is NAME.FORM.  NAME is one of the hives below; FORM is `hive` (the
NTUSER.DAT itself, copied into the build folder, the .xz decompressed
there), `reg` (a `.reg` export made from that copy by this script in
regedit's own format: UTF-16LE with BOM, CRLF, the version 5 header,
`hex:` for REG_BINARY, `"text"` for REG_SZ, `dword:`, hex lines wrapped
as regedit wraps them) or `file` (the Windows 9x file as it is).  The
profile store is never read by profswitch to check profswitch: every
check reads the file with an independent reader, `hivexregedit --export`
for a hive and the small .reg parser below for an export.

  cfreds    Outlook 2013, Exchange Online account with an Online Archive:
            inspect labels the archive; update --dry-run changes nothing;
            update repoints the primary and the archive, leaves no source
            DN, server or SMTP address in the Exchange service's sections
            and nothing else changed; a second update changes no byte;
            rollback --all gives back the original (the same full export
            for a hive, the same bytes for a .reg); cleanup; rehearse.
  srl-nfury, notatin
            Outlook 2010, PST only (Windows Messaging Subsystem): every
            command leaves the file byte for byte, update says there is no
            Exchange account.
  regipy    Outlook 2016, PST only, hive not cleanly unloaded: inspect
            reads it with a warning, update/rollback/cleanup refuse it,
            rehearse warns in the row.  Its .reg export is PST only.
  win9x     a Windows 9x CREG file: refused as "Windows 9x registry
            file: not supported" by every command.

Every check runs even after one failed; the end lists what failed.
Standard library only (and hivexregedit, from libwin-hivex-perl).
"""

import argparse
import csv
import lzma
import os
import re
import shutil
import subprocess
import sys

HKCU = "HKEY_CURRENT_USER"
HDR5 = "Windows Registry Editor Version 5.00"
BACKUP = "70726f66737769746368000000000b01"

CASES = {
    "cfreds": ("cfreds-data-leakage-informant-ntuser/ntuser.dat",
               "informant", "exchange"),
    "srl-nfury": ("srl-nfury-win7-ntuser/NTUSER-WIN7.DAT", "nfury", "pst"),
    "notatin": ("notatin-win7-ntuser/win7_ntuser.dat", "jmroberts", "pst"),
    "regipy": ("regipy-ntuser-bagmru/NTUSER_BAGMRU.DAT.xz", "tony",
               "dirty"),
    "win9x": ("dfwinreg-win9x-system-dat/SYSTEM.DAT", None, "win9x"),
}

# The cfreds Exchange Online profile (Outlook 2013).
PROFILE = r"Software\Microsoft\Office\15.0\Outlook\Profiles\Outlook"
SRC_DN = ("/o=ExchangeLabs/ou=Exchange Administrative Group "
          "(FYDIBOHF23SPDLT)/cn=Recipients/"
          "cn=25fb3fee58f74a5497f8807234114f65-iaman")
SRC_SMTP = "iaman.informant@nist.gov"
SRC_SERVER = "1b788828-c8a2-4681-bf6f-b1df9935415b@nist.gov"
TGT_DN = ("/o=ExchangeLabs/ou=Exchange Administrative Group "
          "(FYDIBOHF23SPDLT)/cn=Recipients/"
          "cn=0a1b2c3d4e5f40718293a4b5c6d7e8f9-iaman")
TGT_SMTP = "iaman.informant@contoso.com"
TGT_SERVER = "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9@contoso.com"
ARCHIVE_GUID = "490c6357-7637-4191-9a67-5201a6d3e8c3"
SERVICE = "0aeb16781daa4b44a4a43d16af0f7ca1"
EMSMDB = "fc39fbc8c85bcb43816b40b7d4c72f22"
PRIMARY = "5cb8758229e3d24396af67a1c502bdb0"
ARCHIVE = "56d8041215c62c4fac5239137cf26a3f"
TRANSPORT = "afbe758063d12f4393acc8ea281fa6f9"
ADDRBOOK = "2252ee36156f3d4ba0373d411296f1c6"
EXCHANGE_SECTIONS = (SERVICE, EMSMDB, PRIMARY, ARCHIVE, TRANSPORT, ADDRBOOK)


class Checks:
    def __init__(self):
        self.failed = []
        self.n = 0

    def check(self, ok, what, detail=""):
        self.n += 1
        if ok:
            print("ok:   " + what)
            return True
        self.failed.append(what)
        print("FAIL: " + what + (("\n      " + detail.replace(
            "\n", "\n      ")) if detail else ""))
        return False

    def finish(self):
        print()
        if self.failed:
            print("%d of %d checks failed:" % (len(self.failed), self.n))
            for f in self.failed:
                print("  - " + f)
            return 1
        print("all %d checks passed" % self.n)
        return 0


# ---- the registry as an independent reader sees it ----------------------

class Tree:
    """Keys by path relative to the user hive's root ("" is the root), in
    file order; each a list of (name, type, bytes) in file order."""

    def __init__(self):
        self.keys = {}
        self.order = []

    def key(self, path):
        k = path.lower()
        if k not in self.keys:
            self.keys[k] = (path, [])
            self.order.append(k)
        return self.keys[k][1]

    def get(self, path):
        k = self.keys.get(path.lower())
        return k[1] if k else None


def unescape_name(s, i):
    """s[i] is an opening quote: the unescaped text and the index after
    the closing quote."""
    out = []
    i += 1
    while s[i] != '"':
        if s[i] == "\\":
            i += 1
        out.append(s[i])
        i += 1
    return "".join(out), i + 1


def parse_value(tree_vals, line):
    if line.startswith("@="):
        name, rest = "", line[2:]
    else:
        name, j = unescape_name(line, 0)
        assert line[j] == "=", line
        rest = line[j + 1:]
    if rest.startswith('"'):
        text, j = unescape_name(rest, 0)
        assert not rest[j:].strip(), line
        tree_vals.append((name, 1, (text + "\0").encode("utf-16-le")))
    elif rest.startswith("dword:"):
        tree_vals.append((name, 4, int(rest[6:], 16).to_bytes(4, "little")))
    else:
        m = re.match(r"hex(?:\(([0-9a-fA-F]+)\))?:(.*)$", rest)
        assert m, line
        typ = int(m.group(1), 16) if m.group(1) else 3
        hexes = m.group(2).replace(" ", "")
        data = bytes(int(h, 16) for h in hexes.split(",")) if hexes else b""
        tree_vals.append((name, typ, data))


def parse_export(text):
    """hivexregedit --export output or a regedit .reg (continuations
    joined): a Tree."""
    t = Tree()
    lines = text.replace("\r\n", "\n").split("\n")
    assert lines[0] == HDR5, "not a version 5 export: %r" % lines[0][:40]
    cur = None
    i = 1
    while i < len(lines):
        line = lines[i]
        i += 1
        while line.endswith("\\") and not line.startswith("["):
            line = line[:-1] + lines[i].lstrip(" ")
            i += 1
        if not line:
            continue
        if line.startswith("["):
            path = line[1:line.rindex("]")]
            if path.startswith("\\"):
                path = path[1:]
            elif path == HKCU or path.startswith(HKCU + "\\"):
                path = path[len(HKCU) + 1:]
            cur = t.key(path)
            continue
        parse_value(cur, line)
    return t


def hivex_export_text(path):
    env = dict(os.environ, PERL_UNICODE="O")
    p = subprocess.run(["hivexregedit", "--export", path, "\\"], env=env,
                       capture_output=True)
    if p.returncode:
        raise RuntimeError("hivexregedit --export %s failed: %s"
                           % (path, p.stderr.decode(errors="replace")))
    return p.stdout.decode("utf-8")


def read_store(path, form):
    if form == "reg":
        data = open(path, "rb").read()
        assert data[:2] == b"\xff\xfe", "no UTF-16LE BOM"
        return parse_export(data[2:].decode("utf-16-le"))
    return parse_export(hivex_export_text(path))


# ---- a .reg export in regedit's format ---------------------------------

def reg_escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def units(s):
    return len(s.encode("utf-16-le")) // 2


def clean_string(data):
    """The text when REG_SZ data is one string regedit writes as
    "text": valid UTF-16LE, one NUL at the end, no NUL or line break."""
    if len(data) < 2 or len(data) % 2 or data[-2:] != b"\0\0":
        return None
    try:
        text = data[:-2].decode("utf-16-le")
    except UnicodeDecodeError:
        return None
    if any(c in text for c in "\0\r\n"):
        return None
    return text


def hex_value(head, typ, data):
    """regedit's hex form: after each byte but the last a comma; when the
    line has reached 77 columns, a backslash and a new line that starts
    with two spaces (so no line passes 80 columns)."""
    out = [head + ("hex:" if typ == 3 else "hex(%x):" % typ)]
    col = units(out[0])
    for i, b in enumerate(data):
        out.append("%02x" % b)
        if i + 1 == len(data):
            break
        out.append(",")
        col += 3
        if col >= 77:
            out.append("\\\r\n  ")
            col = 2
    return "".join(out)


def to_regedit(tree):
    lines = [HDR5, ""]
    for k in tree.order:
        path, vals = tree.keys[k]
        lines.append("[%s]" % (HKCU + ("\\" + path if path else "")))
        for name, typ, data in vals:
            head = "@=" if name == "" else '"%s"=' % reg_escape(name)
            text = clean_string(data) if typ == 1 else None
            if text is not None:
                lines.append(head + '"%s"' % reg_escape(text))
            elif typ == 4 and len(data) == 4:
                lines.append(head + "dword:%08x"
                             % int.from_bytes(data, "little"))
            else:
                lines.append(hex_value(head, typ, data))
        lines.append("")
    return b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")


# ---- running profswitch ----------------------------------------------------

class Run:
    def __init__(self, args, work):
        self.exe = args.exe
        self.work = work

    def __call__(self, *argv):
        cmd = [self.exe] + list(argv)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           errors="replace")
        print("$ " + " ".join(cmd))
        print("  exit %d" % p.returncode)
        for name, s in (("stdout", p.stdout), ("stderr", p.stderr)):
            if s.strip():
                print("  %s:\n    %s" % (name, s.rstrip().replace(
                    "\n", "\n    ")))
        return p


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def string_of(vals, pid):
    """The value of a string property id (001e/001f, REG_SZ or binary) as
    text, or None."""
    for name, typ, data in vals:
        n = name.lower()
        if len(n) != 8 or n[4:] != pid or n[:4] not in ("001e", "001f"):
            continue
        if typ == 1 or n[:4] == "001f":
            return data.decode("utf-16-le", errors="replace").split("\0")[0]
        return data.decode("cp1252", errors="replace").split("\0")[0]
    return None


def names_in(data, needle):
    """needle (case-insensitive) in data as 8-bit or UTF-16LE text."""
    low = data.lower()
    return (needle.lower().encode("latin-1") in low or
            needle.lower().encode("utf-16-le") in low)


def section(tree, uid):
    return tree.get(PROFILE + "\\" + uid)


def diff_outside(before, after, skip):
    """Keys and values that differ outside the keys in `skip` (paths,
    lower case): a list of lines."""
    out = []
    for k in sorted(set(before.keys) | set(after.keys)):
        if k in skip:
            continue
        a = before.keys.get(k)
        b = after.keys.get(k)
        if not a or not b:
            out.append("%s key %s" % ("extra" if b else "missing",
                                       (a or b)[0]))
            continue
        if sorted(a[1]) != sorted(b[1]):
            an = {v[0].lower(): v for v in a[1]}
            bn = {v[0].lower(): v for v in b[1]}
            for n in sorted(set(an) | set(bn)):
                if an.get(n) != bn.get(n):
                    out.append("value %s \"%s\" changed" % (a[0], n))
    return out


# ---- the cases -------------------------------------------------------------

def write_inputs(work):
    mapping = os.path.join(work, "mapping.puf")
    with open(mapping, "w", encoding="utf-8") as f:
        f.write("SourceLegacyDN|TargetLegacyDN|TargetSMTP|SourceSMTP|"
                "TargetServer\n")
        f.write("|".join((SRC_DN, TGT_DN, TGT_SMTP, SRC_SMTP, TGT_SERVER))
                + "\n")
    config = os.path.join(work, "profswitch.ini")
    with open(config, "w", encoding="utf-8") as f:
        f.write("[Settings]\nOST=rename\n")
    return mapping, config


def exchange_case(c, run, store, form, mapping, config, work):
    original = open(store, "rb").read()
    before = read_store(store, form)
    before_text = hivex_export_text(store) if form == "hive" else None
    report = os.path.join(work, "report.csv")
    upd = ("update", "--store", store, "--mapping", mapping, "--config",
           config, "--report", report)

    # inspect: the archive is labelled as such.
    p = run("inspect", store)
    c.check(p.returncode == 0, "inspect exits 0", "exit %d" % p.returncode)
    archive_dn = SRC_DN + "/guid=" + ARCHIVE_GUID
    c.check(re.search(r"^\s+archive\s+" + re.escape(archive_dn) + "$",
                      p.stdout, re.M | re.I) is not None,
            "inspect labels the Online Archive provider 'archive'",
            "no line 'archive  %s' in the output" % archive_dn)
    c.check("additional mailbox" not in p.stdout,
            "inspect shows no additional mailbox (the archive is not one)")

    # update --dry-run: would-update, nothing written.
    p = run(*upd, "--dry-run")
    r = rows(report)
    c.check(p.returncode == 0, "update --dry-run exits 0",
            "exit %d" % p.returncode)
    c.check(any(x["status"] == "would-update" and
                x["source_dn"].lower() == SRC_DN.lower() for x in r),
            "update --dry-run reports would-update for the mailbox",
            "rows: %s" % [(x["account"], x["status"], x["detail"])
                          for x in r])
    c.check(open(store, "rb").read() == original,
            "update --dry-run leaves the file byte for byte")

    # update.
    p = run(*upd)
    r = rows(report)
    c.check(p.returncode == 0, "update exits 0", "exit %d" % p.returncode)
    c.check(any(x["status"] == "updated" and
                x["target_dn"].lower() == TGT_DN.lower() for x in r),
            "update reports the mailbox updated",
            "rows: %s" % [(x["account"], x["status"], x["detail"])
                          for x in r])
    updated = open(store, "rb").read()
    c.check(updated != original, "update changed the file")
    after = read_store(store, form)
    pri = section(after, PRIMARY) or []
    arc = section(after, ARCHIVE) or []
    ems = section(after, EMSMDB) or []
    got = string_of(pri, "660b")
    c.check(got == TGT_DN, "primary store provider 660b is the target DN",
            "got %r" % got)
    got = string_of(arc, "660b")
    want = TGT_DN + "/guid=" + ARCHIVE_GUID
    c.check(got is not None and got.lower() == want.lower(),
            "archive provider 660b is the target DN + /guid= its GUID",
            "got %r, expected %r" % (got, want))
    got = string_of(ems, "6603")
    c.check(got == TGT_DN, "emsmdb 6603 (PR_PROFILE_USER) is the target DN",
            "got %r" % got)
    got = string_of(ems, "6641")
    c.check(got == "SMTP:" + TGT_SMTP,
            "emsmdb 6641 is the target SMTP, keeping its SMTP: prefix",
            "got %r" % got)
    got = string_of(ems, "6602")
    c.check(got == TGT_SERVER, "emsmdb 6602 (home server) is TargetServer",
            "got %r" % got)
    got = string_of(ems, "6610")
    c.check(got is not None and got.lower().endswith(
        "\\" + TGT_SMTP + ".ost"),
        "emsmdb 6610 (OST) renamed to DIR\\TargetSMTP.ost (OST=rename)",
        "got %r" % got)
    left = []
    for uid in EXCHANGE_SECTIONS:
        vals = section(after, uid)
        if vals is None:
            left.append("section %s is missing" % uid)
            continue
        for name, typ, data in vals:
            for needle in (SRC_DN, SRC_SERVER, SRC_SMTP):
                if names_in(data, needle):
                    left.append("%s \"%s\" (type %d) names %s"
                                % (uid, name, typ, needle))
    c.check(not left, "no value of the Exchange service's sections names "
            "the source DN, server or SMTP address", "\n".join(left[:40]))
    skip = {(PROFILE + "\\" + u).lower() for u in EXCHANGE_SECTIONS}
    skip.add((PROFILE + "\\" + BACKUP).lower())
    d = diff_outside(before, after, skip)
    c.check(not d, "nothing changed outside the Exchange sections and the "
            "backup section", "\n".join(d[:40]))
    c.check(section(after, BACKUP) is not None,
            "the backup section is in the profile")

    # A second update changes nothing.
    p = run(*upd)
    r = rows(report)
    c.check(p.returncode == 0, "second update exits 0",
            "exit %d" % p.returncode)
    c.check(open(store, "rb").read() == updated,
            "second update leaves the file byte for byte")
    c.check(any(x["status"] == "already-updated" for x in r),
            "second update reports already-updated",
            "rows: %s" % [(x["account"], x["status"]) for x in r])

    # rollback --all gives back the original.
    p = run("rollback", "--store", store, "--all", "--report", report)
    c.check(p.returncode == 0, "rollback --all exits 0",
            "exit %d" % p.returncode)
    now = open(store, "rb").read()
    if form == "reg":
        c.check(now == original,
                "rollback --all gives back the export byte for byte",
                first_difference(original, now))
    else:
        text = hivex_export_text(store)
        c.check(text == before_text,
                "rollback --all gives back the hive's full contents "
                "(the same full export)", text_difference(before_text,
                                                           text))

    # cleanup after a rollback: nothing to clean up, nothing written.
    p = run("cleanup", "--store", store)
    c.check(p.returncode == 0, "cleanup exits 0", "exit %d" % p.returncode)
    c.check("nothing to clean up" in p.stderr,
            "cleanup says there is nothing to clean up")
    c.check(open(store, "rb").read() == now, "cleanup wrote nothing")

    # update then cleanup: the backup goes, the update stays.
    run(*upd)
    updated_tree = read_store(store, form)
    p = run("cleanup", "--store", store, "--report", report)
    c.check(p.returncode == 0, "cleanup after an update exits 0",
            "exit %d" % p.returncode)
    cleaned = read_store(store, form)
    c.check(section(cleaned, BACKUP) is None,
            "cleanup removed the backup section")
    d = diff_outside(updated_tree, cleaned,
                     {(PROFILE + "\\" + BACKUP).lower()})
    c.check(not d, "cleanup changed nothing but the backup section",
            "\n".join(d[:40]))
    p = run("rollback", "--store", store)
    c.check(p.returncode == 0 and "nothing to roll back" in p.stderr,
            "after cleanup there is nothing to roll back")

    # rehearse a fresh copy: would-update.
    fresh = os.path.join(work, "fleet", os.path.basename(store))
    os.makedirs(os.path.dirname(fresh), exist_ok=True)
    with open(fresh, "wb") as f:
        f.write(original)
    fleet_csv = os.path.join(work, "fleet.csv")
    p = run("rehearse", fresh, "--mapping", mapping, "--config", config,
            "--report", fleet_csv)
    r = rows(fleet_csv)
    c.check(any(x["status"] == "would-update" for x in r),
            "rehearse reports would-update",
            "rows: %s" % [(x["status"], x["detail"]) for x in r])
    c.check(open(fresh, "rb").read() == original,
            "rehearse leaves its input byte for byte")


def first_difference(a, b):
    if a == b:
        return ""
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
             min(len(a), len(b)))
    return ("sizes %d and %d, first difference at byte %d:\n"
            "expected %r\ngot      %r" % (len(a), len(b), n,
                                          a[max(0, n - 40):n + 80],
                                          b[max(0, n - 40):n + 80]))


def text_difference(a, b):
    if a == b:
        return ""
    al, bl = a.split("\n"), b.split("\n")
    out = []
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<end>"
        y = bl[i] if i < len(bl) else "<end>"
        if x != y:
            out.append("line %d:\n  expected %s\n  got      %s"
                       % (i + 1, x[:200], y[:200]))
            if len(out) >= 10:
                break
    return "\n".join(out)


def untouched_case(c, run, store, mapping, config, work, dirty):
    """PST-only profiles (and a dirty hive, which is refused)."""
    original = open(store, "rb").read()
    report = os.path.join(work, "report.csv")
    upd = ("update", "--store", store, "--mapping", mapping, "--config",
           config, "--report", report)

    p = run("inspect", store)
    c.check(p.returncode == 0, "inspect exits 0", "exit %d" % p.returncode)
    c.check("MSUPST MS" in p.stdout, "inspect lists the PST service")
    c.check("MSEMS" not in p.stdout, "inspect lists no Exchange service")
    if dirty:
        c.check("warning" in p.stderr and
                "not cleanly unloaded" in p.stderr,
                "inspect warns on stderr that the hive was not cleanly "
                "unloaded")
        for argv in (upd + ("--dry-run",), upd,
                     ("rollback", "--store", store, "--all"),
                     ("cleanup", "--store", store)):
            p = run(*argv)
            what = " ".join(argv[:1] + (("--dry-run",) if "--dry-run" in
                                        argv else ()))
            c.check(p.returncode == 66 and
                    "not cleanly unloaded" in p.stderr,
                    what + " refuses the hive (exit 66, says why)",
                    "exit %d" % p.returncode)
            c.check(open(store, "rb").read() == original,
                    what + " leaves the file byte for byte")
        fleet_csv = os.path.join(work, "fleet.csv")
        p = run("rehearse", store, "--mapping", mapping, "--config", config,
                "--report", fleet_csv)
        r = rows(fleet_csv)
        c.check(p.returncode == 0, "rehearse exits 0",
                "exit %d" % p.returncode)
        c.check(bool(r) and all("warning: the hive was not cleanly "
                                "unloaded" in x["detail"] for x in r),
                "rehearse warns in the row's detail",
                "rows: %s" % [(x["status"], x["detail"]) for x in r])
        c.check(open(store, "rb").read() == original,
                "rehearse leaves the file byte for byte")
        return

    for dry in (True, False):
        argv = upd + (("--dry-run",) if dry else ())
        what = "update" + (" --dry-run" if dry else "")
        p = run(*argv)
        r = rows(report)
        c.check(p.returncode == 0, what + " exits 0",
                "exit %d" % p.returncode)
        c.check(all(x["status"] == "not-migrated" for x in r),
                what + ": no Exchange row, or only not-migrated ones",
                "rows: %s" % [(x["account"], x["status"]) for x in r])
        c.check("no Exchange account" in p.stderr + p.stdout,
                what + " says on the terminal that there is no Exchange "
                "account")
        c.check(open(store, "rb").read() == original,
                what + " leaves the file byte for byte")
    for argv, says in ((("rollback", "--store", store, "--all"),
                        "nothing to roll back"),
                       (("cleanup", "--store", store),
                        "nothing to clean up")):
        p = run(*argv)
        c.check(p.returncode == 0 and says in p.stderr,
                "%s exits 0 saying '%s'" % (argv[0], says),
                "exit %d" % p.returncode)
        c.check(open(store, "rb").read() == original,
                argv[0] + " leaves the file byte for byte")


def win9x_case(c, run, store, mapping, config, work):
    original = open(store, "rb").read()
    want = store + ": Windows 9x registry file: not supported"
    for argv in (("inspect", store),
                 ("update", "--store", store, "--mapping", mapping,
                  "--config", config),
                 ("rollback", "--store", store, "--all"),
                 ("cleanup", "--store", store)):
        p = run(*argv)
        c.check(p.returncode == 66 and want in p.stderr,
                argv[0] + " refuses it: '<file>: Windows 9x registry "
                "file: not supported', exit 66",
                "exit %d, stderr %r" % (p.returncode, p.stderr[:300]))
        c.check("NUL character" not in p.stderr,
                argv[0] + " does not call it a text file with a NUL")
    fleet_csv = os.path.join(work, "fleet.csv")
    run("rehearse", store, "--mapping", mapping, "--report", fleet_csv)
    r = rows(fleet_csv)
    c.check(len(r) == 1 and "Windows 9x registry file: not supported" in
            r[0]["detail"], "rehearse names it in the row",
            "rows: %s" % [(x["status"], x["detail"]) for x in r])
    c.check(open(store, "rb").read() == original,
            "the file is left byte for byte")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    name, _, form = args.case.partition(".")
    if name not in CASES or form not in ("hive", "reg", "file"):
        print("FAIL: unknown case %s" % args.case)
        return 2
    data = os.path.abspath(args.data)
    if not os.path.isdir(data):
        print("FAIL: the real profiles are not at %s: CI runs from a fresh "
              "clone with a copy of shared/ beside it, and this test fails "
              "rather than skips without them" % data)
        return 1
    rel, user, kind = CASES[name]
    src = os.path.join(data, rel)
    if not os.path.isfile(src):
        print("FAIL: %s is missing from %s" % (rel, data))
        return 1
    for tool in ("hivexregedit",):
        if not shutil.which(tool):
            print("FAIL: %s is not installed (libwin-hivex-perl)" % tool)
            return 1

    work = os.path.join(os.path.abspath(args.work), args.case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    mapping, config = write_inputs(work)
    c = Checks()
    run = Run(args, work)

    if kind == "win9x":
        store = os.path.join(work, os.path.basename(src))
        shutil.copyfile(src, store)
        win9x_case(c, run, store, mapping, config, work)
        return c.finish()

    # The hive, copied (decompressed) into the build folder.
    os.makedirs(os.path.join(work, user))
    hive = os.path.join(work, user, "NTUSER.DAT")
    if src.endswith(".xz"):
        with lzma.open(src) as f, open(hive, "wb") as out:
            shutil.copyfileobj(f, out)
    else:
        shutil.copyfile(src, hive)
    os.chmod(hive, 0o600)
    raw = open(hive, "rb").read(12)
    c.check(raw[:4] == b"regf", "the copy is an NT hive")
    c.check((raw[4:8] != raw[8:12]) == (kind == "dirty"),
            "the copy's header sequence numbers %s"
            % ("differ (not cleanly unloaded)" if kind == "dirty"
               else "agree"))
    store = hive
    if form == "reg":
        store = os.path.join(work, user + ".reg")
        exported = to_regedit(parse_export(hivex_export_text(hive)))
        with open(store, "wb") as f:
            f.write(exported)
        os.chmod(store, 0o600)
        if kind == "dirty":
            kind = "pst"   # the export of the hive is a clean file
        # the converter's own sanity: every line fits regedit's 80 columns
        long = [ln for ln in exported[2:].decode("utf-16-le").split("\r\n")
                if units(ln) > 80 and not ln.startswith(("[", '"', "@"))]
        c.check(not long, "the export's hex continuation lines fit in 80 "
                "columns", "\n".join(long[:5]))

    if kind == "exchange":
        exchange_case(c, run, store, form, mapping, config, work)
    else:
        untouched_case(c, run, store, mapping, config, work,
                       kind == "dirty")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
