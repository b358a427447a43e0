#!/usr/bin/env python3
"""Turn a `reg export` file of HKEY_CURRENT_USER into an NTUSER.DAT hive.

    mkhive.py IN.reg OUT.dat
    mkhive.py --empty OUT.dat
    mkhive.py --rich IN.reg OUT.dat

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

--rich then adds, in one more hive bin, what Windows writes and libhivex
does not (for tests of hive compaction, fakemapi/hivecompact.c): class
names on the root key and its first subkey, a second security descriptor
(on that subkey, linked into the list of them), a 40,000-byte value
"BigBlob" on the root key stored as big data (a db cell and three
segments) and, on the first key with two or more subkeys, an ri list
pointing to an li and an lh list.  The cells replaced are freed.
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


def security_descriptor(mask=0x000F003F):
    """Self-relative SD: owner Administrators, group SYSTEM, a DACL that
    gives Everyone full control (or `mask`) of the key and what is below
    it."""
    everyone = sid(1, 0)
    ace = struct.pack("<BBHI", 0, 0x03, 8 + len(everyone), mask)
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


def checksum(hdr):
    x = 0
    for (word,) in struct.iter_unpack("<I", hdr[:508]):
        x ^= word
    return x


class Hive:
    """A hive's bytes, with one more bin being filled at the end."""

    def __init__(self, data):
        self.d = bytearray(data)
        self.bins = self.u32(40)
        assert len(self.d) == 0x1000 + self.bins
        self.new = bytearray()

    def u32(self, o):
        return struct.unpack_from("<I", self.d, o)[0]

    def p32(self, o, v):
        struct.pack_into("<I", self.d, o, v)

    def p16(self, o, v):
        struct.pack_into("<H", self.d, o, v)

    def at(self, rel):
        """File offset of the contents of the cell at rel."""
        return 0x1000 + rel + 4

    def alloc(self, body):
        rel = self.bins + 32 + len(self.new)
        self.new += cell(body)
        return rel

    def free(self, rel):
        size = struct.unpack_from("<i", self.d, 0x1000 + rel)[0]
        assert size < 0
        struct.pack_into("<i", self.d, 0x1000 + rel, -size)

    def subkeys(self, key):
        lst = self.u32(self.at(key) + 28)
        if lst == 0xFFFFFFFF:
            return []
        p = self.at(lst)
        sig = bytes(self.d[p:p + 2])
        n = struct.unpack_from("<H", self.d, p + 2)[0]
        step = 4 if sig == b"li" else 8
        return [self.u32(p + 4 + step * i) for i in range(n)]

    def finish(self):
        size = (32 + len(self.new) + 0xFFF) & ~0xFFF
        rest = size - 32 - len(self.new)
        hbin = b"hbin" + struct.pack("<IIQQI", self.bins, size, 0, 0, 0)
        hbin += self.new
        if rest:
            hbin += struct.pack("<i", rest) + b"\0" * (rest - 4)
        self.d += hbin
        self.p32(40, self.bins + size)
        self.p32(508, checksum(self.d))
        return bytes(self.d)


def enrich(data):
    """What --rich adds (see the top of the file)."""
    h = Hive(data)
    root = h.u32(36)
    first = h.subkeys(root)[0]
    # Class names.
    longest = 0
    for key, text in ((root, "Profswitch root class"),
                      (first, "First subkey class")):
        name = text.encode("utf-16-le")
        h.p32(h.at(key) + 48, h.alloc(name))
        h.p16(h.at(key) + 74, len(name))
        longest = len(name)
    h.p32(h.at(root) + 56, max(h.u32(h.at(root) + 56), longest))
    # A second security descriptor, for the first subkey, after the
    # root's in the list.
    old = h.u32(h.at(first) + 44)
    after = h.u32(h.at(old) + 4)
    sd = security_descriptor(0x00020019)
    sk = h.alloc(b"sk" + struct.pack("<HIIII", 0, after, old, 1, len(sd))
                 + sd)
    h.p32(h.at(old) + 4, sk)
    h.p32(h.at(after) + 8, sk)
    h.p32(h.at(old) + 12, h.u32(h.at(old) + 12) - 1)
    h.p32(h.at(first) + 44, sk)
    # Big data on the root key.
    blob = bytes((i * 7 + 3) & 0xFF for i in range(40000))
    segs = [h.alloc(blob[i:i + 16344]) for i in range(0, len(blob), 16344)]
    seglist = h.alloc(struct.pack("<%dI" % len(segs), *segs))
    db = h.alloc(b"db" + struct.pack("<HII", len(segs), seglist, 0))
    name = b"BigBlob"
    vk = h.alloc(b"vk" + struct.pack("<HIIIHH", len(name), len(blob), db,
                                     3, 1, 0) + name)
    nk = h.at(root)
    n, vlist = h.u32(nk + 36), h.u32(nk + 40)
    values = [h.u32(h.at(vlist) + 4 * i) for i in range(n)]
    if vlist != 0xFFFFFFFF:
        h.free(vlist)
    h.p32(nk + 40, h.alloc(struct.pack("<%dI" % (n + 1), *values, vk)))
    h.p32(nk + 36, n + 1)
    h.p32(nk + 60, max(h.u32(nk + 60), 2 * len(name)))
    h.p32(nk + 64, max(h.u32(nk + 64), len(blob)))
    # An ri list on the first key (depth first) with two or more subkeys.
    todo = [root]
    while todo:
        key = todo.pop(0)
        subs = h.subkeys(key)
        if len(subs) < 2:
            todo = subs + todo
            continue
        lst = h.u32(h.at(key) + 28)
        p = h.at(lst)
        sig = bytes(h.d[p:p + 2])
        assert sig in (b"lf", b"lh")
        half = len(subs) // 2
        li = h.alloc(b"li" + struct.pack("<H%dI" % half, half,
                                         *subs[:half]))
        rest = bytes(h.d[p + 4 + 8 * half:p + 4 + 8 * len(subs)])
        lh = h.alloc(sig + struct.pack("<H", len(subs) - half) + rest)
        h.free(lst)
        h.p32(h.at(key) + 28, h.alloc(b"ri" + struct.pack("<HII", 2, li,
                                                             lh)))
        break
    return h.finish()


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
    rich = len(argv) == 4 and argv[1] == "--rich"
    if rich:
        argv = argv[1:]
    if len(argv) != 3:
        sys.stderr.write("usage: mkhive.py [--rich] IN.reg OUT.dat | "
                         "--empty OUT\n")
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
    if rich:
        with open(tmp_hive, "rb") as f:
            data = enrich(f.read())
        with open(tmp_hive, "wb") as f:
            f.write(data)
    os.replace(tmp_hive, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
