#!/usr/bin/env python3
"""Generate profswitch scenario folders (inputs and hand-derived expectations).

Standard library only.  Run from anywhere:

    python3 scenarios/tools/mkscen.py

It (re)writes, for every scenario listed at the bottom of this file, the
folder scenarios/NAME/ : HKCU.reg, mapping file(s), config.ini, scenario.ini
and expect/*.reg.  Output is deterministic.

IMPORTANT - how the expectations are made
-----------------------------------------
Nothing here implements the update rules of docs/update-rules.md.  Each
scenario copies its input registry and then lists, by hand, every property
that the rules R1..R9 must change, each edit with a comment naming the rule.
The backup blob encoder (docs/update-rules.md "Backups") is shared code, but
which sections go into a generation, in which order, and which units it
lists are spelled out by hand per scenario; the snapshot *contents* are the
input section's properties (not other values such as S010267f0), read from
the input model in registry order.
Never derive these files from the engine's output.

Layout (docs/update-rules.md "How Outlook stores a property", checked on
real profiles): a PT_STRING8 property is a REG_SZ value unless a scenario
asks for REG_BINARY 8-bit text (Registry.binary_strings); multi-valued
strings are u32 count, u64 offsets, NUL-terminated strings.  An Exchange
account is a service section, an emsmdb section, store providers (primary,
public folders, delegates, Online Archive), a transport provider (01023d02)
and an address-book provider (01023d01).
"""

import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCEN = os.path.dirname(HERE)

HKCU = "HKEY_CURRENT_USER"
OFFICE16 = HKCU + r"\Software\Microsoft\Office\16.0"
OFFICE15 = HKCU + r"\Software\Microsoft\Office\15.0"

# ---------------------------------------------------------------------------
# Property encoders (docs/update-rules.md "How Outlook stores a property")
# ---------------------------------------------------------------------------

PT_LONG, PT_BOOLEAN, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0003, 0x000B, 0x001E, 0x001F, 0x0102
PT_MV_STRING8, PT_MV_UNICODE = 0x101E, 0x101F


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)


def tag_name(tag):
    """0x6641001F -> '001f6641' (type then id, 8 lowercase hex digits)."""
    return "%04x%04x" % (tag & 0xFFFF, (tag >> 16) & 0xFFFF)


def name_tag(name):
    """'001f6641' -> 0x6641001F."""
    return (int(name[4:8], 16) << 16) | int(name[0:4], 16)


def is_prop_name(name):
    """A value named TTTTIIII (8 hex digits) may be a property; others
    (Outlook 2013+'s S010267f0, the account manager's names) are not."""
    return len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name)


def _enc_mv(strings, encode):
    """Multi-valued string as Outlook stores it (checked on real profiles):
    u32 count, count x u64 offset of each string from the value's start,
    then the NUL-terminated strings."""
    head = 4 + 8 * len(strings)
    offs, body = [], b""
    for s in strings:
        offs.append(head + len(body))
        body += encode(s)
    return u32(len(strings)) + b"".join(u64(o) for o in offs) + body


def enc_mv_string8(strings):
    """PT_MV_STRING8 (101e): 8-bit (Windows-1252) strings, each with a NUL."""
    return _enc_mv(strings, lambda s: s.encode("cp1252") + b"\0")


def enc_mv_unicode(strings):
    """PT_MV_UNICODE (101f): UTF-16LE strings, each with a 2-byte NUL."""
    return _enc_mv(strings, lambda s: s.encode("utf-16-le") + b"\0\0")


def encode_prop(tag, value):
    """The property's bytes as a REG_BINARY value holds them (a PT_STRING8
    in its 8-bit form: Windows-1252 + NUL)."""
    t = tag & 0xFFFF
    if t == PT_STRING8:
        return value.encode("cp1252") + b"\0"
    if t == PT_UNICODE:
        return value.encode("utf-16-le") + b"\0\0"
    if t == PT_LONG:
        return struct.pack("<I", value)
    if t == PT_BOOLEAN:
        return struct.pack("<H", value)
    if t == PT_BINARY:
        assert isinstance(value, bytes)
        return value
    if t == PT_MV_STRING8:
        return enc_mv_string8(value)
    if t == PT_MV_UNICODE:
        return enc_mv_unicode(value)
    raise ValueError("no encoder for %08x" % tag)


def uid(h):
    b = bytes.fromhex(h)
    assert len(b) == 16
    return b


def uids(*hs):
    return b"".join(uid(h) for h in hs)


# ---------------------------------------------------------------------------
# Registry model and .reg writer
# ---------------------------------------------------------------------------

class Registry:
    """Keys (full paths) -> ordered values [name, kind, data].
    kind: 'sz' (str, REG_SZ), 'expand' (str, REG_EXPAND_SZ), 'dword' (int),
    'bin' (bytes, REG_BINARY).
    A PT_STRING8 property (001e....) is a REG_SZ value, as Outlook writes it,
    unless built with form 'bin' (REG_BINARY 8-bit text + NUL, as some
    scripts write it); every other property is REG_BINARY.
    The export root is the key `reg export` was run on; every key between it
    and a stored key exists (and is exported) too."""

    def __init__(self, root):
        self.root = root
        self.keys = {}
        self.add_key(root)

    def copy(self):
        r = Registry(self.root)
        r.keys = {k: (p, [list(v) for v in vals]) for k, (p, vals) in self.keys.items()}
        return r

    def add_key(self, path):
        assert path.upper().startswith(self.root.upper()), path
        parts = path.split("\\")
        rootn = len(self.root.split("\\"))
        for i in range(rootn, len(parts) + 1):
            p = "\\".join(parts[:i])
            if p.upper() not in self.keys:
                self.keys[p.upper()] = (p, [])
        return path

    def delete_key(self, path):
        up = path.upper()
        assert up in self.keys, path
        for k in [k for k in self.keys if k == up or k.startswith(up + "\\")]:
            del self.keys[k]

    def has_key(self, path):
        return path.upper() in self.keys

    def _vals(self, path):
        return self.keys[path.upper()][1]

    def find(self, path, name):
        for v in self._vals(path):
            if v[0].lower() == name.lower():
                return v
        return None

    def put(self, path, name, kind, data):
        """Set a value; an existing value keeps its position, a new one is appended."""
        self.add_key(path)
        v = self.find(path, name)
        if v:
            v[1], v[2] = kind, data
        else:
            self._vals(path).append([name, kind, data])

    def put_before(self, path, before, name, kind, data):
        """Input building: a new value placed just before value `before`."""
        vals = self._vals(path)
        assert self.find(path, name) is None, (path, name)
        i = vals.index(self.find(path, before))
        vals.insert(i, [name, kind, data])

    def remove(self, path, name):
        v = self.find(path, name)
        assert v is not None, (path, name)
        self._vals(path).remove(v)

    # --- MAPI property view of a section key -----------------------------
    @staticmethod
    def _value(tag, value, form):
        """(kind, data) of property `tag` written in `form` ('sz' or 'bin')."""
        if tag & 0xFFFF == PT_STRING8 and form == "sz":
            value.encode("cp1252")          # a PT_STRING8 holds Windows-1252 text only
            return "sz", value
        return "bin", encode_prop(tag, value)

    def prop(self, path, tag, value, form="sz"):
        """Input building: store property `tag` (new or replaced); a
        PT_STRING8 as REG_SZ, or as REG_BINARY with form='bin' (see also
        binary_strings())."""
        self.put(path, tag_name(tag), *self._value(tag, value, form))

    def set(self, path, tag, value):
        """Expected edit: property must already exist; value replaced in place,
        in the form it had (REG_SZ stays REG_SZ, REG_BINARY stays REG_BINARY)."""
        v = self.find(path, tag_name(tag))
        assert v is not None, ("set of absent", path, tag_name(tag))
        self.put(path, tag_name(tag), *self._value(tag, value, "sz" if v[1] == "sz" else "bin"))

    def add(self, path, tag, value):
        """Expected edit: property must be absent; appended after the others
        (a new PT_STRING8 is a REG_SZ value)."""
        assert self.find(path, tag_name(tag)) is None, ("add of present", path, tag_name(tag))
        self.put(path, tag_name(tag), *self._value(tag, value, "sz"))

    def delete(self, path, tag):
        """Expected edit: property must exist; removed."""
        self.remove(path, tag_name(tag))

    def binary_strings(self, path):
        """Input building: every PT_STRING8 of a section rewritten as
        REG_BINARY 8-bit text (same place, same text)."""
        for v in self._vals(path):
            if is_prop_name(v[0]) and name_tag(v[0]) & 0xFFFF == PT_STRING8 and v[1] == "sz":
                v[1], v[2] = "bin", encode_prop(name_tag(v[0]), v[2])

    def snapshot(self, path):
        """[(tag, data, kind, before)] of a section's PROPERTIES, in registry
        value order (backup blob): values named TTTTIIII that are REG_BINARY,
        or REG_SZ of type 001e.  A PT_STRING8 is its Windows-1252 bytes + NUL
        in either form; kind 1 = a PT_STRING8 kept as REG_BINARY, else 0;
        before = how many values that are not properties (S010267f0) stand
        before it in the key.  Those values are not in the snapshot."""
        out, before = [], 0
        for name, kind, data in self._vals(path):
            tag = name_tag(name) if is_prop_name(name) else None
            if tag is not None and kind == "bin":
                out.append((tag, data, 1 if tag & 0xFFFF == PT_STRING8 else 0, before))
            elif tag is not None and kind == "sz" and tag & 0xFFFF == PT_STRING8:
                out.append((tag, encode_prop(tag, data), 0, before))
            else:
                before += 1
        return out

    # --- export ------------------------------------------------------------
    def sorted_keys(self):
        return sorted(self.keys.values(), key=lambda kv: tuple(c.upper() for c in kv[0].split("\\")))


MAX_HEX_CHARS = 77  # regedit / reg.exe: wrap once a line reaches 77 chars (+ "\" = at most 80)


def _esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def render_value(name, kind, data):
    head = '"%s"=' % _esc(name) if name else "@="
    if kind == "sz":
        return head + '"%s"' % _esc(data)
    if kind == "dword":
        return head + "dword:%08x" % data
    if kind == "expand":
        # reg export writes REG_EXPAND_SZ as hex(2): the string's bytes with
        # its terminating NUL (version 5 = UTF-16LE; only used in v5 exports)
        return _render_hex(head + "hex(2):", data.encode("utf-16-le") + b"\0\0")
    assert kind == "bin"
    return _render_hex(head + "hex:", data)


def _render_hex(out, data):
    line_len = len(out)
    for i, b in enumerate(data):
        out += "%02x" % b
        if i == len(data) - 1:
            break
        out += ","
        line_len += 3
        if line_len >= MAX_HEX_CHARS:
            out += "\\\r\n  "
            line_len = 2
    return out


def render(reg, fmt="v5"):
    """Exactly what `reg export` writes: header, then per key a blank line,
    [key], its values; a final CRLF (so every key block ends in a blank line)."""
    text = "Windows Registry Editor Version 5.00\r\n" if fmt == "v5" else "REGEDIT4\r\n"
    for path, vals in reg.sorted_keys():
        text += "\r\n[%s]\r\n" % path
        for name, kind, data in vals:
            text += render_value(name, kind, data) + "\r\n"
    text += "\r\n"
    if fmt == "v5":
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode("cp1252")


# ---------------------------------------------------------------------------
# Backup blob (docs/update-rules.md "Backups")
# ---------------------------------------------------------------------------

BACKUP_UID = "70726f66737769746368000000000b01"   # "profswitch" + 00.. + 0b01


def backup_extra(values, files):
    """The "PSX1" trailer (docs/autodiscover.md): values [(subkey, name,
    flags, type, data)] and files [(path, existed, written, data)], in
    the order the update changed them, each with its state BEFORE.  A
    value's flags: 1 it existed before, 2 cleanup keeps the change (a
    repair such as a removed ExcludeExplicitO365Endpoint, not a pin)."""
    b = b"PSX1" + u32(len(values))
    for sub, name, existed, typ, data in values:
        for t in (sub, name):
            e = t.encode("utf-8")
            b += u32(len(e)) + e
        b += u32(existed) + u32(typ) + u32(len(data)) + data
    b += u32(len(files))
    for path, existed, written, data in files:
        e = path.encode("utf-8")
        b += u32(len(e)) + e + u32(existed | written << 1) + u32(len(data)) + data
    return b


def backup_keys(keys):
    """The "PSK1" trailer (docs/update-rules.md "Backups"), after PSX1:
    whole keys an update deleted, [(path under Office's key, top,
    [(name, type, data)])], each key's values in registry order, its
    subkeys after it (top 0)."""
    b = b"PSK1" + u32(len(keys))
    for path, top, vals in keys:
        e = path.encode("utf-8")
        b += u32(len(e)) + e + u32(top) + u32(len(vals))
        for name, typ, data in vals:
            e = name.encode("utf-8")
            b += u32(len(e)) + e + u32(typ) + u32(len(data)) + data
    return b


def backup_blob(state, units, sections):
    """state: 1 pending / 2 committed.  units: [(account, source_dn, target_dn)]
    in report order.  sections: [(uid_hex, [(tag, data, kind, before), ...])]
    in change order, each prop list = Registry.snapshot() of the section
    before the change.  "PSB1" (tag, length, data per prop) when every prop
    has kind 0 and no non-property value before it; else "PSB2" (tag, form,
    length, data), form = kind | (1 + before) << 8."""
    psb2 = any(kind or before for _, props in sections for _, _, kind, before in props)
    b = (b"PSB2" if psb2 else b"PSB1") + u32(state) + u32(len(units))
    for unit in units:
        for s in unit:
            e = s.encode("utf-8")
            b += u32(len(e)) + e
    b += u32(len(sections))
    for u, props in sections:
        b += uid(u) + u32(len(props))
        for tag, data, kind, before in props:
            b += u32(tag) + (u32(kind | (1 + before) << 8) if psb2 else b"") + u32(len(data)) + data
    return b


def gen_tag(n):
    return 0x6F000102 | (n << 16)      # 01026f01, 01026f02, ...


def mapi_blob(blob):
    """The same generation as a backup written through MAPI records it: a
    MAPI store cannot tell how the registry held a value, so every form is
    0 and the blob is "PSB1" (docs/update-rules.md, Backups).  Re-encodes
    a "PSB2" blob; anything after the sections (the "PSX1" trailer) is
    copied as it is."""
    if blob[:4] != b"PSB2":
        return blob
    pos = 4
    def take(n):
        nonlocal pos
        pos += n
        return blob[pos - n:pos]
    def num():
        return struct.unpack("<I", take(4))[0]
    out = b"PSB1" + take(4)
    nunits = num()
    out += u32(nunits)
    for _ in range(3 * nunits):
        n = num()
        out += u32(n) + take(n)
    nsecs = num()
    out += u32(nsecs)
    for _ in range(nsecs):
        out += take(16)
        nprops = num()
        out += u32(nprops)
        for _ in range(nprops):
            tag = take(4)
            take(4)                                                 # the form
            n = num()
            out += tag + u32(n) + take(n)
    return out + blob[pos:]


def mapi_view(reg, restored_sz=()):
    """An expected registry as a run through MAPI leaves it (the
    expect/mapi/ variant, used by the Wine runs on real MAPI): every backup
    generation is mapi_blob()'d, and the values in restored_sz, (key, name)
    pairs of PT_STRING8 values a rollback wrote back through MAPI, are
    REG_SZ (a restored value's form is MAPI's: what Outlook writes)."""
    out = reg.copy()
    for path, vals in out.keys.values():
        for v in vals:
            if v[0].lower().startswith("01026f") and path.upper().endswith(BACKUP_UID.upper()):
                v[2] = mapi_blob(v[2])
    for path, name in restored_sz:
        v = out.find(path, name)
        assert v is not None and v[1] == "bin", (path, name)
        v[1], v[2] = "sz", v[2].rstrip(b"\0").decode("cp1252")
    return out


# ---------------------------------------------------------------------------
# Organisation data
# ---------------------------------------------------------------------------

SRC_ADMIN = "/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
TGT_ADMIN = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"


def src_dn(cn):
    return SRC_ADMIN + "/cn=Recipients/cn=" + cn


def tgt_dn(cn):
    return TGT_ADMIN + "/cn=Recipients/cn=" + cn


def server_dn(admin, server):
    return admin + "/cn=Configuration/cn=Servers/cn=" + server


ALICE_SRC = src_dn("alice")
ALICE_TGT = tgt_dn("1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6-alice")
BOB_SRC = src_dn("bob")
BOB_TGT = tgt_dn("7e6d5c4b3a2948f1a0b9c8d7e6f5a4b3-bob")
SALES_SRC = src_dn("sales")
SALES_TGT = tgt_dn("0f1e2d3c4b5a49687f6e5d4c3b2a1908-sales")
ASMITH_SRC = src_dn("asmith")
CAROL_SRC, CAROL_TGT = src_dn("carol"), tgt_dn("5d4c3b2a19084f7e6d5c4b3a29180716-carol")
DAVE_SRC, DAVE_TGT = src_dn("dave"), tgt_dn("c0ffee11223344556677889900aabbcc-dave")
EXO = "outlook.office365.com"

# Exchange Online: alice in Fabrikam's tenant (exchange-online-archive), moved
# to Contoso's tenant.  Servers are <mailbox guid>@<domain>; the DNs of both
# tenants start with /o=ExchangeLabs/.
ALICE_EXO_SRC = tgt_dn("8c7d6e5f4a3b42c1d0e9f8a7b6c5d4e3-alice")
EXO_SRC_SERVER = "32833106-536e-45df-80b2-d002cc92d33d@fabrikam.com"
EXO_TGT_SERVER = "6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@contoso.com"
ARCHIVE_GUID = "f08db22f-d293-456a-b170-fab23d90fbac"           # alice's Online Archive (EXO)
ONPREM_ARCHIVE_GUID = "3ce1268c-9c80-42e3-bfec-3fee8ed2305d"    # alice's archive (archive-guid-from-mapping)
TARGET_ARCHIVE_GUID = "f3faa8e8-79ea-4723-8ad5-cfbc1d74bd1c"    # the mapping's TargetArchiveGuid there

# Section UIDs (made up, distinct)
SERVICES_SECT = "9207f3e0a3b11019908b08002b2a56c2"
GLOBAL_SECT = "0a0d020000000000c000000000000046"
ACCT_MGR = "9375CFF0413111d3B88A00104B2A6676"
CLSID_EXCHANGE = "{ED475414-B0D6-11D2-8C3B-00104B2A6676}"
EMS_CLSID = "{6485D26A-C2AC-11D1-AD3E-10A0C911C9C0}"     # 001f3d13 of every Exchange section
CONTAB_CLSID = "{6485D266-C2AC-11D1-AD3E-10A0C911C9C0}"

# svc service, ems emsmdb, priv/pub/dlg/arch store providers, abp address-book
# provider (01023d01), xp transport provider (01023d02)
A = dict(svc="4f2a9c1d7b3e4a6f8c5d0e1b2a3f4c5d", ems="b8e3d6a19c2f4e7d8a1b3c5d7e9f0a2b",
         priv="1d7c4b9e2a5f4c8e9b3d6a0f1e2c4b7a", pub="e6a2f9d43b1c4d8a9e7f2b5c0d1a3e6f",
         abp="5a9e1c7f3d2b4e6a8f0c1d3b5e7a9c2d", dlg="c3b7e1a95d4f4b2c8e6a9d0f2b4c6e8a",
         xp="462f27ebbf2b03810b9b9f0f64c67224", arch="d1065b122514b0018d663227903f1e58")
S = dict(svc="8b1e4d7a2c9f4e3b9a6d1c0f5e2b7a4d", ems="2e9c6f1b8d4a4c7e9f3b5a0d2c1e8b6f",
         priv="f1d8a3c6e9b24d5f8a7c3e0b6d9f2a1c", abp="6c4a2e8f1b9d4a3c8e5f7b0a1d2c9e4f",
         xp="99b8510fd70f68597358ae7fde2a2484")
M = dict(svc="3b8f2d6e1a7c4b9d8e0f5a2c4d6b8e1f", ems="d2a7c5e83f1b4a6c9d0e7b3f5a1c8d4e",
         priv="7f3c9a1e5b2d4f8a9c6e0d1b3a5f7c2e", abp="a4e1b8d3c6f24e9a8b7d5c0e2f1a3b6d",
         xp="afece279c7ac68c91b464418216c206c")
E = dict(svc="57ff88f6eeba4b0fb5a109e1d8eecf08", ems="d7cb18a4a815c1c7ab203f89f410411e",
         priv="f9637ebb77b3590b47f810dc18609354", arch="2828914474b21e83146462b9f186ba88",
         abp="bfc452f0404968a9e26cc7922344cd47", xp="36b64c17a2b1add9a9fc76e7ae57612c")
PST = dict(svc="9a5d3f7c1e2b4d8f9c6a0b3e5d7f1a2c", prov="0b6e2a9d5c3f4e1a8d7b9c2f4a6e0d3b")
CONTAB = dict(svc="c09916743f84dd91a41e2f54145526d1", abp="cb4e53979e63282b661bf001170173b2")

EMSMDB_PROVIDER_UID = "38a1bb1005e5101aa1bb08002b2a56c2"
WRAP_PRIVATE = "1b55fa20aa6611cd9bc800aa002fc45a"
WRAP_PUBLIC = "1c830210aa6611cd9bc800aa002fc45a"
MUID_EMS_AB = "dca740c8c042101ab4b908002b2fe182"


def store_entryid(wrapped, wtype, server, dn):
    """Exchange store entry ID (MS-OXCDATA 2.2.4.3 layout): flags, provider
    UID, version, flag, "emsmdb.dll", wrapped flags/UID/type, server, DN.
    It embeds the server name and the mailbox DN in ASCII."""
    dll = b"emsmdb.dll\0" + b"\0" * 3
    return (b"\0\0\0\0" + uid(EMSMDB_PROVIDER_UID) + b"\0\0" + dll + b"\0\0\0\0"
            + uid(wrapped) + u32(wtype) + server.encode() + b"\0" + dn.encode() + b"\0")


def ab_entryid(dn):
    """Exchange address-book entry ID (MS-OXCDATA 2.2.5.2): flags, the
    EMS AB provider UID, version 1, type 0 (mailbox), the DN in ASCII."""
    return b"\0\0\0\0" + uid(MUID_EMS_AB) + u32(1) + u32(0) + dn.encode() + b"\0"


# A DPAPI-protected blob as Outlook 2013+ keeps in "S010267f0" (not a
# property: never read, never changed).  The header is DPAPI's fixed one;
# the rest is made up.
S010267F0 = (bytes.fromhex("01000000d08c9ddf0115d1118c7a00c04fc297eb01000000")
             + bytes.fromhex("5e1f0a3b7c2d49e68f1a2b3c4d5e6f700000000002000000")
             + bytes(range(0x90, 0xd0)))
NONPROP = "S010267f0"

# ---------------------------------------------------------------------------
# Input builders (what Outlook 2016 writes, as seen in real profiles); these
# build INPUT only.
# ---------------------------------------------------------------------------


def T(i, t):
    return (i << 16) | t


def sec(p, u):
    return p + "\\" + u


def outlook_root(reg, office=OFFICE16, default=None):
    out = reg.add_key(office + r"\Outlook")
    if default is not None:
        reg.put(out, "DefaultProfile", "sz", default)
    reg.add_key(out + r"\Options\Mail")
    reg.put(out + r"\Options\Mail", "EditorPreference", "dword", 0x00020001)
    reg.add_key(out + r"\Profiles")
    return out + r"\Profiles"


def other_software(reg):
    """Non-Outlook keys of a HKCU\\Software export."""
    reg.put(HKCU + r"\Software\Fabrikam\LogonScript", "Script", "sz", r"\\fabrikam.local\NETLOGON\logon.cmd")
    reg.put(HKCU + r"\Software\Fabrikam\LogonScript", "LastRun", "sz", "2024-03-04 08:12:55")
    reg.put(OFFICE16 + r"\Common", "UI Theme", "dword", 3)
    reg.put(OFFICE16 + r"\Common\General", "ShownFirstRunOptin", "dword", 1)
    reg.put(OFFICE16 + r"\Common\Identity", "Version", "dword", 1)


def profile(reg, profiles_key, name, service_uids, legacy_ems, accounts):
    """accounts: [(service uid, smtp)] for the account manager.  The
    profile-wide provider lists of section 9207f3e0... are written by
    finish_profile() once the services exist."""
    p = reg.add_key(profiles_key + "\\" + name)
    reg.prop(sec(p, GLOBAL_SECT), T(0x3D15, PT_BINARY), uid(legacy_ems))
    reg.prop(sec(p, GLOBAL_SECT), T(0x041B, PT_LONG), 0)
    reg.prop(sec(p, GLOBAL_SECT), T(0x0324, PT_BINARY), bytes.fromhex("0a000000"))
    reg.prop(sec(p, SERVICES_SECT), T(0x3D0E, PT_BINARY), uids(*service_uids))
    am = sec(p, ACCT_MGR)
    reg.add_key(am)
    reg.put(am, "{ED475418-B0D6-11D2-8C3B-00104B2A6676}", "bin", b"".join(u32(i + 1) for i in range(len(accounts))))
    reg.put(am, "LastChangeVer", "bin", bytes.fromhex("0b00000000000000"))
    reg.put(am, "NextAccountID", "dword", len(accounts) + 1)
    for i, (svc, name) in enumerate(accounts):
        k = am + "\\%08x" % (i + 1)
        reg.put(k, "Account Name", "bin", name.encode("utf-16-le") + b"\0\0")
        reg.put(k, "clsid", "sz", CLSID_EXCHANGE)
        reg.put(k, "Mini UID", "dword", [0x5c3a91e2, 0x1f0b7d44, 0x6e2a0c93][i])
        reg.put(k, "Service UID", "bin", uid(svc))
    return p


def finish_profile(reg, p):
    """The profile-wide lists in 9207f3e0... (as MAPI keeps them): every
    service's store providers (01023d00), address-book providers (01023d01)
    and transport providers (01023d02), in PR_SERVICES order, before
    01023d0e.  Read from the input model's own service sections."""
    svcs = reg.find(sec(p, SERVICES_SECT), tag_name(T(0x3D0E, PT_BINARY)))[2]
    for t in (0x3D00, 0x3D01, 0x3D02):
        lst = b""
        for i in range(0, len(svcs), 16):
            v = reg.find(sec(p, svcs[i:i + 16].hex()), tag_name(T(t, PT_BINARY)))
            lst += v[2] if v else b""
        if lst:
            reg.put_before(sec(p, SERVICES_SECT), "01023d0e", tag_name(T(t, PT_BINARY)), "bin", lst)


def exchange_service(reg, p, U, display, providers, ascii_display=False, unicode_display=True,
                     fqdn=None, legacy=False):
    """The Exchange service section.  legacy: names as PT_STRING8 (001e3d09
    etc., an old profile); else PT_UNICODE as Outlook 2013+ writes them."""
    s = sec(p, U["svc"])
    st = PT_STRING8 if legacy else PT_UNICODE
    reg.prop(s, T(0x3D09, st), "MSEMS")
    reg.prop(s, T(0x3D0A, st), "emsui.dll" if legacy else "emsmdb.dll")
    reg.prop(s, T(0x3D0B, st), "EMSCfg")
    if not legacy:
        reg.prop(s, T(0x3D13, PT_UNICODE), EMS_CLSID)
    reg.prop(s, T(0x3D0C, PT_BINARY), uid(U["svc"]))
    if ascii_display:
        reg.prop(s, T(0x3001, PT_STRING8), display)
    if unicode_display:
        reg.prop(s, T(0x3001, PT_UNICODE), display)
    if fqdn:
        reg.prop(s, T(0x662A, PT_UNICODE), fqdn)
    reg.prop(s, T(0x3D15, PT_BINARY), uid(U["ems"]))
    reg.prop(s, T(0x3D00, PT_BINARY), uids(*providers))
    reg.prop(s, T(0x3D01, PT_BINARY), uid(U["abp"]))
    reg.prop(s, T(0x3D02, PT_BINARY), uid(U["xp"]))
    return s


def provider_head(reg, s, U, display, legacy=False, provider_display=None):
    """What every Exchange provider section starts with."""
    st = PT_STRING8 if legacy else PT_UNICODE
    reg.prop(s, T(0x3001, st), display)
    if provider_display:
        reg.prop(s, T(0x3006, st), provider_display)
    reg.prop(s, T(0x3D09, st), "MSEMS")
    reg.prop(s, T(0x300A, st), "emsmdb.dll" if legacy else "EMSMDB.DLL")
    if not legacy:
        reg.prop(s, T(0x3D13, PT_UNICODE), EMS_CLSID)
    reg.prop(s, T(0x3D0C, PT_BINARY), uid(U["svc"]))
    reg.prop(s, T(0x3D15, PT_BINARY), uid(U["ems"]))


def transport_provider(reg, p, U, mailbox, server, srv_dn, fqdn=None, legacy=False):
    """The Exchange transport provider section (named by 01023d02)."""
    s = sec(p, U["xp"])
    provider_head(reg, s, U, "Microsoft Exchange Transport", legacy, "Microsoft Exchange Transport")
    reg.prop(s, T(0x3E03, PT_LONG), 0x24)
    reg.prop(s, T(0x660B, PT_STRING8), mailbox)
    reg.prop(s, T(0x660C, PT_STRING8), server)
    reg.prop(s, T(0x6614, PT_STRING8), srv_dn)
    if fqdn:
        reg.prop(s, T(0x662B, PT_UNICODE), fqdn)
    return s


def ab_provider(reg, p, U, fqdn=None, legacy=False):
    """The Exchange address-book provider section (named by 01023d01)."""
    s = sec(p, U["abp"])
    provider_head(reg, s, U, "Microsoft Exchange Directory Service", legacy,
                  "Microsoft Exchange Directory Service")
    reg.prop(s, T(0x3E03, PT_LONG), 0x23)
    if fqdn:
        reg.prop(s, T(0x662A, PT_UNICODE), fqdn)
    return s


def store_provider(reg, p, U, puid, ptype, display, mailbox=None, server=None, fqdn=None, srv_dn=None,
                   smtp=None, record_key=None, entryid=None, legacy=False):
    s = sec(p, puid)
    provider_head(reg, s, U, display, legacy)
    reg.prop(s, T(0x660A, PT_LONG), ptype)
    if mailbox:
        reg.prop(s, T(0x660B, PT_STRING8), mailbox)
    if server:
        reg.prop(s, T(0x660C, PT_STRING8), server)
    if srv_dn:
        reg.prop(s, T(0x6614, PT_STRING8), srv_dn)
    if fqdn:
        reg.prop(s, T(0x662B, PT_UNICODE), fqdn)
    if smtp:
        reg.prop(s, T(0x6641, PT_UNICODE), smtp)
    if record_key:
        reg.prop(s, T(0x0FF9, PT_BINARY), uid(record_key))
    if entryid:
        reg.prop(s, T(0x0FFF, PT_BINARY), entryid)
    return s


def alice_emsmdb(reg, p, flags=0x00001180, ansi_ost=False, rpc_proxy=False, nonprop=False):
    """Alice's emsmdb section as Outlook 2016 leaves it (Exchange 2016 EXCH01)."""
    e = sec(p, A["ems"])
    reg.prop(e, T(0x6603, PT_STRING8), ALICE_SRC)
    reg.prop(e, T(0x6641, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x6641, PT_STRING8), "alice@fabrikam.com")
    reg.prop(e, T(0x6602, PT_STRING8), "EXCH01")
    reg.prop(e, T(0x662A, PT_UNICODE), "exch01.fabrikam.local")
    reg.prop(e, T(0x6608, PT_STRING8), "EXCH01")
    # Outlook writes the primary SMTP address as the unresolved name and the
    # display name of the emsmdb section (R9 renames them)
    reg.prop(e, T(0x6607, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x3001, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x6612, PT_STRING8), server_dn(SRC_ADMIN, "EXCH01"))
    reg.prop(e, T(0x6613, PT_MV_STRING8), ["ncacn_ip_tcp:exch01.fabrikam.local", "ncacn_http:exch01.fabrikam.local"])
    reg.prop(e, T(0x6614, PT_STRING8), server_dn(SRC_ADMIN, "EXCH01") + "/cn=Microsoft Private MDB")
    reg.prop(e, T(0x6601, PT_LONG), flags)
    if nonprop:
        # not a property: kept in place, never in a backup snapshot
        reg.put(e, NONPROP, "bin", S010267F0)
    reg.prop(e, T(0x6619, PT_LONG), 9)
    if ansi_ost:
        reg.prop(e, T(0x6610, PT_STRING8), r"C:\Users\alice\AppData\Local\Microsoft\Outlook\alice@fabrikam.com.ost")
    reg.prop(e, T(0x6610, PT_UNICODE), r"C:\Users\alice\AppData\Local\Microsoft\Outlook\alice@fabrikam.com.ost")
    reg.prop(e, T(0x6630, PT_BOOLEAN), 1)
    reg.prop(e, T(0x6617, PT_BINARY), bytes.fromhex("a73c19e4d25b0f8811c6e07d4b93f2a5"))
    reg.prop(e, T(0x664A, PT_UNICODE), "https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml")
    mbx = "?MailboxId=6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@fabrikam.com"
    reg.prop(e, T(0x6652, PT_UNICODE), "https://exch01.fabrikam.local/mapi/emsmdb/" + mbx)
    reg.prop(e, T(0x6653, PT_UNICODE), "https://mail.fabrikam.com/mapi/emsmdb/" + mbx)
    reg.prop(e, T(0x6654, PT_UNICODE), "https://exch01.fabrikam.local/mapi/nspi/" + mbx)
    reg.prop(e, T(0x6655, PT_UNICODE), "https://mail.fabrikam.com/mapi/nspi/" + mbx)
    if rpc_proxy:
        reg.prop(e, T(0x6622, PT_UNICODE), "mail.fabrikam.com")
        reg.prop(e, T(0x6623, PT_LONG), 0x0000002B)
        reg.prop(e, T(0x6625, PT_UNICODE), "msstd:mail.fabrikam.com")
        reg.prop(e, T(0x6627, PT_LONG), 1)
    reg.prop(e, T(0x6635, PT_LONG), 2)
    reg.prop(e, T(0x6636, PT_LONG), 7)
    reg.prop(e, T(0x660E, PT_UNICODE), "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\Offline Address Books\\e1d8f1c3-2a94-4b7e-9c51-0b4f6e2d7a38\\")
    reg.prop(e, T(0x663B, PT_BINARY), bytes.fromhex("0f000100c7070b00"))
    # 6620 and 663d hold the primary SMTP address in real profiles -> R9
    reg.prop(e, T(0x6620, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x663D, PT_UNICODE), "alice@fabrikam.com")
    # not in R1..R7/R9, names the source organisation only (an OAB DN) -> R8 (b)
    reg.prop(e, T(0x6618, PT_STRING8), SRC_ADMIN + "/cn=Configuration/cn=Address Lists Container/cn=Default Offline Address Book")
    # another server whose name merely starts with "exch01" -> must survive R8 (c)
    reg.prop(e, T(0x6621, PT_UNICODE), "exch010.fabrikam.local")
    # a made-up id no rule names, holding the home server's FQDN -> R8 (c)
    reg.prop(e, T(0x6760, PT_UNICODE), "exch01.fabrikam.local")
    reg.prop(e, T(0x3D01, PT_BINARY), uid(A["abp"]))
    reg.prop(e, T(0x3D02, PT_BINARY), uid(A["xp"]))
    reg.prop(e, T(0x3D0C, PT_BINARY), uid(A["svc"]))
    return e


def alice_archive(reg, p, guid, ptype=2):
    """An archive provider of alice's on-premises account (archive-guid-from-
    mapping): its mailbox is alice's DN + /guid=<archive guid>, on the
    archive's own server <guid>@fabrikam.com."""
    return store_provider(reg, p, A, A["arch"], ptype, "Online Archive - alice@fabrikam.com",
                          ALICE_SRC + "/guid=" + guid, guid + "@fabrikam", guid + "@fabrikam.com",
                          record_key="3d7f50121dc6c64107104ed5c3fda9e3",
                          entryid=store_entryid(WRAP_PRIVATE, 0x0C, guid + "@fabrikam.com", ALICE_SRC + "/guid=" + guid))


def alice_account(reg, p, delegate=False, archive=None, ascii_display=False, svc_fqdn=True, **kw):
    """alice's Exchange 2016 account: service, emsmdb, primary and public
    folders stores (then Bob's mailbox as a delegate store, then an archive
    when asked), transport and address-book providers."""
    provs = [A["priv"], A["pub"]] + ([A["dlg"]] if delegate else []) + ([A["arch"]] if archive else [])
    fq = "exch01.fabrikam.local"
    svc = exchange_service(reg, p, A, "alice@fabrikam.com", provs, ascii_display=ascii_display,
                           fqdn=fq if svc_fqdn else None)
    ems = alice_emsmdb(reg, p, **kw)
    priv = store_provider(reg, p, A, A["priv"], 1, "alice@fabrikam.com", ALICE_SRC, "EXCH01", fq,
                          server_dn(SRC_ADMIN, "EXCH01"), "alice@fabrikam.com", "d9353cb8414aabdc9dd30d5b6fcbf612",
                          store_entryid(WRAP_PRIVATE, 0x0C, "EXCH01", ALICE_SRC))
    pub = store_provider(reg, p, A, A["pub"], 3, "Public Folders - alice@fabrikam.com", None, "EXCH01", fq,
                         entryid=store_entryid(WRAP_PUBLIC, 0x06, "EXCH01",
                                               server_dn(SRC_ADMIN, "EXCH01") + "/cn=Microsoft Public MDB"))
    dlg = arch = None
    if delegate:
        dlg = store_provider(reg, p, A, A["dlg"], 2, "Mailbox - Bob Jones", BOB_SRC, "EXCH02", "exch02.fabrikam.local",
                             smtp="bob@fabrikam.com", entryid=store_entryid(WRAP_PRIVATE, 0x0C, "EXCH02", BOB_SRC))
    if archive:
        arch = alice_archive(reg, p, archive)
    xp = transport_provider(reg, p, A, ALICE_SRC, "EXCH01", server_dn(SRC_ADMIN, "EXCH01"), fq)
    ab = ab_provider(reg, p, A, fq)
    return dict(svc=svc, ems=ems, priv=priv, pub=pub, dlg=dlg, arch=arch, xp=xp, abp=ab)


def second_account(reg, p, U, cn, smtp, display_name, server="EXCH02"):
    """A second Exchange account (shared mailbox added as an account), on EXCH02,
    from an older profile: names as PT_STRING8 (001e3d09...), only the
    PT_STRING8 SMTP (001e6641) in its emsmdb, which names no transport or
    address-book provider (the service section does)."""
    fq = server.lower() + ".fabrikam.local"
    svc = exchange_service(reg, p, U, smtp, [U["priv"]], fqdn=fq, legacy=True)
    e = sec(p, U["ems"])
    reg.prop(e, T(0x6603, PT_STRING8), src_dn(cn))
    reg.prop(e, T(0x6641, PT_STRING8), smtp)
    reg.prop(e, T(0x6602, PT_STRING8), server)
    reg.prop(e, T(0x662A, PT_UNICODE), fq)
    reg.prop(e, T(0x6612, PT_STRING8), server_dn(SRC_ADMIN, server))
    reg.prop(e, T(0x6614, PT_STRING8), server_dn(SRC_ADMIN, server) + "/cn=Microsoft Private MDB")
    reg.prop(e, T(0x6601, PT_LONG), 0x00000180)
    reg.prop(e, T(0x6610, PT_UNICODE), "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\" + smtp + ".ost")
    reg.prop(e, T(0x664A, PT_UNICODE), "https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml")
    reg.prop(e, T(0x6652, PT_UNICODE), "https://" + fq + "/mapi/emsmdb/?MailboxId=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a@fabrikam.com")
    reg.prop(e, T(0x6654, PT_UNICODE), "https://" + fq + "/mapi/nspi/?MailboxId=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a@fabrikam.com")
    reg.prop(e, T(0x6635, PT_LONG), 1)
    reg.prop(e, T(0x6636, PT_LONG), 0)
    reg.prop(e, T(0x6619, PT_LONG), 9)
    reg.prop(e, T(0x3D0C, PT_BINARY), uid(U["svc"]))
    priv = store_provider(reg, p, U, U["priv"], 1, "Mailbox - " + display_name, src_dn(cn), server, fq,
                          server_dn(SRC_ADMIN, server), entryid=store_entryid(WRAP_PRIVATE, 0x0C, server, src_dn(cn)),
                          legacy=True)
    xp = transport_provider(reg, p, U, src_dn(cn), server, server_dn(SRC_ADMIN, server), fq, legacy=True)
    ab = ab_provider(reg, p, U, fq, legacy=True)
    return dict(svc=svc, ems=e, priv=priv, xp=xp, abp=ab)


def pst_service(reg, p):
    path = r"C:\Users\alice\Documents\Outlook Files\archive.pst"
    s = sec(p, PST["svc"])
    reg.prop(s, T(0x3D09, PT_UNICODE), "MSUPST MS")
    reg.prop(s, T(0x3D0A, PT_UNICODE), "mspst.dll")
    reg.prop(s, T(0x3D0B, PT_UNICODE), "NSTServiceEntry")
    reg.prop(s, T(0x3D0C, PT_BINARY), uid(PST["svc"]))
    reg.prop(s, T(0x3001, PT_UNICODE), "Archive")
    reg.prop(s, T(0x6700, PT_UNICODE), path)
    reg.prop(s, T(0x3D00, PT_BINARY), uid(PST["prov"]))
    v = sec(p, PST["prov"])
    reg.prop(v, T(0x3D09, PT_UNICODE), "MSUPST MS")
    reg.prop(v, T(0x300A, PT_UNICODE), "mspst.dll")
    reg.prop(v, T(0x3D0C, PT_BINARY), uid(PST["svc"]))
    reg.prop(v, T(0x3001, PT_UNICODE), "Archive")
    reg.prop(v, T(0x6700, PT_UNICODE), path)
    reg.prop(v, T(0x6702, PT_LONG), 0x20000000)
    return s


def contab_service(reg, p):
    """The Outlook Address Book (CONTAB) service and its address-book provider."""
    s = sec(p, CONTAB["svc"])
    reg.prop(s, T(0x3001, PT_UNICODE), "Outlook Address Book")
    reg.prop(s, T(0x3D09, PT_UNICODE), "CONTAB")
    reg.prop(s, T(0x3D0A, PT_UNICODE), "contab.dll")
    reg.prop(s, T(0x3D0B, PT_UNICODE), "ServiceEntry")
    reg.prop(s, T(0x3D13, PT_UNICODE), CONTAB_CLSID)
    reg.prop(s, T(0x3D0C, PT_BINARY), uid(CONTAB["svc"]))
    reg.prop(s, T(0x3D01, PT_BINARY), uid(CONTAB["abp"]))
    v = sec(p, CONTAB["abp"])
    reg.prop(v, T(0x3001, PT_UNICODE), "Outlook Address Book")
    reg.prop(v, T(0x3006, PT_UNICODE), "Outlook Address Book")
    reg.prop(v, T(0x300A, PT_UNICODE), "contab.dll")
    reg.prop(v, T(0x3D09, PT_UNICODE), "CONTAB")
    reg.prop(v, T(0x3E03, PT_LONG), 0x23)
    reg.prop(v, T(0x3D0C, PT_BINARY), uid(CONTAB["svc"]))
    reg.prop(v, T(0x6627, PT_MV_UNICODE), ["alice@fabrikam.com"])
    reg.prop(v, T(0x6628, PT_MV_UNICODE), ["Contacts"])
    return s


# ---------------------------------------------------------------------------
# Hand-listed edits shared by scenarios whose alice sections are identical.
# Each function is a literal list of edits, NOT a rule engine.
# The primary unit's scope is the whole Exchange service: the service
# section, the emsmdb section, the primary, public-folder and archive store
# providers, and the transport and address-book providers.
# ---------------------------------------------------------------------------

def edits_alice_to_exo(exp, p):
    """alice, built by alice_account() with defaults; mapping line:
    SRC=ALICE_SRC TGT=ALICE_TGT SMTP=alice@contoso.com SERVER=outlook.office365.com;
    config ResetOAB=1, OST=keep, CachedMode=keep.  OLD (R9) = the emsmdb's
    6641 before = alice@fabrikam.com.  Source server names (R8 c): EXCH01,
    exch01.fabrikam.local and its first label exch01."""
    svc, ems, priv, pub = sec(p, A["svc"]), sec(p, A["ems"]), sec(p, A["priv"]), sec(p, A["pub"])
    xp, ab = sec(p, A["xp"]), sec(p, A["abp"])
    # service section
    exp.set(svc, 0x3001001F, "alice@contoso.com")                  # R9: 3001 == OLD
    exp.set(svc, 0x662A001F, EXO)                                   # R3 home server FQDN
    # kept: 3d09 MSEMS, 3d0a, 3d0b, 3d13, 3d0c, 3d15, 3d00, 3d01, 3d02
    # emsmdb section
    exp.set(ems, 0x6603001E, ALICE_TGT)                             # R1: PR_PROFILE_USER == SRC
    exp.set(ems, 0x6641001F, "alice@contoso.com")                   # R2
    exp.set(ems, 0x6641001E, "alice@contoso.com")                   # R2 (every type present)
    exp.set(ems, 0x6602001E, EXO)                                   # R3 home server
    exp.set(ems, 0x662A001F, EXO)                                   # R3 home server FQDN
    exp.set(ems, 0x6608001E, EXO)                                   # R3 unresolved server
    exp.set(ems, 0x6607001F, "alice@contoso.com")                   # R9: 6607 == OLD
    exp.set(ems, 0x3001001F, "alice@contoso.com")                   # R9: 3001 == OLD
    exp.delete(ems, 0x6612001E)                                     # R4 home server DN
    exp.delete(ems, 0x6613101E)                                     # R4 home server addrs
    exp.delete(ems, 0x6614001E)                                     # R4 server DN
    exp.delete(ems, 0x664A001F)                                     # R4 LKG autodiscover URL
    exp.delete(ems, 0x6652001F)                                     # R4 MAPI/HTTP
    exp.delete(ems, 0x6653001F)                                     # R4 MAPI/HTTP
    exp.delete(ems, 0x6654001F)                                     # R4 MAPI/HTTP
    exp.delete(ems, 0x6655001F)                                     # R4 MAPI/HTTP
    exp.delete(ems, 0x66350003)                                     # R5 OAB full attempts
    exp.delete(ems, 0x66360003)                                     # R5 OAB incr attempts
    exp.delete(ems, 0x660E001F)                                     # R5 OAB folder
    exp.delete(ems, 0x663B0102)                                     # R4 server full version
    exp.set(ems, 0x6620001F, "alice@contoso.com")                   # R9: 6620 == OLD
    exp.set(ems, 0x663D001F, "alice@contoso.com")                   # R9: 663d == OLD
    exp.delete(ems, 0x6618001E)                                     # R8 (b): contains "/o=Fabrikam/"
    exp.delete(ems, 0x6760001F)                                     # R8 (c): "exch01.fabrikam.local"
    # kept: 6601, 6619, 6610 (OST=keep, R8 exception), 6630, 6617,
    #       6621 "exch010..." (R8 (c) boundary: "exch01" followed by a digit),
    #       3d01, 3d02, 3d0c; S010267f0 when present (not a property)
    # primary provider
    exp.set(priv, 0x3001001F, "alice@contoso.com")                  # R9: 3001 == OLD
    exp.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    exp.set(priv, 0x660C001E, EXO)                                  # R3 provider server
    exp.delete(priv, 0x6614001E)                                    # R4 server DN
    exp.set(priv, 0x662B001F, EXO)                                  # R3 provider server FQDN
    exp.set(priv, 0x6641001F, "alice@contoso.com")                  # R2
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a): entry ID embeds SRC
    # kept: 0ff9 (record key), 3d09, 300a, 3d13, 3d0c, 3d15, 660a
    # public folders provider
    exp.set(pub, 0x3001001F, "Public Folders - alice@contoso.com")  # R9: ends with " - " + OLD
    exp.set(pub, 0x660C001E, EXO)                                   # R3
    exp.set(pub, 0x662B001F, EXO)                                   # R3
    exp.delete(pub, 0x0FFF0102)                                     # R8 (b)(c): /o=Fabrikam/, EXCH01
    # transport provider
    exp.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    exp.set(xp, 0x660C001E, EXO)                                    # R3
    exp.delete(xp, 0x6614001E)                                      # R4 server DN
    exp.set(xp, 0x662B001F, EXO)                                    # R3
    # kept: 3001/3006 "Microsoft Exchange Transport", 3d09, 300a, 3d13, 3d0c, 3d15, 3e03
    # address-book provider
    exp.set(ab, 0x662A001F, EXO)                                    # R3


def alice_sections(inp, p, *extra_stores):
    """Backup order for alice when every section of her service changed:
    service, emsmdb, store providers in PR_STORE_PROVIDERS order (priv,
    pub, then `extra_stores` as listed), transport (01023d02), address
    book (01023d01)."""
    order = [A["svc"], A["ems"], A["priv"], A["pub"]] + list(extra_stores) + [A["xp"], A["abp"]]
    return [(u, inp.snapshot(sec(p, u))) for u in order]


def alice_gen1(inp, p, state=2):
    """Generation of alice's update to EXO when every section changed."""
    return backup_blob(state, [(ROW_A, ALICE_SRC, ALICE_TGT)], alice_sections(inp, p))


def add_backup(exp, p, gens):
    """gens: [(n, blob)]; the backup section is a new key with one value per generation."""
    b = sec(p, BACKUP_UID)
    for n, blob in gens:
        exp.put(b, tag_name(gen_tag(n)), "bin", blob)


# ---------------------------------------------------------------------------
# Scenario file writing
# ---------------------------------------------------------------------------

MAP_HEADER = "SourceLegacyDN|TargetLegacyDN|TargetSMTP|SourceSMTP|TargetServer"


def mapline(*f):
    return "|".join(f)


def std_mapping(alice_server=EXO, extra=()):
    lines = [MAP_HEADER,
             mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
             mapline(ALICE_SRC, ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com", alice_server),
             mapline(DAVE_SRC, DAVE_TGT, "dave@contoso.com", "dave@fabrikam.com", EXO)]
    lines += list(extra)
    return "\n".join(lines) + "\n"


def config(ost="keep", reset_oab=1, cached="keep", profiles="all", extra=(), crlf=False, running="defer",
           ost_orgs="keep"):
    """ost_orgs: OSTAcrossOrganisations.  Scenarios made before it keep the OST
    across organisations (their hand-derived registries leave 6610 as it was);
    ost_orgs=None writes no line, so the default (rename) applies."""
    lines = ["[Settings]", "Profiles=%s" % profiles, "OutlookRunning=%s" % running,
             "OST=%s" % ost, "ResetOAB=%d" % reset_oab, "CachedMode=%s" % cached]
    if ost_orgs is not None:
        lines.append("OSTAcrossOrganisations=%s" % ost_orgs)
    lines += list(extra)
    nl = "\r\n" if crlf else "\n"
    return nl.join(lines) + nl


UPDATE = "update --store {store} --mapping %s --config config.ini --report {report}"


class Step:
    def __init__(self, command, exit=0, rows=(), unchanged=None, store=None, stderr=(), locked=None,
                 stdout=(), requests=None, identical=None):
        self.identical = identical      # the store must be byte for byte this file (export runs)
        self.command, self.exit, self.rows = command, exit, list(rows)
        self.unchanged, self.store, self.stderr = unchanged, store, list(stderr)
        self.stdout, self.requests = list(stdout), requests
        self.locked = locked            # 1: the runner holds the store's lock (flock on its lock file) during the step


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# Scenarios that cannot run under Wine, and why ([Scenario] Wine = ...;
# tests/scenario_run.c --wine skips them with the reason).  Keep it short.
WINE_SKIP = {
}
# Scenarios that cannot run on real MAPI under Wine ([Scenario] MAPI = ...;
# only scenario.wine.NAME is skipped, the export run still runs).
MAPI_SKIP = {
    "truncated-export":
        "its input is a cut export: the point is the export reader's "
        "refusal; under MAPI the provider cannot load it and MAPI itself "
        "is unavailable (exit 69)",
}


def scenario(name, description, keywords, inp, files, steps, expects, fmt="v5", raw_input=None,
             mapi_expects=None, settings=None):
    """expects: {"HKCU.reg": Registry, "HKCU.wave1.reg": Registry, ...} (under expect/);
    files: {"mapping.puf": text, "config.ini": text} written as UTF-8;
    mapi_expects: the same for a run through MAPI where it differs
    (expect/mapi/, see mapi_view())."""
    d = os.path.join(SCEN, name)
    # expect/ is wholly generated; other hand-added content (e.g. autodiscover/) is left alone
    if os.path.isdir(os.path.join(d, "expect")):
        shutil.rmtree(os.path.join(d, "expect"))
    os.makedirs(d, exist_ok=True)
    write_bytes(os.path.join(d, "HKCU.reg"), raw_input if raw_input is not None else render(inp, fmt))
    for fn, text in files.items():
        write_bytes(os.path.join(d, fn), text.encode("utf-8"))
    for fn, reg in expects.items():
        write_bytes(os.path.join(d, "expect", fn), render(reg, fmt))
    for fn, reg in (mapi_expects or {}).items():
        write_bytes(os.path.join(d, "expect", "mapi", fn), render(reg, fmt))
    out = ["[Scenario]", "Description = " + description, "Keywords = " + ", ".join(keywords)]
    if name in WINE_SKIP:
        out.append("Wine = " + WINE_SKIP[name])
    if name in MAPI_SKIP:
        out.append("MAPI = " + MAPI_SKIP[name])
    # [Scenario] keys of the runner (tests/scenario_run.c), e.g. AdAccount
    for k, v in (settings or {}).items():
        out.append("%s = %s" % (k, v))
    out.append("")
    for i, st in enumerate(steps, 1):
        out.append("[Step %d]" % i)
        out.append("Command = " + st.command)
        if st.locked is not None:
            out.append("Locked = %d" % st.locked)
        out.append("Exit = %d" % st.exit)
        for r in st.rows:
            out.append("Row = " + " | ".join(r))
        if st.unchanged is not None:
            out.append("Unchanged = %d" % st.unchanged)
        if st.store:
            out.append("Store = " + st.store)
        for s in st.stderr:
            out.append("Stderr = " + s)
        for s in st.stdout:
            out.append("Stdout = " + s)
        if st.identical:
            out.append("Identical = " + st.identical)
        if st.requests:
            out.append("Requests = " + st.requests)
        out.append("")
    write_bytes(os.path.join(d, "scenario.ini"), "\n".join(out).encode("utf-8"))


# ---------------------------------------------------------------------------
# Standard inputs
# ---------------------------------------------------------------------------

def basic_input(root=OFFICE16 + r"\Outlook", wide=False, name="Outlook", **kw):
    """One profile, alice's Exchange account + nothing else."""
    reg = Registry(HKCU + r"\Software" if wide else root)
    if wide:
        other_software(reg)
    profs = outlook_root(reg, default=name)
    p = profile(reg, profs, name, [A["svc"]], A["ems"], [(A["svc"], "alice@fabrikam.com")])
    alice_account(reg, p, **kw)
    finish_profile(reg, p)
    return reg, p


def multi_input(sales_smtp="sales@fabrikam.com"):
    """alice + the sales mailbox as a second account + a PST.  The sales
    account was written by a script: its PT_STRING8 values are REG_BINARY."""
    reg = Registry(HKCU + r"\Software")
    other_software(reg)
    profs = outlook_root(reg, default="Outlook")
    p = profile(reg, profs, "Outlook", [A["svc"], S["svc"], PST["svc"]], A["ems"],
                [(A["svc"], "alice@fabrikam.com"), (S["svc"], sales_smtp)])
    alice_account(reg, p, ascii_display=True, rpc_proxy=True)
    # provider section written by an old Outlook with the DN in capitals (R1 is case-insensitive)
    reg.prop(sec(p, A["priv"]), 0x660B001E, ALICE_SRC.upper())
    second_account(reg, p, S, "sales", sales_smtp, "Sales")
    for u in (S["svc"], S["ems"], S["priv"], S["xp"], S["abp"]):
        reg.binary_strings(sec(p, u))
    pst_service(reg, p)
    finish_profile(reg, p)
    return reg, p


def edits_alice_multi(exp, p):
    """alice in multi_input(): like edits_alice_to_exo plus 001e3001 and RPC/HTTP props."""
    svc, ems = sec(p, A["svc"]), sec(p, A["ems"])
    edits_alice_to_exo(exp, p)                                      # everything listed there, plus:
    exp.set(svc, 0x3001001E, "alice@contoso.com")                   # R9 (PT_STRING8 copy too, REG_SZ)
    exp.delete(ems, 0x6622001F)                                     # R4 RPC proxy server
    exp.delete(ems, 0x66230003)                                     # R4 RPC proxy flags
    exp.delete(ems, 0x6625001F)                                     # R4 RPC proxy principal
    exp.delete(ems, 0x66270003)                                     # R4 RPC proxy auth
    # primary provider 660b is stored in capitals: R1 replaces it (done in edits_alice_to_exo)


# ---------------------------------------------------------------------------
# The scenarios
# ---------------------------------------------------------------------------

ROW_A = "alice@fabrikam.com"
ROW_A_NEW = "alice@contoso.com"


def sc_basic():
    inp, p = basic_input()
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("basic-update",
             "One Outlook 2016 profile with alice's on-premises Exchange 2016 mailbox (EXCH01); the mapping moves her to "
             "Exchange Online: DN, SMTP, servers and Autodiscover/OAB caches are repointed in every section of her "
             "Exchange service (transport and address-book providers too) and a backup generation is stored.",
             ["update", "R1", "R2", "R3", "R4", "R5", "R8", "R9", "backup", "transport-provider", "ab-provider"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})
    return inp, exp


def sc_already_updated(basic_after):
    inp = basic_after.copy()
    scenario("already-updated",
             "Second logon after the migration: alice's profile already points at Exchange Online and holds a committed "
             "backup; the same mapping must leave the profile byte-for-byte alone.",
             ["update", "already-updated", "idempotent", "logon-script"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A_NEW, "already-updated")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_not_migrated():
    inp, p = basic_input()
    mapping = "\n".join([MAP_HEADER,
                         mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
                         mapline(DAVE_SRC, DAVE_TGT, "dave@contoso.com", "dave@fabrikam.com", EXO)]) + "\n"
    scenario("not-migrated",
             "Alice's mailbox is not in this migration batch: her profile is reported not-migrated and not touched.",
             ["update", "not-migrated", "batch"],
             inp, {"mapping.puf": mapping, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "not-migrated")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_dry_run():
    inp, p = basic_input(wide=True)
    scenario("dry-run",
             "Pre-migration rehearsal with --dry-run on a full HKCU\\Software export: alice would be updated, nothing is written.",
             ["update", "dry-run", "would-update", "rehearsal"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf" + " --dry-run", 0, [("Outlook", ROW_A, "would-update")], 1)],
             {"HKCU.reg": inp.copy()})


def multi_csv():
    q = lambda *f: ",".join('"%s"' % x for x in f)
    lines = [q("SourceLegacyDN", "TargetLegacyDN", "TargetSMTP", "SourceSMTP", "TargetServer"),
             q(ALICE_SRC, ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com", EXO),
             q(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
             q(SALES_SRC, SALES_TGT, "sales@contoso.com", "sales@fabrikam.com", "")]
    return "\r\n".join(lines) + "\r\n"


def edits_sales(exp, p):
    """sales (second_account, EXCH02, PT_STRING8 as REG_BINARY: `set` keeps
    that form); mapping: SMTP sales@contoso.com, no TargetServer.  OLD (R9)
    = sales@fabrikam.com.  Transport and address-book providers are named
    by the service section (its emsmdb names none)."""
    svc, ems, priv = sec(p, S["svc"]), sec(p, S["ems"]), sec(p, S["priv"])
    xp, ab = sec(p, S["xp"]), sec(p, S["abp"])
    exp.set(svc, 0x3001001F, "sales@contoso.com")                   # R9: 3001 == OLD
    exp.delete(svc, 0x662A001F)                                     # R3 no TargetServer -> deleted
    # kept: 001e3d09 MSEMS, 001e3d0a, 001e3d0b (REG_BINARY), 3d0c, 3d15, 3d00, 3d01, 3d02
    exp.set(ems, 0x6603001E, SALES_TGT)                             # R1
    exp.set(ems, 0x6641001E, "sales@contoso.com")                   # R2 (only the 001e variant exists: no add)
    exp.delete(ems, 0x6602001E)                                     # R3 no TargetServer -> deleted
    exp.delete(ems, 0x662A001F)                                     # R3
    exp.delete(ems, 0x6612001E)                                     # R4
    exp.delete(ems, 0x6614001E)                                     # R4
    exp.delete(ems, 0x664A001F)                                     # R4
    exp.delete(ems, 0x6652001F)                                     # R4
    exp.delete(ems, 0x6654001F)                                     # R4
    exp.delete(ems, 0x66350003)                                     # R5
    exp.delete(ems, 0x66360003)                                     # R5
    # kept: 6601, 6610 (OST=keep), 6619, 3d0c
    exp.set(priv, 0x660B001E, SALES_TGT)                            # R1
    exp.delete(priv, 0x660C001E)                                    # R3 deleted
    exp.delete(priv, 0x6614001E)                                    # R4
    exp.delete(priv, 0x662B001F)                                    # R3 deleted
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a) entry ID embeds SRC
    # "Mailbox - Sales" (001e3001) stays: neither OLD nor "... - OLD"
    exp.set(xp, 0x660B001E, SALES_TGT)                              # R1
    exp.delete(xp, 0x660C001E)                                      # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    exp.delete(xp, 0x662B001F)                                      # R3
    exp.delete(ab, 0x662A001F)                                      # R3


def sales_sections(inp, p):
    order = [S["svc"], S["ems"], S["priv"], S["xp"], S["abp"]]
    return [(u, inp.snapshot(sec(p, u))) for u in order]


def sc_multi_both():
    inp, p = multi_input()
    exp = inp.copy()
    edits_alice_multi(exp, p)
    edits_sales(exp, p)
    # PST service + provider: untouched (rule 2: non-MSEMS services are never touched)
    # sales' PT_STRING8 values are REG_BINARY: the generation is PSB2 (form 1 for them)
    blob = backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_TGT), ("sales@fabrikam.com", SALES_SRC, SALES_TGT)],
                       alice_sections(inp, p) + sales_sections(inp, p))
    assert blob[:4] == b"PSB2"
    add_backup(exp, p, [(1, blob)])
    scenario("multi-account-both",
             "A profile with two Exchange accounts (alice and the sales mailbox added as its own account, written by a "
             "script with its 8-bit strings as REG_BINARY) and an archive PST; both mailboxes are migrated (CSV mapping "
             "from Excel), each string keeps its registry form, the PST stays as it was.",
             ["update", "multi-account", "csv-mapping", "pst", "R1", "R2", "R3", "R4", "R9", "case-insensitive-dn",
              "rpc-over-http", "reg-binary-string8", "PSB2"],
             inp, {"mapping.csv": multi_csv(), "config.ini": config()},
             [Step(UPDATE % "mapping.csv", 0, [("Outlook", ROW_A, "updated"), ("Outlook", "sales@fabrikam.com", "updated")], 0)],
             {"HKCU.reg": exp}, mapi_expects={"HKCU.reg": mapi_view(exp)})


def sc_multi_one():
    inp, p = multi_input()
    exp = inp.copy()
    edits_alice_multi(exp, p)
    # sales: not in the mapping -> every sales section byte-identical
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("multi-account-one",
             "Same two-account profile, but only alice is in this wave: alice is updated, the sales account is reported "
             "not-migrated and its sections stay byte-identical.",
             ["update", "multi-account", "partial", "not-migrated"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated"), ("Outlook", "sales@fabrikam.com", "not-migrated")], 0)],
             {"HKCU.reg": exp})


def wave_inputs():
    inp, p = basic_input(delegate=True)
    w1 = inp.copy()
    edits_alice_to_exo(w1, p)
    # delegate provider (bob, type 2) is not in alice's scope: untouched in wave 1
    add_backup(w1, p, [(1, alice_gen1(inp, p))])
    w2 = w1.copy()
    dlg = sec(p, A["dlg"])
    w2.set(dlg, 0x660B001E, BOB_TGT)                                 # R1 PR_PROFILE_MAILBOX == bob SRC
    w2.delete(dlg, 0x660C001E)                                       # R3 no TargetServer for bob
    w2.delete(dlg, 0x662B001F)                                       # R3
    w2.set(dlg, 0x6641001F, "bob@contoso.com")                       # R2
    w2.delete(dlg, 0x0FFF0102)                                       # R8 (a) entry ID embeds bob SRC
    # "Mailbox - Bob Jones" stays (R9 is the primary unit's only)
    # alice: already-updated, nothing changes.  Generation 2: unit bob, section = delegate provider
    blob2 = backup_blob(2, [(ROW_A_NEW + " / Mailbox - Bob Jones", BOB_SRC, BOB_TGT)], [(A["dlg"], w1.snapshot(dlg))])
    add_backup(w2, p, [(2, blob2)])
    m1 = std_mapping()
    m2 = std_mapping(extra=[mapline(BOB_SRC, BOB_TGT, "bob@contoso.com", "bob@fabrikam.com", "")])
    return inp, p, w1, w2, m1, m2


def sc_second_wave():
    inp, p, w1, w2, m1, m2 = wave_inputs()
    scenario("second-wave-delegate",
             "Alice opens Bob's mailbox as an additional mailbox. Wave 1 migrates alice only (Bob's mailbox stays on "
             "EXCH02); wave 2 migrates Bob and repoints just the delegate store, adding a second backup generation.",
             ["update", "delegate", "additional-mailbox", "waves", "backup-generations"],
             inp, {"mapping-wave1.puf": m1, "mapping-wave2.puf": m2, "config.ini": config()},
             [Step(UPDATE % "mapping-wave1.puf", 0, [("Outlook", ROW_A, "updated"),
                                                     ("Outlook", ROW_A + " / Mailbox - Bob Jones", "not-migrated")], 0,
                   store="expect/HKCU.wave1.reg"),
              Step(UPDATE % "mapping-wave2.puf", 0, [("Outlook", ROW_A_NEW, "already-updated"),
                                                     ("Outlook", ROW_A_NEW + " / Mailbox - Bob Jones", "updated")], 0)],
             {"HKCU.wave1.reg": w1, "HKCU.reg": w2})


def sc_rollback_waves():
    inp, p, w1, w2, m1, m2 = wave_inputs()
    scenario("rollback-two-generations",
             "After both migration waves the helpdesk rolls back twice: first only Bob's delegate store (newest "
             "generation), then alice's account, ending exactly at the original profile.",
             ["rollback", "backup-generations", "delegate"],
             inp, {"mapping-wave1.puf": m1, "mapping-wave2.puf": m2, "config.ini": config()},
             [Step(UPDATE % "mapping-wave1.puf", 0, [("Outlook", ROW_A, "updated"),
                                                     ("Outlook", ROW_A + " / Mailbox - Bob Jones", "not-migrated")], 0,
                   store="expect/HKCU.wave1.reg"),
              Step(UPDATE % "mapping-wave2.puf", 0, [("Outlook", ROW_A_NEW, "already-updated"),
                                                     ("Outlook", ROW_A_NEW + " / Mailbox - Bob Jones", "updated")], 0,
                   store="expect/HKCU.wave2.reg"),
              Step("rollback --store {store} --report {report}", 0,
                   [("Outlook", ROW_A_NEW + " / Mailbox - Bob Jones", "rolled-back")], 0, store="expect/HKCU.wave1.reg"),
              Step("rollback --store {store} --report {report}", 0, [("Outlook", ROW_A, "rolled-back")], 0,
                   identical="HKCU.reg")],
             {"HKCU.wave1.reg": w1, "HKCU.wave2.reg": w2, "HKCU.reg": inp.copy()})


def sc_rollback():
    # Outlook 2013+'s S010267f0 (not a property) sits among the emsmdb
    # section's values: update and rollback leave it where it is, and it
    # is not in the backup snapshot.
    inp, p = basic_input(wide=True, nonprop=True)
    upd = inp.copy()
    edits_alice_to_exo(upd, p)
    add_backup(upd, p, [(1, alice_gen1(inp, p))])
    scenario("rollback",
             "Alice is migrated, then the migration is called off: rollback --all restores every changed section from "
             "the backup and removes the backup section, leaving the registry exactly as exported (Outlook's "
             "S010267f0 value, which is not a property, stays where it was throughout).",
             ["update", "rollback", "backup", "S010267f0"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0, store="expect/HKCU.updated.reg"),
              Step("rollback --store {store} --all --report {report}", 0, [("Outlook", ROW_A, "rolled-back")], 0,
                   identical="HKCU.reg")],
             {"HKCU.updated.reg": upd, "HKCU.reg": inp.copy()},
             mapi_expects={"HKCU.updated.reg": mapi_view(upd)})


def sc_cleanup():
    inp, p = basic_input()
    upd = inp.copy()
    svc, ems, priv, pub = sec(p, A["svc"]), sec(p, A["ems"]), sec(p, A["priv"]), sec(p, A["pub"])
    xp, ab = sec(p, A["xp"]), sec(p, A["abp"])
    # mapping without TargetServer: R3 deletes instead of setting
    upd.set(svc, 0x3001001F, "alice@contoso.com")                   # R9
    upd.delete(svc, 0x662A001F)                                     # R3 (no TargetServer)
    upd.set(ems, 0x6603001E, ALICE_TGT)                             # R1
    upd.set(ems, 0x6641001F, "alice@contoso.com")                   # R2
    upd.set(ems, 0x6641001E, "alice@contoso.com")                   # R2
    upd.delete(ems, 0x6602001E)                                     # R3 (no TargetServer)
    upd.delete(ems, 0x662A001F)                                     # R3
    upd.delete(ems, 0x6608001E)                                     # R3
    upd.set(ems, 0x6607001F, "alice@contoso.com")                   # R9
    upd.set(ems, 0x3001001F, "alice@contoso.com")                   # R9
    upd.delete(ems, 0x6612001E)                                     # R4
    upd.delete(ems, 0x6613101E)                                     # R4
    upd.delete(ems, 0x6614001E)                                     # R4
    upd.delete(ems, 0x664A001F)                                     # R4
    upd.delete(ems, 0x6652001F)                                     # R4
    upd.delete(ems, 0x6653001F)                                     # R4
    upd.delete(ems, 0x6654001F)                                     # R4
    upd.delete(ems, 0x6655001F)                                     # R4
    upd.delete(ems, 0x66350003)                                     # R5
    upd.delete(ems, 0x66360003)                                     # R5
    upd.delete(ems, 0x660E001F)                                     # R5
    upd.delete(ems, 0x663B0102)                                     # R4
    upd.set(ems, 0x6620001F, "alice@contoso.com")                   # R9
    upd.set(ems, 0x663D001F, "alice@contoso.com")                   # R9
    upd.delete(ems, 0x6618001E)                                     # R8 (b)
    upd.delete(ems, 0x6760001F)                                     # R8 (c)
    # kept: 6621 "exch010..." (R8 (c) boundary)
    upd.set(priv, 0x3001001F, "alice@contoso.com")                  # R9
    upd.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    upd.delete(priv, 0x660C001E)                                    # R3
    upd.delete(priv, 0x6614001E)                                    # R4
    upd.delete(priv, 0x662B001F)                                    # R3
    upd.set(priv, 0x6641001F, "alice@contoso.com")                  # R2
    upd.delete(priv, 0x0FFF0102)                                    # R8 (a)
    upd.set(pub, 0x3001001F, "Public Folders - alice@contoso.com")  # R9 (" - " + OLD)
    upd.delete(pub, 0x660C001E)                                     # R3
    upd.delete(pub, 0x662B001F)                                     # R3
    upd.delete(pub, 0x0FFF0102)                                     # R8 (b)(c)
    upd.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    upd.delete(xp, 0x660C001E)                                      # R3
    upd.delete(xp, 0x6614001E)                                      # R4
    upd.delete(xp, 0x662B001F)                                      # R3
    upd.delete(ab, 0x662A001F)                                      # R3
    cleaned = upd.copy()
    add_backup(upd, p, [(1, alice_gen1(inp, p))])
    mapping = std_mapping(alice_server="")
    scenario("cleanup",
             "Weeks after a successful migration (no TargetServer: servers left to Autodiscover) the admin runs cleanup: "
             "the backup section goes, the updated profile stays; a later rollback has nothing to do.",
             ["update", "cleanup", "rollback", "R3-delete"],
             inp, {"mapping.puf": mapping, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0, store="expect/HKCU.updated.reg"),
              Step("cleanup --store {store} --report {report}", 0, [("Outlook", ROW_A, "cleaned")], 0, store="expect/HKCU.reg"),
              Step("rollback --store {store} --report {report}", 0, [], 1, stderr=["nothing to roll back"])],
             {"HKCU.updated.reg": upd, "HKCU.reg": cleaned})


def sc_bad_mapping():
    inp, p = basic_input()
    lines = [MAP_HEADER,
             mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
             # line 3: the SMTP address pasted into the SourceLegacyDN column (not a DN: no leading /o=)
             mapline("alice@fabrikam.com", ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com", EXO),
             mapline(DAVE_SRC, DAVE_TGT, "dave@contoso.com", "dave@fabrikam.com", EXO)]
    scenario("bad-mapping",
             "The mapping's line 3 has alice's SMTP address in the SourceLegacyDN column; the whole run is refused "
             "with the file and line named, and no profile is touched.",
             ["update", "mapping", "validation", "exit-65"],
             inp, {"mapping.puf": "\n".join(lines) + "\n", "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 65, [], 1, stderr=["mapping.puf:3:"])],
             {"HKCU.reg": inp.copy()})


def sc_truncated():
    inp, p = basic_input()
    full = render(inp)
    text = full[2:].decode("utf-16-le")
    # cut inside the continuation lines of the emsmdb section's 101e6613 value,
    # in the middle of a byte (one hex digit of it, then end of file)
    start = text.index('"101e6613"=hex:')
    cont = text.index("\r\n  ", start) + 4           # first continuation line
    cut = cont + 3 * 7 + 1                            # 7 whole bytes, then one hex digit
    raw = b"\xff\xfe" + text[:cut].encode("utf-16-le")
    d = os.path.join(SCEN, "truncated-export")
    scenario("truncated-export",
             "The export copied from the user's share was cut off in the middle of a hex value; the store is refused "
             "as malformed (file and line named) and nothing is written.",
             ["input", "malformed", "exit-66"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 66, [], 1, stderr=["HKCU.reg:"])],
             {}, raw_input=raw)
    assert not os.path.isdir(os.path.join(d, "expect"))


def sc_pst_only():
    reg = Registry(OFFICE16 + r"\Outlook")
    profs = outlook_root(reg, default="Outlook")
    p = reg.add_key(profs + r"\Outlook")
    reg.prop(sec(p, GLOBAL_SECT), T(0x041B, PT_LONG), 0)
    reg.prop(sec(p, SERVICES_SECT), T(0x3D0E, PT_BINARY), uid(PST["svc"]))
    pst_service(reg, p)
    finish_profile(reg, p)
    scenario("pst-only",
             "A home-user style profile with only a personal .pst file and no Exchange account: nothing to report, "
             "nothing changed.",
             ["update", "pst", "no-exchange"],
             reg, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [], 1)],
             {"HKCU.reg": reg.copy()})


def sc_unicode():
    name = "Outlook \u2013 M\u00fcller \u65e5\u672c"
    inp, p = basic_input(name=name)
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    positional = mapline(ALICE_SRC, ALICE_TGT, "alice@contoso.com", EXO) + "\n" + \
        mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", EXO) + "\n"
    scenario("unicode-profile-name",
             "The default profile is named 'Outlook \u2013 M\u00fcller \u65e5\u672c' (en dash, umlaut, CJK); it is "
             "found, updated and written back under the same name. The mapping has no header (positional columns).",
             ["update", "unicode", "profile-name", "positional-mapping"],
             inp, {"mapping.puf": positional, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [(name, ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_regedit4():
    inp, p = basic_input()
    # exported from a profile a script wrote: the emsmdb and primary store
    # sections hold their PT_STRING8 values as REG_BINARY 8-bit text; the
    # public-folder and transport sections as Outlook's REG_SZ
    inp.binary_strings(sec(p, A["ems"]))
    inp.binary_strings(sec(p, A["priv"]))
    exp = inp.copy()
    edits_alice_to_exo(exp, p)                                      # `set` keeps each value's form
    blob = alice_gen1(inp, p)
    assert blob[:4] == b"PSB2"
    add_backup(exp, p, [(1, blob)])
    tab = "\r\n".join(["SourceLegacyDN\tTargetLegacyDN\tTargetSMTP\tTargetServer",
                       "\t".join([ALICE_SRC, ALICE_TGT, "alice@contoso.com", EXO]),
                       "\t".join([DAVE_SRC, DAVE_TGT, "dave@contoso.com", EXO])]) + "\r\n"
    scenario("regedit4-export",
             "Same as basic-update, but the profile was exported in the old REGEDIT4 (Windows-1252) format, part of "
             "its 8-bit strings are REG_BINARY (the rest REG_SZ), and the mapping is tab-delimited with CRLF line "
             "ends; the store is written back as REGEDIT4 with every value in its form.",
             ["update", "regedit4", "ansi", "tab-mapping", "reg-binary-string8", "PSB2"],
             inp, {"mapping.tsv": tab, "config.ini": config(crlf=True)},
             [Step(UPDATE % "mapping.tsv", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp}, fmt="v4", mapi_expects={"HKCU.reg": mapi_view(exp)})


def sc_ost_rename_cached_on():
    inp, p = basic_input(flags=0x00000004, ansi_ost=True)
    exp = inp.copy()
    edits_alice_to_exo(exp, p)                                      # as basic-update, plus:
    ems = sec(p, A["ems"])
    new_ost = r"C:\Users\alice\AppData\Local\Microsoft\Outlook\alice@contoso.com.ost"
    exp.set(ems, 0x6610001E, new_ost)                               # R6 rename: DIR\SMTP.ost (every type)
    exp.set(ems, 0x6610001F, new_ost)                               # R6
    exp.set(ems, 0x66010003, 0x00000184)                            # R7 on: 0x4 | 0x180
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("ost-rename-cached-on",
             "Alice worked online (no cached mode); the migration turns cached mode on and points the profile at a new "
             "OST named after her new address, leaving the old .ost file on disk for a rollback.",
             ["update", "R6", "R7", "ost", "cached-mode"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(ost="rename", cached="on")},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_no_smtp():
    # an older profile: the service section has no server FQDN (662a)
    inp, p = basic_input(svc_fqdn=False)
    exp = inp.copy()
    ems, priv, pub = sec(p, A["ems"]), sec(p, A["priv"]), sec(p, A["pub"])
    xp, ab = sec(p, A["xp"]), sec(p, A["abp"])
    # mapping has only SourceLegacyDN and TargetLegacyDN: no R2, no R9, R3 deletes.
    # service section: nothing to change (no SMTP for R9, no 662a for R3) -> not in the backup
    exp.set(ems, 0x6603001E, ALICE_TGT)                             # R1
    exp.delete(ems, 0x6602001E)                                     # R3
    exp.delete(ems, 0x662A001F)                                     # R3
    exp.delete(ems, 0x6608001E)                                     # R3
    exp.delete(ems, 0x6612001E)                                     # R4
    exp.delete(ems, 0x6613101E)                                     # R4
    exp.delete(ems, 0x6614001E)                                     # R4
    exp.set(ems, 0x66010003, 0x00001000)                            # R7 off: 0x1180 & ~0x180
    exp.set(ems, 0x6610001F, r"C:\Users\alice\AppData\Local\Microsoft\Outlook\alice@fabrikam.com-migrated.ost")  # R6 rename, no SMTP
    exp.delete(ems, 0x664A001F)                                     # R4
    exp.delete(ems, 0x6652001F)                                     # R4
    exp.delete(ems, 0x6653001F)                                     # R4
    exp.delete(ems, 0x6654001F)                                     # R4
    exp.delete(ems, 0x6655001F)                                     # R4
    # ResetOAB=0: 6635, 6636, 660e kept (660e names no source)
    exp.delete(ems, 0x663B0102)                                     # R4
    exp.delete(ems, 0x6618001E)                                     # R8 (b)
    exp.delete(ems, 0x6760001F)                                     # R8 (c)
    # 6641 (both types), 6607, 3001, 6620, 663d "alice@fabrikam.com" kept: no SMTP given, names no DN/org/server
    exp.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    exp.delete(priv, 0x660C001E)                                    # R3
    exp.delete(priv, 0x6614001E)                                    # R4
    exp.delete(priv, 0x662B001F)                                    # R3
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a)
    exp.delete(pub, 0x660C001E)                                     # R3
    exp.delete(pub, 0x662B001F)                                     # R3
    exp.delete(pub, 0x0FFF0102)                                     # R8 (b)(c)
    exp.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    exp.delete(xp, 0x660C001E)                                      # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    exp.delete(xp, 0x662B001F)                                      # R3
    exp.delete(ab, 0x662A001F)                                      # R3
    secs = [(u, inp.snapshot(sec(p, u))) for u in (A["ems"], A["priv"], A["pub"], A["xp"], A["abp"])]
    add_backup(exp, p, [(1, backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_TGT)], secs))])
    mapping = "SourceLegacyDN|TargetLegacyDN\n" + mapline(ALICE_SRC, ALICE_TGT) + "\n" + mapline(DAVE_SRC, DAVE_TGT) + "\n"
    scenario("dn-only-rename-cached-off",
             "Cross-forest move where the admin only knows the new legacyExchangeDN: the SMTP address is kept, the OST "
             "is renamed to '-migrated', cached mode is switched off and the OAB cache kept (ResetOAB=0); the "
             "unchanged service section is not in the backup.",
             ["update", "R6", "R7", "no-smtp", "ResetOAB=0"],
             inp, {"mapping.puf": mapping, "config.ini": config(ost="rename", reset_oab=0, cached="off")},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_legacy_15():
    """Outlook 2013 (15.0) profile created long ago: the service display name is
    'Microsoft Exchange Server' (PT_STRING8 only), every string is PT_STRING8
    (REG_SZ), the emsmdb section has no 6641 and names no transport or
    address-book provider (the service section does), and nothing holds a
    server FQDN."""
    reg = Registry(OFFICE15 + r"\Outlook")
    profs = outlook_root(reg, office=OFFICE15, default="Outlook")
    p = profile(reg, profs, "Outlook", [M["svc"]], M["ems"], [(M["svc"], "Microsoft Exchange Server")])
    exchange_service(reg, p, M, "Microsoft Exchange Server", [M["priv"]], ascii_display=True, unicode_display=False,
                     legacy=True)
    e = sec(p, M["ems"])
    reg.prop(e, T(0x6603, PT_STRING8), ALICE_SRC)
    reg.prop(e, T(0x6602, PT_STRING8), "EXCH01")
    reg.prop(e, T(0x6608, PT_STRING8), "exch01")
    reg.prop(e, T(0x6612, PT_STRING8), server_dn(SRC_ADMIN, "EXCH01"))
    reg.prop(e, T(0x6614, PT_STRING8), server_dn(SRC_ADMIN, "EXCH01") + "/cn=Microsoft Private MDB")
    reg.prop(e, T(0x6601, PT_LONG), 0x00001180)
    reg.prop(e, T(0x6610, PT_STRING8), r"C:\Users\alice\AppData\Local\Microsoft\Outlook\Outlook.ost")
    reg.prop(e, T(0x660E, PT_STRING8), "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\Offline Address Books\\")
    reg.prop(e, T(0x6635, PT_LONG), 4)
    reg.prop(e, T(0x6636, PT_LONG), 12)
    reg.prop(e, T(0x6619, PT_LONG), 10)
    # old profile note: NetBIOS server name in a free-text prop (not an SMTP address here) -> R8 (c)
    reg.prop(e, T(0x6620, PT_STRING8), "Connected to EXCH01 (Exchange 2010)")
    reg.prop(e, T(0x3D0C, PT_BINARY), uid(M["svc"]))
    priv = store_provider(reg, p, M, M["priv"], 1, "Mailbox - Alice Smith", ALICE_SRC, "EXCH01",
                          entryid=store_entryid(WRAP_PRIVATE, 0x0C, "EXCH01", ALICE_SRC), legacy=True)
    xp = transport_provider(reg, p, M, ALICE_SRC, "EXCH01", server_dn(SRC_ADMIN, "EXCH01"), legacy=True)
    ab_provider(reg, p, M, legacy=True)
    finish_profile(reg, p)
    exp = reg.copy()
    exp.set(e, 0x6603001E, ALICE_TGT)                               # R1
    exp.set(e, 0x6602001E, EXO)                                     # R3
    exp.set(e, 0x6608001E, EXO)                                     # R3
    exp.delete(e, 0x6612001E)                                       # R4
    exp.delete(e, 0x6614001E)                                       # R4
    exp.delete(e, 0x660E001E)                                       # R5 (PT_STRING8 variant)
    exp.delete(e, 0x66350003)                                       # R5
    exp.delete(e, 0x66360003)                                       # R5
    exp.delete(e, 0x6620001E)                                       # R8 (c): "EXCH01" between spaces (not OLD: no R9)
    exp.add(e, 0x6641001F, "alice@contoso.com")                     # R2 add: emsmdb had no 6641 (appended last)
    exp.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    exp.set(priv, 0x660C001E, EXO)                                  # R3
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a)
    # "Mailbox - Alice Smith" stays: OLD is the mapping's SourceSMTP alice@fabrikam.com (no 6641)
    exp.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    exp.set(xp, 0x660C001E, EXO)                                    # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    # service section: 001e3001 "Microsoft Exchange Server" != OLD, no 662a -> unchanged
    # address-book provider: no 662a, nothing naming the source -> unchanged
    # -> neither is in the backup
    secs = [(u, reg.snapshot(sec(p, u))) for u in (M["ems"], M["priv"], M["xp"])]
    add_backup(exp, p, [(1, backup_blob(2, [("Microsoft Exchange Server", ALICE_SRC, ALICE_TGT)], secs))])
    scenario("outlook2013-legacy-profile",
             "An Outlook 2013 profile (Office\\15.0) first created by Outlook 2007: service named 'Microsoft Exchange "
             "Server', ANSI properties only and no SMTP property, so the account is named by its service and the new "
             "SMTP address is added; its transport and address-book providers are named by the service section.",
             ["update", "outlook-2013", "15.0", "R2-add", "account-name", "pt_string8", "001e3d09"],
             reg, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", "Microsoft Exchange Server", "updated")], 0)],
             {"HKCU.reg": exp})


def sc_processed_domains():
    inp, p = multi_input(sales_smtp="sales@tailspintoys.com")
    exp = inp.copy()
    edits_alice_multi(exp, p)
    # sales@tailspintoys.com: in the mapping, but its SMTP domain is not in ProcessedDomains -> not-migrated, untouched
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    mapping = std_mapping(extra=[mapline(SALES_SRC, SALES_TGT, "sales@tailspintoys.onmicrosoft.com", "sales@tailspintoys.com", EXO)])
    scenario("processed-domains",
             "Two accounts, both in the mapping, but this run is limited to fabrikam.com addresses (ProcessedDomains): "
             "the tailspintoys.com mailbox waits for its own cut-over.",
             ["update", "ProcessedDomains", "not-migrated", "multi-account"],
             inp, {"mapping.puf": mapping, "config.ini": config(extra=["ProcessedDomains=fabrikam.com"])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated"),
                                               ("Outlook", "sales@tailspintoys.com", "not-migrated")], 0)],
             {"HKCU.reg": exp})


def sc_ambiguous():
    reg = Registry(OFFICE16 + r"\Outlook")
    profs = outlook_root(reg, default="Outlook")
    p = profile(reg, profs, "Outlook", [A["svc"], S["svc"]], A["ems"],
                [(A["svc"], "alice@fabrikam.com"), (S["svc"], "asmith@fabrikam.com")])
    alice_account(reg, p)
    second_account(reg, p, S, "asmith", "asmith@fabrikam.com", "Alice Smith (old)")
    finish_profile(reg, p)
    # both source mailboxes were (wrongly) mapped to the same target
    mapping = std_mapping(extra=[mapline(ASMITH_SRC, ALICE_TGT, "alice@contoso.com", "asmith@fabrikam.com", EXO)])
    scenario("ambiguous",
             "Alice's profile also holds her old 'asmith' mailbox, and the mapping sends both to the same Exchange "
             "Online mailbox; the profile is blocked for an administrator and left unchanged.",
             ["update", "blocked-ambiguous", "exit-4", "multi-account"],
             reg, {"mapping.puf": mapping, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-ambiguous"),
                                               ("Outlook", "asmith@fabrikam.com", "blocked-ambiguous")], 1)],
             {"HKCU.reg": reg.copy()})


def sc_default_only():
    reg = Registry(HKCU + r"\Software")
    other_software(reg)
    profs = outlook_root(reg, default="Outlook")
    p = profile(reg, profs, "Outlook", [A["svc"]], A["ems"], [(A["svc"], "alice@fabrikam.com")])
    alice_account(reg, p)
    finish_profile(reg, p)
    q = profile(reg, profs, "Sales Desk", [S["svc"]], S["ems"], [(S["svc"], "sales@fabrikam.com")])
    second_account(reg, q, S, "sales", "sales@fabrikam.com", "Sales")
    finish_profile(reg, q)
    exp = reg.copy()
    edits_alice_to_exo(exp, p)
    add_backup(exp, p, [(1, alice_gen1(reg, p))])
    # profile "Sales Desk" is not the default: not selected, no row, untouched (though sales is in the mapping)
    mapping = std_mapping(extra=[mapline(SALES_SRC, SALES_TGT, "sales@contoso.com", "sales@fabrikam.com", "")])
    scenario("default-profile-only",
             "Two profiles (alice's default 'Outlook' and a 'Sales Desk' profile); Profiles=default updates only the "
             "default one.",
             ["update", "Profiles=default", "profile-selection"],
             reg, {"mapping.puf": mapping, "config.ini": config(profiles="default")},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


# ---------------------------------------------------------------------------
# Real-layout scenarios: Exchange Online profiles with an Online Archive,
# the mapping's TargetArchiveGuid, PT_STRING8 kept as REG_BINARY.
# ---------------------------------------------------------------------------

EXO_OST = r"C:\Users\alice\AppData\Local\Microsoft\Outlook\alice@fabrikam.com.ost"


def exo_input():
    """An Outlook 2016 profile on Exchange Online (Fabrikam's tenant), laid out
    like a real one: the Outlook Address Book (CONTAB) service first, then
    alice's Exchange service with her primary mailbox and Online Archive;
    servers are <mailbox guid>@<domain>, 6641 has the "SMTP:" prefix, and the
    profile keeps empty keys named after the servers."""
    reg = Registry(OFFICE16 + r"\Outlook")
    profs = outlook_root(reg, default="Outlook")
    p = profile(reg, profs, "Outlook", [CONTAB["svc"], E["svc"]], E["ems"], [(E["svc"], "alice@fabrikam.com")])
    contab_service(reg, p)
    srv, src = EXO_SRC_SERVER, ALICE_EXO_SRC
    arch_dn = src + "/guid=" + ARCHIVE_GUID
    exchange_service(reg, p, E, "alice@fabrikam.com", [E["priv"], E["arch"]], fqdn=srv)
    e = sec(p, E["ems"])
    reg.prop(e, T(0x6601, PT_LONG), 0x00000984)
    reg.prop(e, T(0x6619, PT_LONG), 0x8000F001)
    reg.prop(e, T(0x6623, PT_LONG), 0x0000002F)
    reg.prop(e, T(0x6627, PT_LONG), 1)
    reg.prop(e, T(0x6635, PT_LONG), 0)
    reg.prop(e, T(0x6636, PT_LONG), 0)
    reg.prop(e, T(0x6602, PT_STRING8), srv)
    reg.prop(e, T(0x6603, PT_STRING8), src)
    reg.prop(e, T(0x6608, PT_STRING8), srv)
    reg.prop(e, T(0x6612, PT_STRING8), server_dn(TGT_ADMIN, srv))
    # the OAB's DN names the source organisation /o=ExchangeLabs/ only, which
    # the target DN starts with too: R8 (b) does not apply -> kept
    reg.prop(e, T(0x6618, PT_STRING8), TGT_ADMIN + "/cn=Configuration/cn=Address Lists Container/cn=Default Offline Address Book")
    reg.prop(e, T(0x3001, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x3D16, PT_UNICODE), "alice.smith@fabrikam.com")    # an alias: no rule names it
    reg.prop(e, T(0x6607, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x6610, PT_UNICODE), EXO_OST)
    reg.prop(e, T(0x6620, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x6622, PT_UNICODE), "outlook.office365.com")
    reg.prop(e, T(0x6625, PT_UNICODE), "msstd:outlook.com")
    reg.prop(e, T(0x662A, PT_UNICODE), srv)
    reg.prop(e, T(0x663C, PT_UNICODE), "Alice Smith")
    reg.prop(e, T(0x663D, PT_UNICODE), "alice@fabrikam.com")
    reg.prop(e, T(0x6641, PT_UNICODE), "SMTP:alice@fabrikam.com")
    reg.prop(e, T(0x664A, PT_UNICODE), EXO_AD)
    reg.prop(e, T(0x667B, PT_UNICODE), "\\Offline Global Address List")
    reg.prop(e, T(0x3D00, PT_BINARY), uid(E["priv"]))
    reg.prop(e, T(0x3D01, PT_BINARY), uid(E["abp"]))
    reg.prop(e, T(0x3D02, PT_BINARY), uid(E["xp"]))
    reg.prop(e, T(0x3D0C, PT_BINARY), uid(E["svc"]))
    reg.prop(e, T(0x3D15, PT_BINARY), uid(E["ems"]))
    reg.prop(e, T(0x3E01, PT_BINARY), ab_entryid(src))
    reg.prop(e, T(0x663B, PT_BINARY), bytes.fromhex("0f0001005e00a00f"))
    reg.prop(e, T(0x6613, PT_MV_STRING8), ["ncacn_http:" + srv, "ncacn_ip_tcp:" + srv])
    reg.prop(e, T(0x65E4, PT_MV_UNICODE), ["", "All Address Lists", "All Contacts", "Offline Global Address List"])
    # a list of mailbox DNs (id unknown): one of its strings is SRC -> R8 (a)
    reg.prop(e, T(0x6637, PT_MV_UNICODE), [src, tgt_dn("4b3a29180716f5e4d3c2b1a09f8e7d6c-helpdesk")])
    reg.put(e, NONPROP, "bin", S010267F0)
    store_provider(reg, p, E, E["priv"], 1, "alice@fabrikam.com", src, srv, srv, server_dn(TGT_ADMIN, srv),
                   record_key="2c2e7e8bd0b0650a480d231f12a6cedc",
                   entryid=store_entryid(WRAP_PRIVATE, 0x0C, srv, src))
    store_provider(reg, p, E, E["arch"], 2, "Online Archive - alice@fabrikam.com", arch_dn,
                   ARCHIVE_GUID + "@fabrikam", ARCHIVE_GUID + "@fabrikam.com",
                   record_key="efdc9f59a35db1db5855621d0a4e06bb",
                   entryid=store_entryid(WRAP_PRIVATE, 0x0C, ARCHIVE_GUID + "@fabrikam.com", arch_dn))
    transport_provider(reg, p, E, src, srv, server_dn(TGT_ADMIN, srv), srv)
    ab_provider(reg, p, E, srv)
    finish_profile(reg, p)
    for name in (srv, ARCHIVE_GUID + "@fabrikam.com"):
        reg.prop(p + "\\" + name, T(0x6648, PT_LONG), 1)           # not sections: never touched
    return reg, p


def edits_exo_tenant_move(exp, p, server):
    """alice in exo_input(); mapping: SRC=ALICE_EXO_SRC TGT=ALICE_TGT
    SMTP=alice@contoso.com SERVER=`server` (may be empty), no
    TargetArchiveGuid.  OLD (R9) = 6641 without its "SMTP:" prefix =
    alice@fabrikam.com.  R8 (b) is off (both DNs start with /o=ExchangeLabs/).
    Source server names (R8 c), each a whole <guid>@<domain> name:
    EXO_SRC_SERVER, <archive guid>@fabrikam, <archive guid>@fabrikam.com."""
    svc, ems, priv, arch = sec(p, E["svc"]), sec(p, E["ems"]), sec(p, E["priv"]), sec(p, E["arch"])
    xp, ab = sec(p, E["xp"]), sec(p, E["abp"])

    def r3(path, tag):                                              # R3: SERVER when given, else deleted
        exp.set(path, tag, server) if server else exp.delete(path, tag)

    exp.set(svc, 0x3001001F, "alice@contoso.com")                  # R9: 3001 == OLD
    r3(svc, 0x662A001F)                                             # R3
    exp.delete(ems, 0x66230003)                                     # R4 RPC proxy flags
    exp.delete(ems, 0x66270003)                                     # R4 RPC proxy auth
    exp.delete(ems, 0x66350003)                                     # R5
    exp.delete(ems, 0x66360003)                                     # R5
    r3(ems, 0x6602001E)                                             # R3
    exp.set(ems, 0x6603001E, ALICE_TGT)                             # R1
    r3(ems, 0x6608001E)                                             # R3
    exp.delete(ems, 0x6612001E)                                     # R4 home server DN
    # kept: 6618 (only /o=ExchangeLabs/, which TGT starts with: no R8 (b))
    exp.set(ems, 0x3001001F, "alice@contoso.com")                   # R9
    exp.set(ems, 0x6607001F, "alice@contoso.com")                   # R9
    # kept: 6610 (OST=keep)
    exp.set(ems, 0x6620001F, "alice@contoso.com")                   # R9
    exp.delete(ems, 0x6622001F)                                     # R4 RPC proxy server
    exp.delete(ems, 0x6625001F)                                     # R4 RPC proxy principal
    r3(ems, 0x662A001F)                                             # R3
    # kept: 3d16 (an alias, not OLD), 663c "Alice Smith"
    exp.set(ems, 0x663D001F, "alice@contoso.com")                   # R9
    exp.set(ems, 0x6641001F, "SMTP:alice@contoso.com")              # R2: keeps its "SMTP:" prefix
    exp.delete(ems, 0x664A001F)                                     # R4 LKG Autodiscover URL
    # kept: 667b, 3d00, 3d01, 3d02, 3d0c, 3d15
    exp.delete(ems, 0x3E010102)                                     # R8 (a): AB entry ID embeds SRC
    exp.delete(ems, 0x663B0102)                                     # R4
    exp.delete(ems, 0x6613101E)                                     # R4
    # kept: 101f65e4 (address list names)
    exp.delete(ems, 0x6637101F)                                     # R8 (a): one decoded string is SRC
    # kept: S010267f0 (not a property)
    exp.set(priv, 0x3001001F, "alice@contoso.com")                  # R9
    exp.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    r3(priv, 0x660C001E)                                            # R3
    exp.delete(priv, 0x6614001E)                                    # R4
    r3(priv, 0x662B001F)                                            # R3
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a)
    # archive: found by 660b == SRC + "/guid=" + G; part of the primary unit
    exp.set(arch, 0x3001001F, "Online Archive - alice@contoso.com")  # R9: ends with " - " + OLD
    exp.set(arch, 0x660B001E, ALICE_TGT + "/guid=" + ARCHIVE_GUID)  # R1 archive: TGT + /guid= + G (kept)
    exp.delete(arch, 0x660C001E)                                    # R3 archive: always deleted
    exp.delete(arch, 0x662B001F)                                    # R3 archive: always deleted
    exp.delete(arch, 0x0FFF0102)                                    # R8 (a): embeds SRC (+ /guid=)
    # kept in both stores: 0ff9 (record key), 3d09, 300a, 3d13, 3d0c, 3d15, 660a
    exp.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    r3(xp, 0x660C001E)                                              # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    r3(xp, 0x662B001F)                                              # R3
    r3(ab, 0x662A001F)                                              # R3
    # untouched: CONTAB, the profile-wide lists of 9207f3e0..., the server-named keys


def exo_sections(inp, p):
    order = [E["svc"], E["ems"], E["priv"], E["arch"], E["xp"], E["abp"]]
    return [(u, inp.snapshot(sec(p, u))) for u in order]


def sc_exo_archive():
    inp, p = exo_input()
    exp = inp.copy()
    edits_exo_tenant_move(exp, p, EXO_TGT_SERVER)
    add_backup(exp, p, [(1, backup_blob(2, [(ROW_A, ALICE_EXO_SRC, ALICE_TGT)], exo_sections(inp, p)))])
    mapping = "\n".join([MAP_HEADER,
                         mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
                         mapline(ALICE_EXO_SRC, ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com", EXO_TGT_SERVER)]) + "\n"
    scenario("exchange-online-archive",
             "A tenant-to-tenant move: alice's Exchange Online profile (Fabrikam's tenant, laid out like a real "
             "Outlook profile: CONTAB first, SMTP: prefixed address, <guid>@<domain> servers, an Online Archive) moves "
             "to Contoso's tenant. The archive follows its primary with its GUID, its server is cleared, the "
             "address keeps its SMTP: prefix, and the profile-wide provider lists stay as they were.",
             ["update", "exchange-online", "tenant-to-tenant", "online-archive", "smtp-prefix", "guid-server",
              "R1", "R2", "R3", "R4", "R8", "R9", "S010267f0", "contab"],
             inp, {"mapping.puf": mapping, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_archive_guid_mapping():
    inp, p = basic_input(archive=ONPREM_ARCHIVE_GUID)
    exp = inp.copy()
    edits_alice_to_exo(exp, p)                                      # everything of basic-update, plus:
    arch = sec(p, A["arch"])
    exp.set(arch, 0x3001001F, "Online Archive - alice@contoso.com")  # R9: ends with " - " + OLD
    exp.set(arch, 0x660B001E, ALICE_TGT + "/guid=" + TARGET_ARCHIVE_GUID)  # R1: G' = TargetArchiveGuid
    exp.delete(arch, 0x660C001E)                                    # R3 archive: always deleted
    exp.delete(arch, 0x662B001F)                                    # R3 archive: always deleted
    exp.delete(arch, 0x0FFF0102)                                    # R8 (a)
    # kept: 0ff9, 3d09, 300a, 3d13, 3d0c, 3d15, 660a
    blob = backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_TGT)], alice_sections(inp, p, A["arch"]))
    add_backup(exp, p, [(1, blob)])
    head = MAP_HEADER + "|TargetArchiveGuid"
    mapping = "\n".join([head,
                         mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO, ""),
                         mapline(ALICE_SRC, ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com", EXO,
                                 TARGET_ARCHIVE_GUID),
                         mapline(DAVE_SRC, DAVE_TGT, "dave@contoso.com", "dave@fabrikam.com", EXO, "")]) + "\n"
    scenario("archive-guid-from-mapping",
             "Alice's on-premises mailbox has an archive (its own store provider, mailbox DN + /guid=); the "
             "mapping's TargetArchiveGuid column gives the archive's GUID in the target, so the archive's mailbox "
             "becomes the target DN + /guid= + that GUID, its servers are cleared, and it is backed up with the "
             "primary's sections.",
             ["update", "online-archive", "TargetArchiveGuid", "R1", "R3", "R8", "R9", "backup"],
             inp, {"mapping.puf": mapping, "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_reg_binary_strings():
    inp, p = basic_input(nonprop=True)
    # written by a deployment script: every PT_STRING8 of the profile is a
    # REG_BINARY value (8-bit text + NUL) instead of Outlook's REG_SZ
    for path, _ in inp.sorted_keys():
        if path.upper().startswith(p.upper() + "\\"):
            inp.binary_strings(path)
    upd = inp.copy()
    edits_alice_to_exo(upd, p)                                      # `set` keeps REG_BINARY
    blob = alice_gen1(inp, p)
    assert blob[:4] == b"PSB2"                                      # form 1 for every PT_STRING8
    add_backup(upd, p, [(1, blob)])
    scenario("reg-binary-strings",
             "A profile written by a deployment script keeps every 8-bit string (PT_STRING8) as REG_BINARY: the "
             "update changes them in that form and records it (PSB2 backup), and the rollback writes back every "
             "value it changed or removed as REG_BINARY, ending byte for byte at the input.",
             ["update", "rollback", "reg-binary-string8", "PSB2", "S010267f0"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0, store="expect/HKCU.updated.reg"),
              Step("rollback --store {store} --report {report}", 0, [("Outlook", ROW_A, "rolled-back")], 0,
                   identical="HKCU.reg")],
             {"HKCU.updated.reg": upd, "HKCU.reg": inp.copy()},
             # through MAPI: the PT_STRING8 values the update removed come back as REG_SZ
             mapi_expects={"HKCU.updated.reg": mapi_view(upd),
                           "HKCU.reg": mapi_view(inp, restored_sz=[
                               (path, v[0]) for path, vals in inp.keys.values() for v in vals
                               if is_prop_name(v[0]) and name_tag(v[0]) & 0xFFFF == PT_STRING8
                               and v[1] == "bin" and upd.find(path, v[0]) is None])})


# ---------------------------------------------------------------------------
# Logon-time guards (docs/guards.md): MAPI clients running, Group Policy,
# single instance, time budget, log fallback, RunAfter.
# Inputs are basic-update's; a run that may go on has basic-update's expected
# result (same edit list, same backup), a run that must not touch anything has
# the input as its expectation and Unchanged = 1.
# ---------------------------------------------------------------------------

ROW_PROFILE = ""        # the account column of a profile-level row (deferred-*) is empty


def basic_updated(inp, p):
    """basic-update's expectation for an input built by basic_input(): the
    literal edit list plus generation 1 (same sections, same order)."""
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    return exp


def running(spec):
    return UPDATE % "mapping.puf" + " --simulate-running " + spec


# A deferred profile has a row per account the update would repoint
# (docs/guards.md): alice's mailbox is the one pending.
DEFERRED_RUNNING = [("Outlook", ROW_A, "deferred-running")]


def sc_running_defer():
    inp, p = basic_input()
    scenario("running-defer",
             "Alice logs on while Outlook is still open (process name in capitals): with the default "
             "OutlookRunning=defer nothing is touched, the profile is reported deferred-running for the next logon.",
             ["update", "outlook-running", "defer", "deferred-running", "exit-2", "case-insensitive-process"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(running("OUTLOOK.EXE"), 2, DEFERRED_RUNNING, 1)],   # names compare case-insensitively
             {"HKCU.reg": inp.copy()})


def sc_running_wait_proceed():
    inp, p = basic_input()
    exp = basic_updated(inp, p)                                     # Outlook gone after 20 s of 60: normal update
    scenario("running-wait-proceed",
             "Outlook is closing when the logon script starts (it exits after 20 simulated seconds); with "
             "OutlookRunning=wait and WaitSeconds=60 the run waits for it and then updates alice as in basic-update.",
             ["update", "outlook-running", "wait", "simulated-clock", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(running="wait", extra=["WaitSeconds=60"])},
             [Step(running("outlook.exe:exit-after=20"), 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_running_wait_defer():
    inp, p = basic_input()
    scenario("running-wait-defer",
             "Outlook keeps running for 30 simulated seconds but the run only waits 10 (OutlookRunning=wait, "
             "WaitSeconds=10): the profile is deferred-running and left unchanged.",
             ["update", "outlook-running", "wait", "deferred-running", "exit-2", "simulated-clock"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(running="wait", extra=["WaitSeconds=10"])},
             [Step(running("outlook.exe:exit-after=30"), 2, DEFERRED_RUNNING, 1)],
             {"HKCU.reg": inp.copy()})


def sc_running_close_accepted():
    inp, p = basic_input()
    exp = basic_updated(inp, p)                                     # Outlook closes when asked: normal update
    scenario("running-close-accepted",
             "OutlookRunning=close: the run asks Outlook to close, Outlook accepts and exits, and alice is updated as "
             "in basic-update.",
             ["update", "outlook-running", "close", "simulated-clock", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(running="close", extra=["WaitSeconds=10"])},
             [Step(running("outlook.exe:close=accept"), 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_running_close_refused():
    inp, p = basic_input()
    scenario("running-close-refused",
             "OutlookRunning=close, but Outlook ignores the close request (an unsaved draft): after WaitSeconds=10 the "
             "profile is deferred-running and unchanged; nothing is killed.",
             ["update", "outlook-running", "close", "deferred-running", "exit-2", "simulated-clock"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(running="close", extra=["WaitSeconds=10"])},
             [Step(running("outlook.exe:close=refuse"), 2, DEFERRED_RUNNING, 1)],
             {"HKCU.reg": inp.copy()})


def sc_running_lync_only():
    inp, p = basic_input()
    exp = basic_updated(inp, p)                                     # step 2: normal update
    scenario("running-lync-only",
             "Outlook is closed but Skype for Business (lync.exe, in the default StopProcesses) holds the profile: "
             "deferred-running. At the next logon only Notepad runs, which is not a MAPI client: alice is updated.",
             ["update", "outlook-running", "StopProcesses", "lync", "deferred-running", "exit-2"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(running("lync.exe"), 2, DEFERRED_RUNNING, 1),
              Step(running("notepad.exe"), 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


POLICY_OUTLOOK16 = HKCU + r"\Software\Policies\Microsoft\Office\16.0\Outlook"


def gpo_input(values):
    """basic_input over a HKCU\\Software export, plus Outlook policy values
    [(subkey under ...\\Policies\\Microsoft\\Office\\16.0\\Outlook or "", name, kind, data)]."""
    inp, p = basic_input(wide=True)
    for sub, name, kind, data in values:
        inp.put(POLICY_OUTLOOK16 + ("\\" + sub if sub else ""), name, kind, data)
    return inp, p


def sc_gpo_cached_mode_enforced():
    inp, p = gpo_input([("Cached Mode", "Enable", "dword", 1)])
    # alice's 00036601 = 0x1180: CachedMode=off would clear 0x180 (R7), which
    # Cached Mode\Enable=1 locks -> the whole profile is blocked, nothing changes
    scenario("gpo-cached-mode-enforced",
             "The admin configured CachedMode=off, but a Group Policy (Cached Mode\\Enable=1) enforces cached mode "
             "and alice's profile has the cached bits set: the update is blocked-policy for an administrator and "
             "nothing in the profile changes.",
             ["update", "gpo-lock", "blocked-policy", "exit-4", "R7", "cached-mode"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(cached="off")},
             [Step(UPDATE % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-policy")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_gpo_forceostpath():
    inp, p = gpo_input([("", "ForceOSTPath", "expand", r"%LOCALAPPDATA%\Fabrikam\OST")])
    # OST=rename would set 001f6610 to ...\alice@contoso.com.ost (R6): the OST
    # path changes, ForceOSTPath (non-empty) locks it -> blocked, nothing changes
    scenario("gpo-forceostpath-vs-rename",
             "A Group Policy forces the OST folder (ForceOSTPath, REG_EXPAND_SZ) while the configuration asks for "
             "OST=rename: the new OST path would conflict with the policy, so the profile is blocked-policy and left "
             "unchanged.",
             ["update", "gpo-lock", "blocked-policy", "exit-4", "R6", "ost", "ForceOSTPath", "reg-expand-sz"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(ost="rename")},
             [Step(UPDATE % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-policy")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_gpo_no_conflict():
    inp, p = gpo_input([("Cached Mode", "Enable", "dword", 1),
                        ("Cached Mode", "SyncWindowSetting", "dword", 12),
                        ("", "ForceOSTPath", "expand", r"%LOCALAPPDATA%\Fabrikam\OST"),
                        ("RPC", "ProxyServerName", "sz", "mail.fabrikam.com")])
    # CachedMode=keep (6601 untouched), OST=keep (6610 untouched), alice has
    # no RPC/HTTP proxy values (6622/6623/6625/6627) to remove: no policy locks
    # a planned change -> the normal basic-update result; policy keys untouched
    exp = basic_updated(inp, p)
    scenario("gpo-no-conflict",
             "Group Policies enforce cached mode (with a 12-month sync window), an OST folder and an RPC/HTTP proxy, "
             "but the update changes none of these (CachedMode=keep, OST=keep, no proxy values in the profile): "
             "alice is updated as in basic-update and the policy keys stay as they were.",
             ["update", "gpo-lock", "no-conflict", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def sc_locked_store():
    inp, p = basic_input()
    scenario("locked-store",
             "Another profswitch (a second logon script) holds the store while this run starts; with WaitSeconds=0 it "
             "does not wait: the profile is deferred-locked and nothing is read or written.",
             ["update", "single-instance", "flock", "deferred-locked", "exit-2"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["WaitSeconds=0"])},
             [Step(UPDATE % "mapping.puf", 2, [("Outlook", ROW_PROFILE, "deferred-locked")], 1, locked=1)],
             {"HKCU.reg": inp.copy()})


def sc_running_defer_accounts():
    inp, p = multi_input()
    # Outlook runs: nothing changes; each mailbox the update would repoint is
    # a row (alice and sales are both in multi_csv()), so the report names
    # every pending mailbox, not only the profile
    scenario("running-defer-accounts",
             "The two-account profile of multi-account-both while Outlook is open: nothing is touched and the "
             "report has one deferred-running row per mailbox that is pending (alice and the sales mailbox), "
             "so a fleet report shows whose mailbox still waits.",
             ["update", "outlook-running", "defer", "deferred-running", "exit-2", "multi-account", "one-row-per-account"],
             inp, {"mapping.csv": multi_csv(), "config.ini": config()},
             [Step(UPDATE % "mapping.csv" + " --simulate-running outlook.exe", 2,
                   [("Outlook", ROW_A, "deferred-running"), ("Outlook", "sales@fabrikam.com", "deferred-running")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_running_defer_unmapped():
    inp, p = basic_input()
    # the mapping has nobody of this profile (not-migrated's later wave): the
    # run never got as far as deciding that, so the profile itself is the
    # one deferred row
    mapping = "\n".join([MAP_HEADER,
                         mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO),
                         mapline(DAVE_SRC, DAVE_TGT, "dave@contoso.com", "dave@fabrikam.com", EXO)]) + "\n"
    scenario("running-defer-unmapped",
             "Outlook is open and none of the profile's accounts is in the mapping (a later wave): the profile is "
             "still reported deferred-running, as one row without an account, and nothing changes.",
             ["update", "outlook-running", "defer", "deferred-running", "exit-2", "not-in-mapping"],
             inp, {"mapping.puf": mapping, "config.ini": config()},
             [Step(running("outlook.exe"), 2, [("Outlook", ROW_PROFILE, "deferred-running")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_global_timeout():
    inp, p = basic_input()
    # the wait for Outlook (up to 60 s, Outlook exits at 30 s) is cut at 5 s by
    # the time budget: the profile is not reached in time -> deferred-timeout
    scenario("global-timeout",
             "The logon must not hang: OutlookRunning=wait with WaitSeconds=60, but GlobalTimeoutSeconds=5 cuts the "
             "wait for Outlook (which would exit after 30 s); the profile is deferred-timeout and unchanged.",
             ["update", "time-budget", "GlobalTimeoutSeconds", "deferred-timeout", "exit-2", "simulated-clock"],
             inp, {"mapping.puf": std_mapping(),
                   "config.ini": config(running="wait", extra=["WaitSeconds=60", "GlobalTimeoutSeconds=5"])},
             [Step(running("outlook.exe:exit-after=30"), 2, [("Outlook", ROW_A, "deferred-timeout")], 1)],
             {"HKCU.reg": inp.copy()})


def sc_log_fallback():
    inp, p = basic_input()
    exp = basic_updated(inp, p)                                     # the log does not change the outcome
    scenario("log-fallback",
             "LogFile points at a share that is not reachable at logon (/nonexistent-share/logs/#H.log): the log goes "
             "to the local profswitch folder under XDG_STATE_HOME, stderr says so naming both, and the update and "
             "exit status are as in basic-update.",
             ["update", "logs", "LogFile", "fallback", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["LogFile=/nonexistent-share/logs/#H.log"])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   # the local folder is ~/.local/state/profswitch/ on
                   # Linux, %LOCALAPPDATA%\profswitch\logs\ on Windows
                   stderr=["/nonexistent-share/logs/", "writing it to ", "profswitch",
                           ".log instead"])],
             {"HKCU.reg": exp})


def sc_run_after():
    inp, p = basic_input()
    exp = basic_updated(inp, p)
    # on the fake store RunAfter is recorded in the log (not executed); -v
    # echoes every log line to stderr
    scenario("run-after",
             "A desktop shortcut runs profswitch before Outlook (RunAfter=outlook.exe /recycle): alice is updated as "
             "in basic-update and the start of Outlook is recorded in the log (echoed to stderr with -v).",
             ["update", "logs", "RunAfter", "verbose", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["RunAfter=outlook.exe /recycle"])},
             [Step(UPDATE % "mapping.puf" + " -v", 0, [("Outlook", ROW_A, "updated")], 0,
                   stderr=["outlook.exe /recycle"])],
             {"HKCU.reg": exp})

# ---------------------------------------------------------------------------
# Autodiscover scenarios (docs/autodiscover.md, docs/mock-autodiscover.md).
# Server answers are hand-written MS-OXDSCLI bodies; the requests a scenario
# expects are spelled out as the client must send them.
# ---------------------------------------------------------------------------

NS_RESP = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUT = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
NS_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AD_PATH = "/autodiscover/autodiscover.xml"
EXO_AD = "https://autodiscover-s.outlook.com" + AD_PATH
CONTOSO_AD = "https://autodiscover.contoso.com" + AD_PATH
LOCAL = r"C:\Users\alice\AppData\Local"
OUTLOOK_FILES = "files/Users/alice/AppData/Local/Microsoft/Outlook/"
EXPECT_FILES = "expect/files/Users/alice/AppData/Local/Microsoft/Outlook/"
OST_MARKER = ("alice@fabrikam.com.ost", "stand-in for alice's OST file\n")
MBX = "?MailboxId=6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@contoso.com"
AD_URLS = {0x6652001F: "https://outlook.office365.com/mapi/emsmdb/" + MBX,
           0x6653001F: "https://outlook.office365.com/mapi/emsmdb/" + MBX,
           0x6654001F: "https://outlook.office365.com/mapi/nspi/" + MBX,
           0x6655001F: "https://outlook.office365.com/mapi/nspi/" + MBX}


def ad_settings(dn, smtp="alice@contoso.com", name="Alice Smith"):
    """A settings answer as Exchange Online gives it (EXCH + EXPR + WEB + mapiHttp)."""
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="%s">\r\n'
            '  <Response xmlns="%s">\r\n'
            '    <User>\r\n'
            '      <DisplayName>%s</DisplayName>\r\n'
            '      <LegacyDN>%s</LegacyDN>\r\n'
            '      <AutoDiscoverSMTPAddress>%s</AutoDiscoverSMTPAddress>\r\n'
            '      <DeploymentId>8d2f4c1e-0b3a-4e5f-9a7c-6d1e2f3a4b5c</DeploymentId>\r\n'
            '    </User>\r\n'
            '    <Account>\r\n'
            '      <AccountType>email</AccountType>\r\n'
            '      <Action>settings</Action>\r\n'
            '      <MicrosoftOnline>True</MicrosoftOnline>\r\n'
            '      <Protocol>\r\n'
            '        <Type>EXCH</Type>\r\n'
            '        <Server>6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@contoso.com</Server>\r\n'
            '        <ServerDN>/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5@contoso.com</ServerDN>\r\n'
            '        <ServerVersion>73C1848A</ServerVersion>\r\n'
            '        <EwsUrl>https://outlook.office365.com/EWS/Exchange.asmx</EwsUrl>\r\n'
            '        <OABUrl>https://outlook.office365.com/OAB/0f3c2d1e/</OABUrl>\r\n'
            '      </Protocol>\r\n'
            '      <Protocol>\r\n'
            '        <Type>WEB</Type>\r\n'
            '        <Internal><OWAUrl AuthenticationMethod="Basic">https://outlook.office365.com/owa/</OWAUrl>'
            '<Server>owa-not-a-server.example</Server></Internal>\r\n'
            '      </Protocol>\r\n'
            '      <Protocol Type="mapiHttp" Version="1">\r\n'
            '        <MailStore>\r\n'
            '          <InternalUrl>%s</InternalUrl>\r\n'
            '          <ExternalUrl>%s</ExternalUrl>\r\n'
            '        </MailStore>\r\n'
            '        <AddressBook>\r\n'
            '          <InternalUrl>%s</InternalUrl>\r\n'
            '          <ExternalUrl>%s</ExternalUrl>\r\n'
            '        </AddressBook>\r\n'
            '      </Protocol>\r\n'
            '    </Account>\r\n'
            '  </Response>\r\n'
            '</Autodiscover>\r\n') % (NS_RESP, NS_OUT, name, dn, smtp,
                                      AD_URLS[0x6652001F].replace("&", "&amp;"), AD_URLS[0x6653001F],
                                      AD_URLS[0x6654001F], AD_URLS[0x6655001F])


def ad_redirect(action, target):
    el = "RedirectAddr" if action == "redirectAddr" else "RedirectUrl"
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="%s">\r\n'
            '  <Response xmlns="%s">\r\n'
            '    <Account>\r\n'
            '      <Action>%s</Action>\r\n'
            '      <%s>%s</%s>\r\n'
            '    </Account>\r\n'
            '  </Response>\r\n'
            '</Autodiscover>\r\n') % (NS_RESP, NS_OUT, action, el, target, el)


def ad_request(email):
    """The POX request body profswitch sends (docs/autodiscover.md)."""
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="%s">\r\n'
            '  <Request>\r\n'
            '    <EMailAddress>%s</EMailAddress>\r\n'
            '    <AcceptableResponseSchema>%s</AcceptableResponseSchema>\r\n'
            '  </Request>\r\n'
            '</Autodiscover>\r\n') % (NS_REQ, email, NS_OUT)


def logged_post(url, email, auth=None):
    """One request as the mock logs it (docs/mock-autodiscover.md);
    auth: the Authorization line's value as logged, e.g. "(present)"."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    body = ad_request(email)
    return ("POST %s %s /%s\n" % (scheme, host.split(":")[0].lower(), path) +
            "Content-Type: text/xml; charset=utf-8\n"
            "X-MapiHttpCapability: 1\n"
            "X-AnchorMailbox: %s\n" % email +
            ("Authorization: %s\n" % auth if auth else "") +
            body + ("" if body.endswith("\n") else "\n") + ".\n")


def logged_get(url):
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    return "GET %s %s /%s\n.\n" % (scheme, host.lower(), path)


def server_ini(hosts, rules, credentials=None):
    """rules: [(name, {key: value})] in match order."""
    out = ["[Server]", "Hosts = " + " ".join(hosts)]
    if credentials:
        out.append("Credentials = " + credentials)
    for name, kv in rules:
        out += ["", "[Rule %s]" % name] + ["%s = %s" % (k, v) for k, v in kv.items()]
    return "\n".join(out) + "\n"


def local_xml(url):
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="%s">\r\n'
            '  <Response xmlns="%s">\r\n'
            '    <Account>\r\n'
            '      <AccountType>email</AccountType>\r\n'
            '      <Action>redirectUrl</Action>\r\n'
            '      <RedirectUrl>%s</RedirectUrl>\r\n'
            '    </Account>\r\n'
            '  </Response>\r\n'
            '</Autodiscover>\r\n') % (NS_RESP, NS_OUT, url)


AUTOD = "autodiscover alice@contoso.com --ca-file {ca}"


def cli_scenario(name, description, keywords, server, bodies, command, exit_status, stdout=(), stderr=(),
                 requests=None, settings=None):
    inp, p = basic_input()
    files = {"autodiscover/server.ini": server} if server else {}
    for fn, text in bodies.items():
        files["autodiscover/" + fn] = text
    if requests is not None:
        files["expect/requests.txt"] = "".join(requests)
    scenario(name, description, ["autodiscover"] + keywords, inp, files,
             [Step(command, exit_status, [], 1, stdout=stdout, stderr=stderr,
                   requests="expect/requests.txt" if requests is not None else None)],
             {"HKCU.reg": inp.copy()}, settings=settings)


ROOT_AD = "https://contoso.com" + AD_PATH


def sc_ad_settings():
    cli_scenario("autodiscover-settings",
                 "`profswitch autodiscover` for alice@contoso.com with no configured URL: the root domain "
                 "drops the connection, autodiscover.contoso.com answers with Exchange Online settings; every "
                 "request is exactly the POX request Outlook sends.",
                 ["candidates", "mapiHttp", "exit-0"],
                 server_ini(["contoso.com", "autodiscover.contoso.com"],
                            [("root", {"Host": "contoso.com", "Drop": 1}),
                             ("alice", {"Method": "POST", "Host": "autodiscover.contoso.com", "Path": AD_PATH,
                                        "Email": "alice@contoso.com", "Body": "alice.xml"})]),
                 {"alice.xml": ad_settings(ALICE_TGT)}, AUTOD, 0,
                 stdout=[ALICE_TGT, "settings from " + CONTOSO_AD,
                         "https://outlook.office365.com/mapi/nspi/"],
                 requests=[logged_post(ROOT_AD, "alice@contoso.com"),
                           logged_post(CONTOSO_AD, "alice@contoso.com")])


def sc_ad_redirect_addr():
    tenant = "alice@contoso.mail.onmicrosoft.com"
    tenant_ad = "https://contoso.mail.onmicrosoft.com" + AD_PATH
    cli_scenario("autodiscover-redirect-addr",
                 "The on-premises server answers redirectAddr to the tenant address; discovery starts again "
                 "for contoso.mail.onmicrosoft.com and finds the settings there.",
                 ["redirectAddr", "exit-0"],
                 server_ini(["contoso.com", "contoso.mail.onmicrosoft.com"],
                            [("onprem", {"Host": "contoso.com", "Email": "alice@contoso.com",
                                         "Body": "redirect.xml"}),
                             ("tenant", {"Host": "contoso.mail.onmicrosoft.com", "Email": tenant,
                                         "Body": "alice.xml"})]),
                 {"redirect.xml": ad_redirect("redirectAddr", tenant), "alice.xml": ad_settings(ALICE_TGT, tenant)},
                 AUTOD, 0, stdout=["settings from %s for %s:" % (tenant_ad, tenant)],
                 requests=[logged_post(ROOT_AD, "alice@contoso.com"), logged_post(tenant_ad, tenant)])


def sc_ad_redirect_url():
    cli_scenario("autodiscover-redirect-url",
                 "The domain's server answers redirectUrl to Exchange Online's Autodiscover; the same address is "
                 "asked there (without credentials: another host).",
                 ["redirectUrl", "exit-0"],
                 server_ini(["contoso.com", "autodiscover-s.outlook.com"],
                            [("onprem", {"Host": "contoso.com", "Body": "redirect.xml"}),
                             ("exo", {"Host": "autodiscover-s.outlook.com", "Email": "alice@contoso.com",
                                      "Body": "alice.xml"})]),
                 {"redirect.xml": ad_redirect("redirectUrl", EXO_AD), "alice.xml": ad_settings(ALICE_TGT)},
                 AUTOD, 0, stdout=["settings from " + EXO_AD],
                 requests=[logged_post(ROOT_AD, "alice@contoso.com"), logged_post(EXO_AD, "alice@contoso.com")])


def sc_ad_redirect_loop():
    cli_scenario("autodiscover-redirect-loop",
                 "contoso.com and autodiscover.contoso.com redirect to each other (HTTP 302 and redirectUrl): "
                 "each URL is asked once, the loop is named, exit 8.",
                 ["redirect-loop", "exit-8"],
                 server_ini(["contoso.com", "autodiscover.contoso.com"],
                            [("a", {"Method": "POST", "Host": "contoso.com", "Status": 302,
                                    "Location": CONTOSO_AD}),
                             ("b", {"Method": "POST", "Host": "autodiscover.contoso.com",
                                    "Body": "back.xml"})]),
                 {"back.xml": ad_redirect("redirectUrl", ROOT_AD)}, AUTOD, 8,
                 stderr=["redirect loop: " + ROOT_AD + " asked again", "no Autodiscover settings"],
                 requests=[logged_post(ROOT_AD, "alice@contoso.com"), logged_post(CONTOSO_AD, "alice@contoso.com"),
                           logged_get("http://autodiscover.contoso.com" + AD_PATH)])


def sc_ad_401():
    cli_scenario("autodiscover-401",
                 "The configured server wants credentials (401) and none are configured: exit 8 with the HTTP "
                 "status as the reason.",
                 ["401", "exit-8"],
                 server_ini(["autodiscover.contoso.com"],
                            [("auth", {"RequireAuth": 1, "Body": "alice.xml"})], credentials="alice:Secret1"),
                 {"alice.xml": ad_settings(ALICE_TGT)}, AUTOD + " --url " + CONTOSO_AD, 8,
                 stderr=[CONTOSO_AD + ": HTTP 401"],
                 requests=[logged_post(CONTOSO_AD, "alice@contoso.com")])


# The account of the Windows-authentication scenarios: what
# PROFSWITCH_AD_USER / PROFSWITCH_AD_PASSWORD hold ([Scenario] AdAccount).
WIN_ACCOUNT = "CONTOSO\\alice:Secret1"


def sc_ad_windows_auth():
    cli_scenario("autodiscover-windows-auth",
                 "The configured server wants Windows authentication (401 offering Negotiate and NTLM, "
                 "RequireAuth = windows): the configured account answers with an NTLM handshake (type 1, the "
                 "mock's type-2 challenge, type 3 on the same connection) and the settings come back. The mock "
                 "checks only the handshake's shape. Under Wine it is Wine's NTLM through Samba's ntlm_auth.",
                 ["401", "windows-auth", "ntlm", "exit-0"],
                 server_ini(["autodiscover.contoso.com"],
                            [("auth", {"RequireAuth": "windows", "Body": "alice.xml"})]),
                 {"alice.xml": ad_settings(ALICE_TGT)}, AUTOD + " --url " + CONTOSO_AD, 0,
                 stdout=[ALICE_TGT, "settings from " + CONTOSO_AD],
                 settings={"AdAccount": WIN_ACCOUNT, "WineNtlm": 1})


def sc_ad_windows_auth_untrusted():
    fab_ad = "https://autodiscover.fabrikam.com" + AD_PATH
    cli_scenario("autodiscover-windows-auth-untrusted",
                 "The user's own server answers redirectUrl to another organisation's host that wants Windows "
                 "authentication: no credentials go there, neither the configured account nor the user's "
                 "Windows logon (no Authorization header in its request), and its 401 ends the discovery.",
                 ["401", "windows-auth", "redirectUrl", "exit-8"],
                 server_ini(["autodiscover.contoso.com", "autodiscover.fabrikam.com"],
                            [("own", {"Host": "autodiscover.contoso.com", "Body": "redirect.xml"}),
                             ("other", {"Host": "autodiscover.fabrikam.com", "RequireAuth": "windows",
                                        "Body": "alice.xml"})]),
                 {"redirect.xml": ad_redirect("redirectUrl", fab_ad), "alice.xml": ad_settings(ALICE_TGT)},
                 AUTOD + " --url " + CONTOSO_AD, 8,
                 stderr=[fab_ad + ": HTTP 401"],
                 requests=[logged_post(CONTOSO_AD, "alice@contoso.com", auth="(present)"),
                           logged_post(fab_ad, "alice@contoso.com")],
                 settings={"AdAccount": WIN_ACCOUNT})


def sc_ad_unreachable():
    cli_scenario("autodiscover-unreachable",
                 "The configured Autodiscover URL does not answer at all (nothing listens): exit 8, "
                 "'unreachable'.", ["unreachable", "exit-8"], None, {},
                 "autodiscover alice@contoso.com --url https://127.0.0.1:1" + AD_PATH, 8,
                 stderr=["unreachable"])


def sc_ad_wrong_answers():
    bad = {
        "autodiscover-malformed-xml": ("The server's answer stops in the middle of an element: not used, exit 8.",
                                       ["malformed-xml"], ad_settings(ALICE_TGT)[:700], "unusable answer"),
        "autodiscover-xxe": ("The answer declares an external entity (XXE) pointing at /etc/passwd: refused before "
                             "anything is read, exit 8.", ["xxe", "security"],
                             '<?xml version="1.0"?>\r\n<!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM '
                             '"file:///etc/passwd">]>\r\n' + ad_settings("&xxe;").split("\r\n", 1)[1],
                             "a DOCTYPE is not allowed"),
        "autodiscover-entity-bomb": ("A billion-laughs entity bomb: refused at the DOCTYPE, quickly, exit 8.",
                                     ["entity-bomb", "security"],
                                     '<?xml version="1.0"?>\r\n<!DOCTYPE lolz [<!ENTITY lol "lol">' +
                                     "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % (i - 1 if i > 1 else ""))
                                                                       * 10) for i in range(1, 10)) +
                                     ']>\r\n' + ad_settings("&lol9;").split("\r\n", 1)[1],
                                     "a DOCTYPE is not allowed"),
        "autodiscover-oversized": ("The answer is 1.1 MB (over the 1 MiB cap): the transfer is cut and refused, "
                                   "exit 8.", ["limits", "security"],
                                   ad_settings(ALICE_TGT).replace("<User>", "<User>" + " " * (1100 * 1024), 1),
                                   "answer larger than 1048576 bytes"),
    }
    for name, (desc, kw, body, err) in bad.items():
        cli_scenario(name, desc, kw + ["exit-8"],
                     server_ini(["autodiscover.contoso.com"], [("bad", {"Body": "answer.xml"})]),
                     {"answer.xml": body}, AUTOD + " --url " + CONTOSO_AD, 8, stderr=[err],
                     requests=[logged_post(CONTOSO_AD, "alice@contoso.com")])


def sc_ad_truncated_connection():
    cli_scenario("autodiscover-truncated-connection",
                 "The server announces the whole answer but closes the connection after 200 bytes: exit 8, "
                 "'connection dropped'.", ["dropped-connection", "exit-8"],
                 server_ini(["autodiscover.contoso.com"], [("cut", {"Body": "alice.xml", "Truncate": 200})]),
                 {"alice.xml": ad_settings(ALICE_TGT)}, AUTOD + " --url " + CONTOSO_AD, 8,
                 stderr=["connection dropped"], requests=[logged_post(CONTOSO_AD, "alice@contoso.com")])


def sc_ad_http_downgrade():
    cli_scenario("autodiscover-http-downgrade",
                 "The server redirects (302) to plain HTTP on another host: refused without a request there, "
                 "exit 8.", ["redirect", "downgrade", "security", "exit-8"],
                 server_ini(["autodiscover.contoso.com", "autodiscover.evil.example"],
                            [("down", {"Host": "autodiscover.contoso.com", "Status": 302,
                                       "Location": "http://autodiscover.evil.example" + AD_PATH}),
                             ("evil", {"Host": "autodiscover.evil.example", "Body": "alice.xml"})]),
                 {"alice.xml": ad_settings(ALICE_TGT)}, AUTOD + " --url " + CONTOSO_AD, 8,
                 stderr=["refused plain HTTP to http://autodiscover.evil.example"],
                 requests=[logged_post(CONTOSO_AD, "alice@contoso.com")])


# -- update with Autodiscover ------------------------------------------------

AD_MAP_HEADER = "SourceLegacyDN|TargetLegacyDN|TargetSMTP|SourceSMTP|TargetServer"
UPDATE_CA = UPDATE + " --ca-file {ca}"


def edits_alice_verified(exp, p):
    """edits_alice_to_exo, except R4 with a verified answer: the mapiHttp
    URLs of the answer are set in the emsmdb section instead of deleted."""
    ems = sec(p, A["ems"])
    edits_alice_to_exo(exp, p)
    for tag, url in AD_URLS.items():
        exp.add(ems, tag, url)                                      # R4 + answer (re-added after the deletion)


def ad_config(extra):
    return config(extra=["AutodiscoverTargetURL=" + EXO_AD] + extra)


def sc_verify_ok():
    inp, p = basic_input()
    exp = inp.copy()
    edits_alice_verified(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("verify-autodiscover",
             "VerifyAutodiscover=1: Exchange Online's Autodiscover (AutodiscoverTargetURL) returns alice's "
             "target LegacyDN, so she is updated, and the MAPI/HTTP URLs it returns are written into her "
             "profile instead of only being cleared.",
             ["update", "autodiscover", "VerifyAutodiscover", "R4", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": ad_config(["VerifyAutodiscover=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("alice", {"Email": "alice@contoso.com", "Body": "alice.xml"})]),
                   "autodiscover/alice.xml": ad_settings(ALICE_TGT),
                   "expect/requests.txt": logged_post(EXO_AD, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   requests="expect/requests.txt")],
             {"HKCU.reg": exp})


def sc_verify_wrong_dn():
    inp, p = basic_input()
    scenario("verify-autodiscover-wrong-server",
             "VerifyAutodiscover=1 and the target's Autodiscover answers with another mailbox's LegacyDN "
             "(CPUU: 'Autodiscover URL points to wrong Exchange server'): alice is failed, nothing changes, "
             "exit 9 (failed + Autodiscover).",
             ["update", "autodiscover", "VerifyAutodiscover", "wrong-legacydn", "exit-9"],
             inp, {"mapping.puf": std_mapping(), "config.ini": ad_config(["VerifyAutodiscover=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("other", {"Body": "other.xml"})]),
                   "autodiscover/other.xml": ad_settings(tgt_dn("9f8e7d6c5b4a39281706f5e4d3c2b1a0-alice2"))},
             [Step(UPDATE_CA % "mapping.puf", 9, [("Outlook", ROW_A, "failed")], 1,
                   stderr=["points to wrong Exchange server"])],
             {"HKCU.reg": inp.copy()})


# -- RequireTargetReady (docs/autodiscover.md, "Readiness") -------------------

V2_PATH = "/autodiscover/autodiscover.json"
EXO_V2 = "https://autodiscover-s.outlook.com" + V2_PATH
EXO_V2_OTHER = "https://outlook.office365.com" + V2_PATH


def v2_ready(url="https://outlook.office365.com/autodiscover/autodiscover.xml"):
    """An Autodiscover v2 answer for a mailbox the server hosts."""
    return '{"Protocol":"AutodiscoverV1","Url":"%s"}' % url


def v2_error(code, message):
    """An Autodiscover v2 error answer (the shape; Microsoft does not document the codes)."""
    return '{"ErrorCode":"%s","ErrorMessage":"%s"}' % (code, message)


def ad_error(code, message):
    """A POX Error answer (MS-OXDSCLI), e.g. 500 for an address Exchange does not know."""
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="%s">\r\n'
            '  <Response>\r\n'
            '    <Error Time="02:00:00.0000000" Id="2650363958">\r\n'
            '      <ErrorCode>%s</ErrorCode>\r\n'
            '      <Message>%s</Message>\r\n'
            '      <DebugData />\r\n'
            '    </Error>\r\n'
            '  </Response>\r\n'
            '</Autodiscover>\r\n') % (NS_RESP, code, message)


def logged_v2(url, email, extra=()):
    """A v2 GET as the mock logs it: the path, then each query argument."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    path = path.split("?", 1)[0]
    args = ["Email=" + email, "Protocol=AutodiscoverV1"] + list(extra)
    return "GET %s %s /%s\n" % (scheme, host.lower(), path) + "".join("?%s\n" % a for a in args) + ".\n"


def v2_rule(extra):
    rule = {"Method": "GET", "Path": V2_PATH, "Email": "alice@contoso.com"}
    rule.update(extra)
    return rule


def sc_ad_v2_cli():
    target = EXO_V2_OTHER + "?Email=alice@contoso.com&Protocol=AutodiscoverV1"
    cli_scenario("autodiscover-v2",
                 "`profswitch autodiscover --v2` asks the Autodiscover v2 (JSON) endpoint of --url's host the "
                 "way RequireTargetReady=1 does: a 302 to another host, which answers an AutodiscoverV1 URL; "
                 "both hops are printed, exit 0.",
                 ["autodiscover-v2", "json", "redirect", "exit-0"],
                 server_ini(["autodiscover-s.outlook.com", "outlook.office365.com"],
                            [("redirect", v2_rule({"Host": "autodiscover-s.outlook.com", "Status": 302,
                                                   "Location": target})),
                             ("answer", v2_rule({"Host": "outlook.office365.com", "Body": "ready.json",
                                                 "ContentType": "application/json"}))]),
                 {"ready.json": v2_ready()}, AUTOD + " --v2 --url " + EXO_AD, 0,
                 stdout=["GET " + EXO_V2 + "?Email=alice@contoso.com&Protocol=AutodiscoverV1",
                         "-> HTTP redirect to " + target,
                         "AutodiscoverV1 URL: https://outlook.office365.com/autodiscover/autodiscover.xml",
                         "answered by: " + target],
                 requests=[logged_v2(EXO_V2, "alice@contoso.com"), logged_v2(EXO_V2_OTHER, "alice@contoso.com")])


def sc_ready_v2():
    inp, p = basic_input()
    scenario("ready-v2",
             "RequireTargetReady=1 without VerifyAutodiscover: the anonymous Autodiscover v2 endpoint of the "
             "target (AutodiscoverTargetURL's host, Exchange Online) answers an AutodiscoverV1 URL for alice's "
             "target address, so she is ready and updated as in basic-update.",
             ["update", "autodiscover", "RequireTargetReady", "autodiscover-v2", "json"],
             inp, {"mapping.puf": std_mapping(), "config.ini": ad_config(["RequireTargetReady=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("alice", v2_rule({"Body": "ready.json", "ContentType": "application/json"}))]),
                   "autodiscover/ready.json": v2_ready(),
                   "expect/requests.txt": logged_v2(EXO_V2, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   requests="expect/requests.txt")],
             {"HKCU.reg": basic_updated(inp, p)})


def sc_not_ready_v2():
    inp, p = basic_input()
    scenario("not-ready-v2",
             "RequireTargetReady=1: the mapping was published before alice's mailbox moved, and the target's "
             "Autodiscover v2 endpoint answers 404 with a JSON error for her target address. She is "
             "deferred-not-ready (exit 2), nothing changes, and the next logon asks again.",
             ["update", "autodiscover", "RequireTargetReady", "autodiscover-v2", "json", "exit-2"],
             inp, {"mapping.puf": std_mapping(), "config.ini": ad_config(["RequireTargetReady=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("alice", v2_rule({"Status": 404, "Body": "error.json",
                                          "ContentType": "application/json"}))]),
                   "autodiscover/error.json": v2_error("InvalidUser", "The email address can't be found."),
                   "expect/requests.txt": logged_v2(EXO_V2, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 2, [("Outlook", ROW_A, "deferred-not-ready")], 1,
                   requests="expect/requests.txt",
                   stdout=["deferred-not-ready", "Autodiscover v2 for alice@contoso.com: ", "InvalidUser"])],
             {"HKCU.reg": inp.copy()})


def sc_ready_v2_redirect():
    inp, p = basic_input()
    target = EXO_V2_OTHER + "?Email=alice@contoso.com&Protocol=AutodiscoverV1"
    scenario("ready-v2-redirect",
             "RequireTargetReady=1: the target's Autodiscover v2 endpoint redirects (302) to another host, "
             "which answers an AutodiscoverV1 URL: followed like a POX redirect (https, host checked, hop "
             "limit), so alice is ready and updated.",
             ["update", "autodiscover", "RequireTargetReady", "autodiscover-v2", "redirect"],
             inp, {"mapping.puf": std_mapping(), "config.ini": ad_config(["RequireTargetReady=1"]),
                   "autodiscover/server.ini": server_ini(
                       ["autodiscover-s.outlook.com", "outlook.office365.com"], [
                           ("redirect", v2_rule({"Host": "autodiscover-s.outlook.com", "Status": 302,
                                                 "Location": target})),
                           ("answer", v2_rule({"Host": "outlook.office365.com", "Body": "ready.json",
                                               "ContentType": "application/json"}))]),
                   "autodiscover/ready.json": v2_ready(),
                   "expect/requests.txt": logged_v2(EXO_V2, "alice@contoso.com") +
                   logged_v2(EXO_V2_OTHER, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   requests="expect/requests.txt")],
             {"HKCU.reg": basic_updated(inp, p)})


def sc_ready_verify():
    inp, p = basic_input()
    exp = inp.copy()
    edits_alice_verified(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("ready-verify",
             "RequireTargetReady=1 with VerifyAutodiscover=1: the POX verification decides. The target's "
             "Autodiscover confirms alice's target LegacyDN, so she is ready and updated as in "
             "verify-autodiscover (no v2 request is made).",
             ["update", "autodiscover", "RequireTargetReady", "VerifyAutodiscover", "R4", "backup"],
             inp, {"mapping.puf": std_mapping(),
                   "config.ini": ad_config(["VerifyAutodiscover=1", "RequireTargetReady=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("alice", {"Email": "alice@contoso.com", "Body": "alice.xml"})]),
                   "autodiscover/alice.xml": ad_settings(ALICE_TGT),
                   "expect/requests.txt": logged_post(EXO_AD, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   requests="expect/requests.txt")],
             {"HKCU.reg": exp})


def sc_not_ready_verify():
    inp, p = basic_input()
    scenario("not-ready-verify",
             "RequireTargetReady=1 with VerifyAutodiscover=1: the target's Autodiscover answers Error 500 "
             "'The email address can't be found.' for alice's target address (her mailbox has not moved "
             "yet): deferred-not-ready, exit 2 (not failed), nothing changes.",
             ["update", "autodiscover", "RequireTargetReady", "VerifyAutodiscover", "exit-2"],
             inp, {"mapping.puf": std_mapping(),
                   "config.ini": ad_config(["VerifyAutodiscover=1", "RequireTargetReady=1"]),
                   "autodiscover/server.ini": server_ini(["autodiscover-s.outlook.com"], [
                       ("alice", {"Email": "alice@contoso.com", "Body": "error.xml"})]),
                   "autodiscover/error.xml": ad_error("500", "The email address can't be found."),
                   "expect/requests.txt": logged_post(EXO_AD, "alice@contoso.com")},
             [Step(UPDATE_CA % "mapping.puf", 2, [("Outlook", ROW_A, "deferred-not-ready")], 1,
                   requests="expect/requests.txt",
                   stdout=["deferred-not-ready", "Autodiscover for alice@contoso.com found no settings: ",
                           "The email address can't be found."])],
             {"HKCU.reg": inp.copy()})


# -- same SMTP domain ---------------------------------------------------------

SAME_MAP = "\n".join([AD_MAP_HEADER,
                      mapline(ALICE_SRC, ALICE_TGT, "alice@fabrikam.com", "alice@fabrikam.com", EXO)]) + "\n"
PIN_VALUES = ["PreferLocalXML", "ExcludeHttpsRootDomain", "ExcludeHttpsAutodiscoverDomain", "ExcludeHttpRedirect",
              "ExcludeSrvRecord", "ExcludeScpLookup", "ExcludeLastKnownGoodURL", "ExcludeExplicitO365Endpoint"]
LOCAL_XML_PATH = LOCAL + r"\Microsoft\Outlook\profswitch-fabrikam.com.xml"


def edits_alice_same_domain(exp, p):
    """alice moves to ALICE_TGT keeping alice@fabrikam.com (SameSmtpDomain=1),
    TargetServer EXO, verified answer with the mapiHttp URLs.  SMTP == OLD:
    R2 and R9 write what is already there, so those values do not change."""
    svc, ems, priv, pub = sec(p, A["svc"]), sec(p, A["ems"]), sec(p, A["priv"]), sec(p, A["pub"])
    xp, ab = sec(p, A["xp"]), sec(p, A["abp"])
    # service section: R9 would set 3001 to the same address -> unchanged
    exp.set(svc, 0x662A001F, EXO)                                   # R3
    exp.set(ems, 0x6603001E, ALICE_TGT)                             # R1
    # R2: 6641 already alice@fabrikam.com (both types) -> unchanged
    exp.set(ems, 0x6602001E, EXO)                                   # R3
    exp.set(ems, 0x662A001F, EXO)                                   # R3
    exp.set(ems, 0x6608001E, EXO)                                   # R3
    # R9: 6607, 3001, 6620, 663d already alice@fabrikam.com -> unchanged
    for t in (0x6612001E, 0x6613101E, 0x6614001E, 0x664A001F):      # R4
        exp.delete(ems, t)
    for t in AD_URLS:                                               # R4, then the answer's URLs
        exp.delete(ems, t)
    for t in (0x66350003, 0x66360003, 0x660E001F):                  # R5
        exp.delete(ems, t)
    exp.delete(ems, 0x663B0102)                                     # R4
    exp.delete(ems, 0x6618001E)                                     # R8 (b)
    exp.delete(ems, 0x6760001F)                                     # R8 (c)
    for t, url in AD_URLS.items():
        exp.add(ems, t, url)
    exp.set(priv, 0x660B001E, ALICE_TGT)                            # R1
    exp.set(priv, 0x660C001E, EXO)                                  # R3
    exp.delete(priv, 0x6614001E)                                    # R4
    exp.set(priv, 0x662B001F, EXO)                                  # R3
    exp.delete(priv, 0x0FFF0102)                                    # R8 (a)
    # priv 3001/6641 and "Public Folders - alice@fabrikam.com": R9/R2 give the same text -> unchanged
    exp.set(pub, 0x660C001E, EXO)                                   # R3
    exp.set(pub, 0x662B001F, EXO)                                   # R3
    exp.delete(pub, 0x0FFF0102)                                     # R8 (b)(c)
    exp.set(xp, 0x660B001E, ALICE_TGT)                              # R1
    exp.set(xp, 0x660C001E, EXO)                                    # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    exp.set(xp, 0x662B001F, EXO)                                    # R3
    exp.set(ab, 0x662A001F, EXO)                                    # R3


def add_pins(exp):
    key = OFFICE16 + r"\Outlook\AutoDiscover"
    exp.put(key, "fabrikam.com", "sz", LOCAL_XML_PATH)
    for v in PIN_VALUES:
        exp.put(key, v, "dword", 1)


def same_domain_gen(inp, p):
    blob = backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_TGT)], alice_sections(inp, p))
    vals = [("AutoDiscover", "fabrikam.com", 0, 0, b"")] + [("AutoDiscover", v, 0, 0, b"") for v in PIN_VALUES]
    return blob + backup_extra(vals, [(LOCAL_XML_PATH, 0, 1, b"")])


SAME_SERVER = server_ini(["autodiscover-s.outlook.com"], [
    ("alice", {"Email": "alice@fabrikam.com", "Body": "alice.xml"})])


def same_domain_files():
    return {"mapping.puf": SAME_MAP,
            "config.ini": ad_config(["SameSmtpDomain=1"]),
            "autodiscover/server.ini": SAME_SERVER,
            "autodiscover/alice.xml": ad_settings(ALICE_TGT, "alice@fabrikam.com"),
            OUTLOOK_FILES + OST_MARKER[0]: OST_MARKER[1]}


def sc_same_domain():
    inp, p = basic_input()
    exp = inp.copy()
    edits_alice_same_domain(exp, p)
    add_pins(exp)
    add_backup(exp, p, [(1, same_domain_gen(inp, p))])
    files = same_domain_files()
    files[EXPECT_FILES + OST_MARKER[0]] = OST_MARKER[1]
    files[EXPECT_FILES + "profswitch-fabrikam.com.xml"] = local_xml(EXO_AD)
    files["expect/requests.txt"] = logged_post(EXO_AD, "alice@fabrikam.com")
    scenario("same-smtp-domain",
             "Source and target share fabrikam.com (SameSmtpDomain=1): alice is verified against the explicit "
             "AutodiscoverTargetURL (never the domain, which finds the source), repointed, and pinned there with "
             "a local Autodiscover XML, PreferLocalXML and the Exclude* values, all in one backup generation.",
             ["update", "autodiscover", "same-smtp-domain", "local-xml", "backup"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   requests="expect/requests.txt")],
             {"HKCU.reg": exp})
    return inp, p, exp


def sc_same_domain_no_url():
    inp, p = basic_input()
    files = same_domain_files()
    files["config.ini"] = config(extra=["SameSmtpDomain=1"])
    del files["autodiscover/server.ini"], files["autodiscover/alice.xml"]
    scenario("same-smtp-domain-no-target-url",
             "SameSmtpDomain=1 without AutodiscoverTargetURL (and no TargetAutodiscoverURL in the mapping): "
             "discovery by domain would find the source, so alice is failed with a clear reason; nothing "
             "changes, exit 9.",
             ["update", "autodiscover", "same-smtp-domain", "config-error", "exit-9"],
             inp, files,
             [Step(UPDATE % "mapping.puf", 9, [("Outlook", ROW_A, "failed")], 1,
                   stderr=["SameSmtpDomain=1 needs AutodiscoverTargetURL"])],
             {"HKCU.reg": inp.copy()})


def sc_same_domain_cleanup():
    inp, p = basic_input()
    upd = inp.copy()
    edits_alice_same_domain(upd, p)
    add_pins(upd)
    cleaned = upd.copy()
    add_backup(upd, p, [(1, same_domain_gen(inp, p))])
    cleaned.delete_key(OFFICE16 + r"\Outlook\AutoDiscover")          # cleanup: values back to absent
    files = same_domain_files()
    files[EXPECT_FILES + OST_MARKER[0]] = OST_MARKER[1]              # the local XML is gone
    scenario("same-smtp-domain-cleanup",
             "After the source organisation is gone the admin runs cleanup: the backup goes, and so do the local "
             "Autodiscover XML and the PreferLocalXML/Exclude* values profswitch added; the profile stays on "
             "the target.",
             ["update", "cleanup", "autodiscover", "same-smtp-domain", "local-xml"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("cleanup --store {store} --config config.ini --report {report}", 0,
                   [("Outlook", ROW_A, "cleaned")], 0)],
             {"HKCU.reg": cleaned, "HKCU.updated.reg": upd})


def sc_same_domain_rollback():
    inp, p = basic_input()
    # the source's admins had set ExcludeExplicitO365Endpoint=0 explicitly
    inp.put(OFFICE16 + r"\Outlook\AutoDiscover", "ExcludeExplicitO365Endpoint", "dword", 0)
    upd = inp.copy()
    edits_alice_same_domain(upd, p)
    add_pins(upd)                       # ExcludeExplicitO365Endpoint 0 -> 1 keeps its place
    blob = backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_TGT)], alice_sections(inp, p))
    vals = [("AutoDiscover", "fabrikam.com", 0, 0, b"")]
    for v in PIN_VALUES:
        vals.append(("AutoDiscover", v, 1, 4, u32(0)) if v == "ExcludeExplicitO365Endpoint"
                    else ("AutoDiscover", v, 0, 0, b""))
    add_backup(upd, p, [(1, blob + backup_extra(vals, [(LOCAL_XML_PATH, 0, 1, b"")]))])
    files = same_domain_files()
    files[EXPECT_FILES + OST_MARKER[0]] = OST_MARKER[1]              # rollback removes the local XML
    scenario("same-smtp-domain-rollback",
             "SameSmtpDomain=1 on a machine where ExcludeExplicitO365Endpoint was 0: the update pins it to 1 "
             "with the other AutoDiscover values and the local XML; rollback puts back the 0, removes the values "
             "that were absent and the XML, and restores the profile exactly.",
             ["update", "rollback", "autodiscover", "same-smtp-domain", "ExcludeExplicitO365Endpoint"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("rollback --store {store} --all --report {report}", 0, [("Outlook", ROW_A, "rolled-back")],
                   0, identical="HKCU.reg")],
             {"HKCU.updated.reg": upd, "HKCU.reg": inp.copy()})


def sc_gpo_same_domain():
    inp, p = gpo_input([("AutoDiscover", "PreferLocalXML", "dword", 0)])
    files = same_domain_files()
    scenario("gpo-same-smtp-domain-preferlocalxml",
             "A policy sets AutoDiscover\\PreferLocalXML=0, which would override the value SameSmtpDomain=1 "
             "needs: alice is blocked-policy and nothing changes (no file, no value), exit 4.",
             ["update", "gpo-lock", "same-smtp-domain", "blocked-policy", "exit-4"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-policy")], 1,
                   stderr=["PreferLocalXML"])],
             {"HKCU.reg": inp.copy()})


# -- poisoned profiles ----------------------------------------------------------

CACHED_NAME = "3d5c1f8e0b7a4e2c - Autodiscover.xml"
CACHED_PATH = LOCAL + "\\Microsoft\\Outlook\\" + CACHED_NAME


def poisoned_input():
    """Outlook ran after the move, before the update: Autodiscover found the
    target and rewrote the MAPI/HTTP mail store URL and the last known good
    URL, and cached its answer; the mailbox DN is still the source's."""
    inp, p = basic_input()
    ems = sec(p, A["ems"])
    inp.prop(ems, 0x6652001F, "https://outlook.office365.com/mapi/emsmdb/" + MBX)
    inp.prop(ems, 0x664A001F, EXO_AD)
    return inp, p


def poisoned_files(repair, answer_dn):
    extra = ["RepairPoisoned=1"] if repair else []
    f = {"mapping.puf": std_mapping(), "config.ini": ad_config(extra),
         OUTLOOK_FILES + OST_MARKER[0]: OST_MARKER[1],
         OUTLOOK_FILES + CACHED_NAME: ad_settings(ALICE_TGT)}
    if repair:
        f["autodiscover/server.ini"] = server_ini(["autodiscover-s.outlook.com"],
                                                  [("alice", {"Body": "alice.xml"})])
        f["autodiscover/alice.xml"] = ad_settings(answer_dn)
    return f


def sc_poisoned_detect():
    inp, p = poisoned_input()
    files = poisoned_files(False, None)
    scenario("autodiscover-poisoned-detect",
             "A poisoned profile: alice is still on the source DN but her MAPI/HTTP URL and last known good "
             "Autodiscover URL point at Exchange Online, and a cached Autodiscover answer names her target "
             "mailbox. Without RepairPoisoned she is blocked-poisoned with that evidence; nothing changes.",
             ["update", "autodiscover-poisoned", "blocked-poisoned", "exit-4"],
             inp, files,
             [Step(UPDATE % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-poisoned")], 1,
                   stderr=["001f6652", "001f664a", CACHED_NAME])],
             {"HKCU.reg": inp.copy()})


def sc_poisoned_repair():
    inp, p = poisoned_input()
    exp = inp.copy()
    edits_alice_verified(exp, p)        # 6652/664a are deleted by R4 like the others; answer URLs re-added
    blob = alice_gen1(inp, p)
    blob += backup_extra([], [(CACHED_PATH, 1, 0, ad_settings(ALICE_TGT).encode("utf-8"))])
    add_backup(exp, p, [(1, blob)])
    files = poisoned_files(True, ALICE_TGT)
    files[EXPECT_FILES + OST_MARKER[0]] = OST_MARKER[1]              # the stale cached answer is purged
    scenario("autodiscover-poisoned-repair",
             "The poisoned profile of autodiscover-poisoned-detect with RepairPoisoned=1: the target's "
             "Autodiscover confirms alice's target DN, every server-derived value is reset to the target, the "
             "stale cached answer is deleted (kept in the backup), and she is repaired-poisoned.",
             ["update", "autodiscover-poisoned", "RepairPoisoned", "repaired-poisoned", "backup"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 0, [("Outlook", ROW_A, "repaired-poisoned")], 0)],
             {"HKCU.reg": exp})


def sc_poisoned_refused():
    inp, p = poisoned_input()
    files = poisoned_files(True, tgt_dn("9f8e7d6c5b4a39281706f5e4d3c2b1a0-alice2"))
    scenario("autodiscover-poisoned-repair-refused",
             "RepairPoisoned=1, but the target's Autodiscover answers with another mailbox's LegacyDN: the "
             "repair is refused (blocked-poisoned), nothing changes, exit 12 (blocked + Autodiscover).",
             ["update", "autodiscover-poisoned", "RepairPoisoned", "blocked-poisoned", "exit-12"],
             inp, files,
             [Step(UPDATE_CA % "mapping.puf", 12, [("Outlook", ROW_A, "blocked-poisoned")], 1,
                   stderr=["repair refused"])],
             {"HKCU.reg": inp.copy()})


# -- Microsoft 365 moves: a pre-existing ExcludeExplicitO365Endpoint pin ----

AD_KEY = OFFICE16 + r"\Outlook\AutoDiscover"
O365X = "ExcludeExplicitO365Endpoint"


def o365x_input():
    """basic-update's alice (moving to Exchange Online) on a machine where
    the source's admins set AutoDiscover\\ExcludeExplicitO365Endpoint=1
    (so that Outlook never asked Office 365 for the on-premises mailbox)."""
    inp, p = basic_input()
    inp.put(AD_KEY, O365X, "dword", 1)
    return inp, p


def o365x_updated(inp, p):
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    exp.delete_key(AD_KEY)              # the value goes, and the key it leaves empty (autodiscover.md)
    blob = alice_gen1(inp, p) + backup_extra([("AutoDiscover", O365X, 1 | 2, 4, u32(1))], [])
    add_backup(exp, p, [(1, blob)])
    return exp


def sc_o365x_removed():
    inp, p = o365x_input()
    upd = o365x_updated(inp, p)
    scenario("o365-exclusion-removed",
             "The source's admins pinned AutoDiscover\\ExcludeExplicitO365Endpoint=1; alice moves to Exchange "
             "Online, where that value would stop Outlook from finding her mailbox: the update removes it "
             "(O365EndpointExclusion=remove, the default) in the same backup generation, and rollback puts it "
             "back exactly.",
             ["update", "rollback", "autodiscover", "ExcludeExplicitO365Endpoint", "microsoft-365", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("rollback --store {store} --all --report {report}", 0, [("Outlook", ROW_A, "rolled-back")],
                   0, identical="HKCU.reg")],
             {"HKCU.updated.reg": upd, "HKCU.reg": inp.copy()})


def sc_o365x_cleanup():
    inp, p = o365x_input()
    upd = o365x_updated(inp, p)
    cleaned = inp.copy()
    edits_alice_to_exo(cleaned, p)
    cleaned.delete_key(AD_KEY)          # a repair, not a pin: cleanup leaves it removed
    scenario("o365-exclusion-cleanup",
             "o365-exclusion-removed, then cleanup: the backup goes, and the removed ExcludeExplicitO365Endpoint "
             "stays removed (it is a repair, flag 2 in the backup, unlike SameSmtpDomain's pins, which cleanup "
             "takes away).",
             ["update", "cleanup", "autodiscover", "ExcludeExplicitO365Endpoint", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("cleanup --store {store} --config config.ini --report {report}", 0,
                   [("Outlook", ROW_A, "cleaned")], 0)],
             {"HKCU.reg": cleaned, "HKCU.updated.reg": upd})


def sc_o365x_keep():
    inp, p = o365x_input()
    exp = inp.copy()
    edits_alice_to_exo(exp, p)          # the value stays; only the profile changes
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("o365-exclusion-keep",
             "As o365-exclusion-removed with O365EndpointExclusion=keep: alice is updated, the "
             "ExcludeExplicitO365Endpoint value is left alone (the log warns), and the backup holds the profile "
             "only.",
             ["update", "autodiscover", "ExcludeExplicitO365Endpoint", "microsoft-365", "config"],
             inp, {"mapping.puf": std_mapping(),
                   "config.ini": config(extra=["O365EndpointExclusion=keep"])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


# -- the new Outlook for Windows ----------------------------------------------

def new_outlook_input():
    """alice switched to the new Outlook for Windows: its toggle wrote
    Outlook\\Preferences\\UseNewOutlook=1 beside the classic profile."""
    inp, p = basic_input()
    inp.put(OFFICE16 + r"\Outlook\Preferences", "UseNewOutlook", "dword", 1)
    return inp, p


def sc_new_outlook_blocked():
    inp, p = new_outlook_input()
    scenario("new-outlook-blocked",
             "alice runs the new Outlook for Windows (Preferences\\UseNewOutlook=1), which does not open her "
             "classic profile: with NewOutlook=block (the default) she is blocked-new-outlook, nothing changes, "
             "exit 4. inspect shows the toggle first.",
             ["update", "inspect", "new-outlook", "blocked-new-outlook", "exit-4", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step("inspect {store}", 0, [], 1,
                   stdout=["new Outlook: UseNewOutlook = 1 (the user runs the new Outlook for Windows: "
                           "update blocks, unless NewOutlook=update)"]),
              Step(UPDATE % "mapping.puf", 4, [("Outlook", ROW_A, "blocked-new-outlook")], 1,
                   stdout=["Outlook\\Preferences\\UseNewOutlook = 1: the user runs the new Outlook for "
                           "Windows"])],
             {"HKCU.reg": inp.copy()})


def sc_new_outlook_update():
    inp, p = new_outlook_input()
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("new-outlook-update",
             "new-outlook-blocked with NewOutlook=update: the classic profile is repointed anyway (the user may "
             "switch back), as in basic-update; UseNewOutlook is left as it is.",
             ["update", "new-outlook", "config", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["NewOutlook=update"])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


# -- the Office sign-in cache (ResetOfficeIdentity) ---------------------------

IDENT = OFFICE16 + r"\Common\Identity"
ID_SRC = "5b7e1c2a-8d3f-4e6a-9b1c-2d3e4f5a6b7c_ADAL"     # alice in Fabrikam's tenant
ID_TGT = "9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f_ADAL"     # alice in Contoso's tenant
ID_MSA = "00037FFE8A1B2C3D_LiveId"                      # her personal Microsoft account
SRC_TENANT = "3e1f5a7c-2b4d-4f6e-8a9c-0d1e2f3a4b5c"
TGT_TENANT = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"


def sz(text):
    """REG_SZ data as the store reads it: UTF-16LE with its NUL."""
    return text.encode("utf-16-le") + b"\0\0"


def identity_values(email, name, provider, idp, tenant=None):
    vals = [("EmailAddress", "sz", email), ("FriendlyName", "sz", name), ("IdP", "dword", idp),
            ("ProviderId", "sz", provider), ("SignInName", "sz", email)]
    if tenant:
        vals.append(("TenantId", "sz", tenant))
    return vals


def identity_input():
    """alice (basic-update, whole Software key exported) signed in to Office
    with her Fabrikam work account, later with her Contoso account, and
    with a personal Microsoft account: the Identities and Profiles keys
    Office 16 keeps under Common\\Identity (values as Office writes them:
    EmailAddress, FriendlyName, IdP, ProviderId, SignInName, TenantId for
    work accounts; a profile key per identity, with a subkey of its own)."""
    inp, p = basic_input(wide=True)
    # Common\\Identity as a real Office 2013 hive has it (Version=1, an
    # empty DocToIdMapping key beside Identities and Profiles)
    inp.put(IDENT, "Version", "dword", 1)
    inp.add_key(IDENT + "\\DocToIdMapping")
    for ident, vals in ((ID_SRC, identity_values("alice@fabrikam.com", "Alice Smith", "AD", 5, SRC_TENANT)),
                        (ID_TGT, identity_values("alice@contoso.com", "Alice Smith", "AD", 5, TGT_TENANT)),
                        (ID_MSA, identity_values("alice.smith@outlook.com", "Alice", "LiveId", 4))):
        for name, kind, data in vals:
            inp.put(IDENT + "\\Identities\\" + ident, name, kind, data)
    for ident in (ID_SRC, ID_TGT):
        k = IDENT + "\\Profiles\\" + ident
        inp.put(k, "DisplayName", "sz", "Alice Smith")
        inp.put(k + "\\Settings", "LastSignIn", "bin", bytes.fromhex("00c4a3f2b1d9da01"))
    return inp, p


def identity_keys_backup():
    """The two keys of alice's Fabrikam identity, as snapshotted before the
    delete (values in registry order; the Profiles key's subkey after it)."""
    def enc(vals):
        out = []
        for name, kind, data in vals:
            out.append((name, 4, u32(data)) if kind == "dword" else (name, 1, sz(data)))
        return out
    ident = "Common\\Identity\\Identities\\" + ID_SRC
    prof = "Common\\Identity\\Profiles\\" + ID_SRC
    return backup_keys([
        (ident, 1, enc(identity_values("alice@fabrikam.com", "Alice Smith", "AD", 5, SRC_TENANT))),
        (prof, 1, [("DisplayName", 1, sz("Alice Smith"))]),
        (prof + "\\Settings", 0, [("LastSignIn", 3, bytes.fromhex("00c4a3f2b1d9da01"))])])


def identity_updated(inp, p):
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    exp.delete_key(IDENT + "\\Identities\\" + ID_SRC)           # the source tenant's identity
    exp.delete_key(IDENT + "\\Profiles\\" + ID_SRC)             # and its profile entry
    blob = alice_gen1(inp, p) + backup_extra([], []) + identity_keys_backup()
    add_backup(exp, p, [(1, blob)])
    return exp


def sc_identity_reset():
    inp, p = identity_input()
    upd = identity_updated(inp, p)
    scenario("office-identity-reset",
             "ResetOfficeIdentity=1: alice's Office sign-in cache holds her Fabrikam (source) identity, her "
             "Contoso one and a personal account. With the update, only the Fabrikam identity's Identities and "
             "Profiles keys go (matched by its address), in the same backup generation; rollback puts them back "
             "exactly. inspect lists the three identities first.",
             ["update", "rollback", "office-identity", "ResetOfficeIdentity", "microsoft-365", "backup"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["ResetOfficeIdentity=1"])},
             [Step("inspect {store}", 0, [], 1,
                   stdout=["Office sign-in identities: 3",
                           "  %s: alice@fabrikam.com, tenant %s" % (ID_SRC, SRC_TENANT),
                           "  %s: alice@contoso.com, tenant %s" % (ID_TGT, TGT_TENANT)]),
              Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("rollback --store {store} --all --report {report}", 0, [("Outlook", ROW_A, "rolled-back")],
                   0, identical="HKCU.reg")],
             {"HKCU.updated.reg": upd, "HKCU.reg": inp.copy()})


def sc_identity_cleanup():
    inp, p = identity_input()
    upd = identity_updated(inp, p)
    cleaned = inp.copy()
    edits_alice_to_exo(cleaned, p)
    cleaned.delete_key(IDENT + "\\Identities\\" + ID_SRC)       # cleanup leaves them removed
    cleaned.delete_key(IDENT + "\\Profiles\\" + ID_SRC)
    scenario("office-identity-cleanup",
             "office-identity-reset, then cleanup: the backup goes and the source identity stays removed.",
             ["update", "cleanup", "office-identity", "ResetOfficeIdentity", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(extra=["ResetOfficeIdentity=1"])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   store="expect/HKCU.updated.reg"),
              Step("cleanup --store {store} --config config.ini --report {report}", 0,
                   [("Outlook", ROW_A, "cleaned")], 0)],
             {"HKCU.reg": cleaned, "HKCU.updated.reg": upd})


def sc_identity_report():
    inp, p = identity_input()
    exp = inp.copy()
    edits_alice_to_exo(exp, p)          # ResetOfficeIdentity=0: the identities stay
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    scenario("office-identity-kept",
             "The same sign-in cache with ResetOfficeIdentity=0 (the default): alice is updated, the identities "
             "stay, and the row's detail says one source identity was kept.",
             ["update", "office-identity", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config()},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   stdout=["1 Office sign-in identity of the source kept"])],
             {"HKCU.reg": exp})


def sc_identity_tenant():
    inp, p = identity_input()
    # a second work identity of the source tenant under another address (a
    # shared or renamed account): only SourceTenantId finds it
    other = "2d4f6a8c-1e3b-4d5f-9a7c-6e8f0a2b4c6d_ADAL"
    for name, kind, data in identity_values("a.smith@fabrikam.onmicrosoft.com", "Alice Smith", "AD", 5,
                                            SRC_TENANT.upper()):
        inp.put(IDENT + "\\Identities\\" + other, name, kind, data)
    exp = inp.copy()
    edits_alice_to_exo(exp, p)
    exp.delete_key(IDENT + "\\Identities\\" + other)             # TenantId = SourceTenantId (any case)
    exp.delete_key(IDENT + "\\Identities\\" + ID_SRC)            # address
    exp.delete_key(IDENT + "\\Profiles\\" + ID_SRC)
    vals = [(n, 4, u32(d)) if k == "dword" else (n, 1, sz(d)) for n, k, d in
            identity_values("a.smith@fabrikam.onmicrosoft.com", "Alice Smith", "AD", 5, SRC_TENANT.upper())]
    keys = backup_keys([("Common\\Identity\\Identities\\" + other, 1, vals)])
    src = identity_keys_backup()
    # both identities in the Identities key's order (other sorts first); the
    # source one's Profiles key right after it (it has no Profiles key)
    blob = alice_gen1(inp, p) + backup_extra([], []) + b"PSK1" + u32(4) + keys[8:] + src[8:]
    add_backup(exp, p, [(1, blob)])
    scenario("office-identity-tenant",
             "ResetOfficeIdentity=1 with SourceTenantId: an identity of the source tenant under an address "
             "that is not alice's (her onmicrosoft.com name) goes too, found by its TenantId; her Contoso and "
             "personal identities stay.",
             ["update", "office-identity", "ResetOfficeIdentity", "SourceTenantId", "microsoft-365"],
             inp, {"mapping.puf": std_mapping(),
                   "config.ini": config(extra=["ResetOfficeIdentity=1", "SourceTenantId=" + SRC_TENANT])},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def m365_scenarios():
    sc_identity_reset()
    sc_identity_cleanup()
    sc_identity_report()
    sc_identity_tenant()
    sc_o365x_removed()
    sc_o365x_cleanup()
    sc_o365x_keep()
    sc_new_outlook_blocked()
    sc_new_outlook_update()


def autodiscover_scenarios():
    sc_ad_settings()
    sc_ad_redirect_addr()
    sc_ad_redirect_url()
    sc_ad_redirect_loop()
    sc_ad_401()
    sc_ad_windows_auth()
    sc_ad_windows_auth_untrusted()
    sc_ad_unreachable()
    sc_ad_wrong_answers()
    sc_ad_truncated_connection()
    sc_ad_http_downgrade()
    sc_verify_ok()
    sc_verify_wrong_dn()
    sc_ad_v2_cli()
    sc_ready_v2()
    sc_not_ready_v2()
    sc_ready_v2_redirect()
    sc_ready_verify()
    sc_not_ready_verify()
    sc_same_domain()
    sc_same_domain_no_url()
    sc_same_domain_cleanup()
    sc_same_domain_rollback()
    sc_gpo_same_domain()
    sc_poisoned_detect()
    sc_poisoned_repair()
    sc_poisoned_refused()



# ---------------------------------------------------------------------------
# Mapping integrity (docs/security.md): MappingSHA256 pins the file.
# The pinned hash is sha256 of the mapping bytes, as `sha256sum` prints it.
# ---------------------------------------------------------------------------

import hashlib


def sc_mapping_pinned():
    inp, p = basic_input()
    mapping = std_mapping()
    good = hashlib.sha256(mapping.encode("utf-8")).hexdigest()
    scenario("mapping-sha256-pinned",
             "The configuration (deployed read-only) pins the mapping with MappingSHA256; the file is the one "
             "pinned, so alice is updated as in basic-update. `mapping check` prints the same hash to pin.",
             ["update", "security", "MappingSHA256", "mapping-check"],
             inp, {"mapping.puf": mapping, "config.ini": config(extra=["MappingSHA256=" + good.upper()])},
             [Step("mapping check mapping.puf", 0, [], 1, stdout=["mailboxes: 3", "MappingSHA256=" + good]),
              Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": basic_updated(inp, p)})


def sc_mapping_tampered():
    inp, p = basic_input()
    pinned = std_mapping()
    # someone with write access to the share points alice at their own server
    tampered = pinned.replace("|" + EXO + "\n", "|mail.attacker.example\n", 1)
    assert tampered != pinned
    good = hashlib.sha256(pinned.encode("utf-8")).hexdigest()
    bad = hashlib.sha256(tampered.encode("utf-8")).hexdigest()
    scenario("mapping-sha256-tampered",
             "The mapping on the share was changed after the configuration pinned it (alice's TargetServer now "
             "names another server): the file is refused before it is read, exit 65, nothing changes, and the "
             "message names the pinned and the found hash.",
             ["update", "security", "MappingSHA256", "exit-65"],
             inp, {"mapping.puf": tampered, "config.ini": config(extra=["MappingSHA256=" + good])},
             [Step(UPDATE % "mapping.puf", 65, [], 1, stderr=["has SHA-256 " + bad, "pins " + good,
                                                              "nothing was changed"])],
             {"HKCU.reg": inp.copy()})


# ---------------------------------------------------------------------------
# OST across organisations (docs/update-rules.md R6): OST=keep becomes rename
# when the target is another mailbox, unless TargetMailboxGuid is the source's
# mailbox GUID.  These configurations leave OSTAcrossOrganisations at its
# default (rename).
# ---------------------------------------------------------------------------

ALICE_ONPREM_GUID = "6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5"   # MailboxId of alice_emsmdb()'s MAPI/HTTP URLs
ALICE_EXO_GUID = "32833106-536e-45df-80b2-d002cc92d33d"      # EXO_SRC_SERVER = <this>@fabrikam.com
OST_DIR = "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\"


def sc_ost_cross_org_rename():
    inp, p = basic_input()
    exp = inp.copy()
    edits_alice_to_exo(exp, p)                                      # as basic-update, plus:
    ems = sec(p, A["ems"])
    # R6: OST=keep, but /o=Fabrikam -> /o=ExchangeLabs is another organisation and
    # the mapping gives no TargetMailboxGuid: renamed as OST=rename does,
    # DIR\SMTP.ost; only 001f6610 is present
    exp.set(ems, 0x6610001F, OST_DIR + "alice@contoso.com.ost")
    add_backup(exp, p, [(1, alice_gen1(inp, p))])
    why = "OST renamed: target in another organisation (/o=Fabrikam vs /o=ExchangeLabs)"
    scenario("ost-cross-org-rename",
             "Alice moves from the on-premises organisation /o=Fabrikam to Exchange Online (/o=ExchangeLabs) "
             "with OST=keep: an OST cannot be used with another mailbox, so the profile is pointed at a new OST "
             "named after her new address (the old file stays for a rollback), and the report says why. "
             "inspect says it first, with the size Outlook downloads again, then the dry run.",
             ["update", "dry-run", "inspect", "R6", "ost", "cross-organisation"],
             inp, {"mapping.puf": std_mapping(), "config.ini": config(ost_orgs=None),
                   # alice's OST on drive C: (30 bytes), for inspect; the update leaves it
                   OUTLOOK_FILES + OST_MARKER[0]: OST_MARKER[1],
                   EXPECT_FILES + OST_MARKER[0]: OST_MARKER[1]},
             [Step("inspect {store} --config config.ini --mapping mapping.puf", 0, [], 1,
                   stdout=["OST size             30 bytes",
                           "profile Outlook: alice@fabrikam.com: " + why + "; Outlook downloads the "
                           "mailbox again (OST size 30 bytes)"]),
              Step(UPDATE % "mapping.puf" + " --dry-run", 0, [("Outlook", ROW_A, "would-update")], 1,
                   stdout=[why]),
              Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0, stdout=[why])],
             {"HKCU.reg": exp})


def guid_server(guid):
    """Exchange Online names a mailbox's server after its GUID (R6): the
    target server of a mailbox whose TargetMailboxGuid is `guid`."""
    return guid.strip("{}").lower() + "@contoso.com"


def exo_guid_mapping(guid):
    return "\n".join([MAP_HEADER + "|TargetMailboxGuid",
                      mapline(CAROL_SRC, CAROL_TGT, "carol@contoso.com", "carol@fabrikam.com", EXO, ""),
                      mapline(ALICE_EXO_SRC, ALICE_TGT, "alice@contoso.com", "alice@fabrikam.com",
                              guid_server(guid), guid)]) + "\n"


def sc_ost_cross_tenant_same_guid():
    inp, p = exo_input()
    exp = inp.copy()
    # as exchange-online-archive: 6610 kept (OST=keep): the mapping's
    # TargetMailboxGuid (upper case, in braces) is the mailbox GUID of the
    # profile's home server <guid>@fabrikam.com: the same mailbox
    edits_exo_tenant_move(exp, p, guid_server(ALICE_EXO_GUID))
    add_backup(exp, p, [(1, backup_blob(2, [(ROW_A, ALICE_EXO_SRC, ALICE_TGT)], exo_sections(inp, p)))])
    scenario("ost-cross-tenant-same-guid",
             "A tenant-to-tenant move that keeps the mailbox (ExchangeGuid): the mapping's TargetMailboxGuid is "
             "the GUID of alice's home server name (<guid>@fabrikam.com), so OST=keep keeps her OST.",
             ["update", "R6", "ost", "tenant-to-tenant", "TargetMailboxGuid", "guid-server"],
             inp, {"mapping.puf": exo_guid_mapping("{" + ALICE_EXO_GUID.upper() + "}"),
                   "config.ini": config(ost_orgs=None)},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


OTHER_GUID = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"          # a new mailbox in the target tenant


def sc_ost_cross_tenant_other_guid():
    inp, p = exo_input()
    exp = inp.copy()
    edits_exo_tenant_move(exp, p, guid_server(OTHER_GUID))      # as exchange-online-archive, plus:
    # R6: both DNs start with /o=ExchangeLabs, but TargetMailboxGuid is not the
    # profile's mailbox GUID: another mailbox, OST renamed (DIR\SMTP.ost)
    exp.set(sec(p, E["ems"]), 0x6610001F, OST_DIR + "alice@contoso.com.ost")
    add_backup(exp, p, [(1, backup_blob(2, [(ROW_A, ALICE_EXO_SRC, ALICE_TGT)], exo_sections(inp, p)))])
    scenario("ost-cross-tenant-other-guid",
             "A tenant-to-tenant move to a new mailbox: both tenants' DNs start with /o=ExchangeLabs, but the "
             "mapping's TargetMailboxGuid differs from the GUID in alice's home server name, so OST=keep renames "
             "her OST and the report gives both GUIDs.",
             ["update", "R6", "ost", "tenant-to-tenant", "TargetMailboxGuid", "guid-server"],
             inp, {"mapping.puf": exo_guid_mapping(OTHER_GUID),
                   "config.ini": config(ost_orgs=None)},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0,
                   stdout=["OST renamed: target is another mailbox (mailbox GUID " + ALICE_EXO_GUID
                           + " vs TargetMailboxGuid " + OTHER_GUID + ")"])],
             {"HKCU.reg": exp})


def sc_ost_same_org_keep():
    inp, p = basic_input()
    exp = inp.copy()
    svc, ems, priv, pub = sec(p, A["svc"]), sec(p, A["ems"]), sec(p, A["priv"]), sec(p, A["pub"])
    xp, ab = sec(p, A["xp"]), sec(p, A["abp"])
    # A move to another server of the organisation: TGT = SRC, SERVER = EXCH02,
    # no SMTP (no R2, no R9), R8 (a) and (b) skipped; R8 (c) names: EXCH01,
    # exch01.fabrikam.local, exch01.  R6: the same organisation and no
    # TargetMailboxGuid: OST=keep keeps 6610.
    exp.set(svc, 0x662A001F, "EXCH02")                              # R3
    # ems: 6603 stays SRC (R1 to itself), 6641, 6607, 3001, 6620, 663d kept (no SMTP)
    exp.set(ems, 0x6602001E, "EXCH02")                              # R3
    exp.set(ems, 0x662A001F, "EXCH02")                              # R3
    exp.set(ems, 0x6608001E, "EXCH02")                              # R3
    exp.delete(ems, 0x6612001E)                                     # R4
    exp.delete(ems, 0x6613101E)                                     # R4
    exp.delete(ems, 0x6614001E)                                     # R4
    exp.delete(ems, 0x664A001F)                                     # R4
    exp.delete(ems, 0x6652001F)                                     # R4
    exp.delete(ems, 0x6653001F)                                     # R4
    exp.delete(ems, 0x6654001F)                                     # R4
    exp.delete(ems, 0x6655001F)                                     # R4
    exp.delete(ems, 0x663B0102)                                     # R4
    exp.delete(ems, 0x66350003)                                     # R5
    exp.delete(ems, 0x66360003)                                     # R5
    exp.delete(ems, 0x660E001F)                                     # R5
    exp.delete(ems, 0x6760001F)                                     # R8 (c): "exch01.fabrikam.local"
    # kept: 6610 (R6 keep), 6618 (R8 (b) skipped: the DN stays; no server in it),
    #       6621 "exch010..." (boundary), 6601, 6619, 6630, 6617
    exp.set(priv, 0x660C001E, "EXCH02")                             # R3
    exp.delete(priv, 0x6614001E)                                    # R4
    exp.set(priv, 0x662B001F, "EXCH02")                             # R3
    exp.delete(priv, 0x0FFF0102)                                    # R8 (c): the entry ID names EXCH01
    exp.set(pub, 0x660C001E, "EXCH02")                              # R3
    exp.set(pub, 0x662B001F, "EXCH02")                              # R3
    exp.delete(pub, 0x0FFF0102)                                     # R8 (c): EXCH01
    exp.set(xp, 0x660C001E, "EXCH02")                               # R3
    exp.delete(xp, 0x6614001E)                                      # R4
    exp.set(xp, 0x662B001F, "EXCH02")                               # R3
    exp.set(ab, 0x662A001F, "EXCH02")                               # R3
    # the report and the backup name the unit's own DN as its target
    add_backup(exp, p, [(1, backup_blob(2, [(ROW_A, ALICE_SRC, ALICE_SRC)], alice_sections(inp, p)))])
    mapping = "\n".join([MAP_HEADER, mapline(ALICE_SRC, "", "", "", "EXCH02")]) + "\n"
    scenario("ost-same-org-keep",
             "Alice's mailbox moves to another server of her organisation (the DN stays): with OST=keep and the "
             "default OSTAcrossOrganisations=rename her OST is kept, since it is the same mailbox.",
             ["update", "R6", "ost", "server-move", "R3", "R4", "R8"],
             inp, {"mapping.puf": mapping, "config.ini": config(ost_orgs=None)},
             [Step(UPDATE % "mapping.puf", 0, [("Outlook", ROW_A, "updated")], 0)],
             {"HKCU.reg": exp})


def main():
    _, basic_after = sc_basic()
    sc_already_updated(basic_after)
    sc_not_migrated()
    sc_dry_run()
    sc_multi_both()
    sc_multi_one()
    sc_second_wave()
    sc_rollback()
    sc_rollback_waves()
    sc_cleanup()
    sc_bad_mapping()
    sc_truncated()
    sc_pst_only()
    sc_unicode()
    sc_regedit4()
    sc_ost_rename_cached_on()
    sc_no_smtp()
    sc_legacy_15()
    sc_processed_domains()
    sc_ambiguous()
    sc_default_only()
    sc_exo_archive()
    sc_archive_guid_mapping()
    sc_reg_binary_strings()
    sc_running_defer()
    sc_running_wait_proceed()
    sc_running_wait_defer()
    sc_running_close_accepted()
    sc_running_close_refused()
    sc_running_lync_only()
    sc_gpo_cached_mode_enforced()
    sc_gpo_forceostpath()
    sc_gpo_no_conflict()
    sc_locked_store()
    sc_global_timeout()
    sc_running_defer_accounts()
    sc_running_defer_unmapped()
    sc_log_fallback()
    sc_run_after()
    autodiscover_scenarios()
    sc_mapping_pinned()
    sc_mapping_tampered()
    m365_scenarios()
    sc_ost_cross_org_rename()
    sc_ost_cross_tenant_same_guid()
    sc_ost_cross_tenant_other_guid()
    sc_ost_same_org_keep()


if __name__ == "__main__":
    main()
