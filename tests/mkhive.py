#!/usr/bin/env python3
"""Turn a `reg export` file of HKEY_CURRENT_USER into an NTUSER.DAT hive.

    mkhive.py IN.reg OUT.dat
    mkhive.py --empty OUT.dat

No Debian tool creates a new registry hive from nothing: Samba's regpatch
and regshell (registry-tools) and hivexregedit --merge (libwin-hivex-perl)
all open an existing REGF file, and hivex ships no empty hive.  So this
script writes the one thing none of them can make, an empty hive (a
header, one 4 KiB bin, the root key and its security descriptor, laid out
as the REGF format documents), and then hands every key and value of the
export to `hivexregedit --merge --prefix HKEY_CURRENT_USER`, the real
tool, which fills the hive.  The output depends only on the input.

The export may be UTF-16LE (as `reg export` writes it), UTF-8 or
REGEDIT4 (Windows-1252); hivexregedit wants UTF-8 with LF line ends, and
reads it as UTF-8 only with PERL_UNICODE=SDA (else "Müller" is taken as
Latin-1 bytes and stored wrong).
"""
import os
import struct
import subprocess
import sys
import tempfile

ROOT_NAME = b"ROOT"
BIN_SIZE = 0x1000


def sid(authority, *subs):
    return (struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def security_descriptor():
    """Self-relative SD: owner Administrators, group SYSTEM, a DACL that
    gives Everyone full control of the key and what is below it."""
    everyone = sid(1, 0)
    ace = struct.pack("<BBHI", 0, 0x03, 8 + len(everyone), 0x000F003F)
    ace += everyone
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    owner = sid(5, 32, 544)
    group = sid(5, 18)
    dacl_at = 20
    owner_at = dacl_at + len(acl)
    group_at = owner_at + len(owner)
    head = struct.pack("<BBHIIII", 1, 0, 0x8004, owner_at, group_at, 0,
                       dacl_at)
    return head + acl + owner + group


def cell(body):
    size = (4 + len(body) + 7) & ~7
    return struct.pack("<i", -size) + body + b"\0" * (size - 4 - len(body))


def empty_hive():
    root_at = 0x20
    nk_len = len(cell(b"\0" * (76 + len(ROOT_NAME))))
    sk_at = root_at + nk_len
    nk = b"nk" + struct.pack(
        "<HQIIIIIIIIIIIIIIIHH", 0x2C, 0, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF,
        0, 0xFFFFFFFF, sk_at, 0xFFFFFFFF, 0, 0, 0, 0, 0, len(ROOT_NAME), 0)
    nk += ROOT_NAME
    sd = security_descriptor()
    sk = b"sk" + struct.pack("<HIIII", 0, sk_at, sk_at, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    assert len(cell(nk)) == nk_len
    free = BIN_SIZE - 0x20 - len(cells)
    hbin = (b"hbin" + struct.pack("<IIQQI", 0, BIN_SIZE, 0, 0, 0) + cells
            + struct.pack("<i", free) + b"\0" * (free - 4))
    assert len(hbin) == BIN_SIZE
    name = "NTUSER.DAT".encode("utf-16-le")
    hdr = b"regf" + struct.pack("<IIQIIIIIII", 1, 1, 0, 1, 5, 0, 1, root_at,
                                BIN_SIZE, 1)
    hdr += name + b"\0" * (64 - len(name))
    hdr += b"\0" * (508 - len(hdr))
    checksum = 0
    for (word,) in struct.iter_unpack("<I", hdr):
        checksum ^= word
    hdr += struct.pack("<I", checksum)
    hdr += b"\0" * (0x1000 - len(hdr))
    return hdr + hbin


def export_text(data):
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        text = data.decode("cp1252")
    text = text.replace("\r\n", "\n")
    if text.startswith("REGEDIT4"):
        text = "Windows Registry Editor Version 5.00" + text[8:]
    return with_ancestors(text)


def with_ancestors(text):
    """hivexregedit creates a key only under an existing parent, while an
    export may skip a key that has only subkeys: name every missing
    ancestor first, as an empty [key] section (which adds no value)."""
    seen = set()
    out = []
    for line in text.split("\n"):
        if line.startswith("[-") and line.rstrip().endswith("]"):
            gone = line.rstrip()[2:-1].lower()
            seen = {k for k in seen
                    if k != gone and not k.startswith(gone + "\\")}
        elif line.startswith("[") and line.rstrip().endswith("]"):
            parts = line.rstrip()[1:-1].split("\\")
            for i in range(2, len(parts)):
                path = "\\".join(parts[:i])
                if path.lower() not in seen:
                    seen.add(path.lower())
                    out.append("[%s]\n" % path)
            seen.add("\\".join(parts).lower())
        out.append(line)
    return "\n".join(out)


def main(argv):
    if len(argv) == 3 and argv[1] == "--empty":
        with open(argv[2], "wb") as f:
            f.write(empty_hive())
        return 0
    if len(argv) != 3:
        sys.stderr.write("usage: mkhive.py IN.reg OUT.dat | --empty OUT\n")
        return 2
    src, out = argv[1], argv[2]
    with open(src, "rb") as f:
        text = export_text(f.read())
    tmp_hive = out + ".tmp"
    with open(tmp_hive, "wb") as f:
        f.write(empty_hive())
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".reg",
                                     delete=False) as f:
        f.write(text)
        reg = f.name
    try:
        r = subprocess.run(["hivexregedit", "--merge", "--prefix",
                            "HKEY_CURRENT_USER", tmp_hive, reg],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, PERL_UNICODE="SDA"))
    finally:
        os.unlink(reg)
    if r.returncode != 0:
        os.unlink(tmp_hive)
        sys.stderr.write("mkhive.py: %s: hivexregedit --merge failed:\n%s"
                         % (src, r.stderr.decode(errors="replace")))
        return 1
    os.replace(tmp_hive, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
