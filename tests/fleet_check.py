#!/usr/bin/env python3
"""End-to-end checks of `profswitch rehearse` on the bundled sample fleet.

    fleet_check.py sample  --exe PROFSWITCH --samples DIR
    fleet_check.py browser --exe PROFSWITCH --samples DIR [--chromium PATH]

sample:  rehearse samples/fleet and compare every (user, profile, account,
         status) with samples/fleet-expected.csv (hand-derived, see
         samples/tools/mkfleet.py); the JSON summary must agree with the
         rows; no input may change.
browser: open the HTML report in a real browser (Debian's chromium,
         headless): the numbers in the rendered page (after its script ran)
         must be the JSON summary's, the filter (from the #q= fragment) must
         show exactly the rows that contain the text, and a screenshot must
         not be blank.  Exit 77 (skipped) when there is no chromium.

Standard library only.
"""

import argparse
import collections
import csv
import hashlib
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ost_cell(n):
    """The page's "OST downloaded again" cell for a JSON row's
    ost_download_bytes: as ps_fleet_bytes writes it, "unknown" for null,
    empty for 0."""
    if n is None:
        return "unknown"
    if n == 0:
        return ""
    if n < 1024:
        return "%d bytes" % n
    v, units = n / 1024.0, ["KiB", "MiB", "GiB", "TiB", "PiB"]
    u = 0
    while v >= 1024 and u + 1 < len(units):
        v /= 1024.0
        u += 1
    return "%.1f %s" % (v, units[u])


def tree_hashes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[p] = hashlib.sha256(fh.read()).hexdigest()
    return out


def rehearse(args, tmp, *reports):
    fleet = os.path.join(args.samples, "fleet")
    cmd = [args.exe, "rehearse", fleet, "--mapping",
           os.path.join(args.samples, "fleet-mapping.puf"), "--config",
           os.path.join(args.samples, "fleet.ini"), "-q"]
    for r in reports:
        cmd += ["--report", os.path.join(tmp, r)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p


def expected_rows(args):
    with open(os.path.join(args.samples, "fleet-expected.csv"), newline="",
              encoding="utf-8") as f:
        return [tuple(r) for r in csv.reader(f)][1:]


def check_sample(args, tmp):
    before = tree_hashes(os.path.join(args.samples, "fleet"))
    p = rehearse(args, tmp, "fleet.csv", "fleet.json")
    exp = expected_rows(args)
    statuses = collections.Counter(r[3] for r in exp)
    want_exit = (1 if statuses["failed"] else 0) | \
        (4 if any(s.startswith("blocked-") for s in statuses) else 0)
    if p.returncode != want_exit:
        fail("exit %d, expected %d\n%s" % (p.returncode, want_exit, p.stderr))
    if p.stdout:
        fail("-q printed: %r" % p.stdout[:200])
    with open(os.path.join(tmp, "fleet.csv"), "rb") as f:
        if not f.read(3) == b"\xef\xbb\xbf":
            fail("fleet.csv does not start with the UTF-8 BOM")
    with open(os.path.join(tmp, "fleet.csv"), newline="",
              encoding="utf-8-sig") as f:
        got = [(r["user"], r["profile"], r["account"], r["status"])
               for r in csv.DictReader(f)]
    if got != exp:
        for i, (a, b) in enumerate(zip(got, exp)):
            if a != b:
                fail("row %d: got %r, expected %r" % (i + 1, a, b))
        fail("%d rows, expected %d" % (len(got), len(exp)))
    with open(os.path.join(tmp, "fleet.json"), encoding="utf-8") as f:
        js = json.load(f)
    s = js["summary"]
    if s["accounts"] != len(exp) or s["status"] != dict(statuses):
        fail("JSON summary %r disagrees with the rows %r" % (s["status"], dict(statuses)))
    if s["users"] != len({r[0] for r in exp}):
        fail("JSON users %d" % s["users"])
    if js["exit_bits"] != want_exit:
        fail("JSON exit_bits %d" % js["exit_bits"])
    if tree_hashes(os.path.join(args.samples, "fleet")) != before:
        fail("a rehearsal changed an input")
    print("sample fleet: %d users, %d rows as expected, inputs unchanged"
          % (s["users"], len(got)))
    check_progress(args, tmp, s["users"])


def check_progress(args, tmp, users):
    """Progress goes to a terminal only: count, rate and ETA."""
    import pty
    cmd = [args.exe, "rehearse", os.path.join(args.samples, "fleet"), "--mapping",
           os.path.join(args.samples, "fleet-mapping.puf"), "--config",
           os.path.join(args.samples, "fleet.ini")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if "inputs" in p.stderr or "ETA" in p.stderr:
        fail("progress shown on a pipe: %r" % p.stderr[:300])
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:        # EIO: the other side closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    proc.wait()
    text = seen.decode(errors="replace")
    want = "\r%d/%d inputs" % (users, users)
    if want not in text or "/s" not in text or "ETA" not in text:
        fail("no progress on a terminal: %r" % text[-300:])
    print("progress: shown on a terminal (%r), not on a pipe"
          % text.strip().splitlines()[-1][:60])


# ---- PNG: enough of the format to look at a screenshot's pixels --------

def png_pixels(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("screenshot is not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = hdr[0], hdr[1], hdr[2], hdr[3]
    if depth != 8 or ctype not in (2, 6) or hdr[6]:
        fail("unexpected PNG format %r" % (hdr,))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_screenshot(path):
    w, h, bpp, rows = png_pixels(path)
    colours, ink, total = set(), 0, 0
    for y in range(0, h, 3):
        row = rows[y]
        for x in range(0, w, 3):
            px = row[x * bpp:x * bpp + 3]
            colours.add(px)
            total += 1
            if px != b"\xff\xff\xff":
                ink += 1
    if len(colours) < 8 or ink < total * 0.02:
        fail("screenshot looks blank: %d colours, %.1f%% not white"
             % (len(colours), 100.0 * ink / total))
    print("screenshot %dx%d: %d colours, %.1f%% not white"
          % (w, h, len(colours), 100.0 * ink / total))


def chromium(args, profile, *extra):
    cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def dom_number(dom, ident):
    m = re.search(r'id="%s">(\d+)<' % re.escape(ident), dom)
    if not m:
        fail("no #%s in the rendered page" % ident)
    return int(m.group(1))


def check_browser(args, tmp):
    if not args.chromium or not shutil.which(args.chromium):
        print("chromium not found: browser check skipped")
        sys.exit(77)
    p = rehearse(args, tmp, "fleet.html", "fleet.json")
    if p.returncode >= 64:
        fail("rehearse exit %d: %s" % (p.returncode, p.stderr))
    with open(os.path.join(tmp, "fleet.json"), encoding="utf-8") as f:
        js = json.load(f)
    s = js["summary"]
    page = "file://" + os.path.join(tmp, "fleet.html")
    query = args.query
    r = chromium(args, os.path.join(tmp, "profile1"), "--dump-dom",
                 page + "#q=" + query)
    dom = r.stdout
    if "</html>" not in dom:
        fail("chromium printed no DOM: %s" % r.stderr[-500:])
    for ident, want in [("total-users", s["users"]), ("total-accounts", s["accounts"]),
                        ("unusable-inputs", s["unusable_inputs"]),
                        ("exit-bits", js["exit_bits"])]:
        if dom_number(dom, ident) != want:
            fail("#%s shows %d, the JSON says %d" % (ident, dom_number(dom, ident), want))
    for st, n in s["status"].items():
        if dom_number(dom, "count-" + st) != n:
            fail("#count-%s shows %d, the JSON says %d" % (st, dom_number(dom, "count-" + st), n))
    for oc, n in s["users_by_outcome"].items():
        if dom_number(dom, "outcome-" + oc) != n:
            fail("#outcome-%s" % oc)
    bars = dict(re.findall(r'data-status="([a-z-]+)" data-count="(\d+)"', dom))
    if {k: int(v) for k, v in bars.items()} != s["status"]:
        fail("chart bars %r, JSON %r" % (bars, s["status"]))
    # The filter ran in the browser: rows shown are those whose text has
    # the query, as the page's cells put it (user, profile, account,
    # status, detail, OST downloaded again, input).
    q = query.lower()
    want_shown = sum(1 for row in js["rows"] if q in "".join(
        [row["user"], row["profile"], row["account"], row["status"],
         row["detail"], ost_cell(row["ost_download_bytes"]),
         row["input"]]).lower())
    shown = dom_number(dom, "shown")
    table = dom.split('id="rows"', 1)[1].split("</table>", 1)[0]
    hidden = table.count('style="display: none;"')
    total = len(re.findall(r"<tr[ >]", table)) - 1   # less the header row
    if shown != want_shown or total - hidden != want_shown or want_shown == 0:
        fail("filter %r: page shows %d (%d rows of %d visible), expected %d"
             % (query, shown, total - hidden, total, want_shown))
    if html.escape(query) not in dom:
        fail("the filter box does not hold the query")
    print("rendered page: numbers match the JSON; filter %r shows %d of %d rows"
          % (query, shown, total))
    shot = os.path.join(tmp, "fleet.png")
    r = chromium(args, os.path.join(tmp, "profile2"), "--window-size=1200,1600",
                 "--screenshot=" + shot, page)
    if not os.path.exists(shot):
        fail("no screenshot: %s" % r.stderr[-500:])
    check_screenshot(shot)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["sample", "browser"])
    ap.add_argument("--exe", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium"))
    ap.add_argument("--query", default="bruno")
    args = ap.parse_args()
    args.samples = os.path.abspath(args.samples)
    tmp = tempfile.mkdtemp(prefix="ps-fleet-")
    try:
        if args.what == "sample":
            check_sample(args, tmp)
        else:
            check_browser(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
