#!/usr/bin/env python3
"""Write a share of per-user reports for bench/fleet_collect.sh.

    fleet_reports.py --reports N DIR

DIR/share/NN/USER.{csv,json}: the reports `update --report` writes (CSV
with a BOM, ',' or ';'; JSON with host, user, time and rows), and
DIR/rehearsal.csv: the fleet CSV `rehearse` writes for the same users.
Deterministic; standard library only."""
import argparse
import json
import os

ST = ["updated", "updated", "updated", "already-updated", "not-migrated",
      "deferred-running", "blocked-ambiguous", "failed"]
HDR = ["host", "user", "profile", "account", "source_dn", "target_dn",
       "status", "detail", "source_server", "target_smtp"]


def csv_line(fields, d):
    out = []
    for f in fields:
        if any(c in f for c in ',;"\r\n\t'):
            f = '"' + f.replace('"', '""') + '"'
        out.append(f)
    return d.join(out) + "\r\n"


def rows_of(i):
    user = "user%06d" % i
    out = []
    for a in range(1 + i % 3):
        acct = "%s-%d@fabrikam.com" % (user, a)
        st = ST[(i + a) % len(ST)]
        out.append({
            "profile": "Outlook", "account": acct,
            "source_dn": "/o=Fabrikam/ou=Exchange Administrative Group "
                         "(FYDIBOHF23SPDLT)/cn=Recipients/cn=%s" % user,
            "target_dn": "/o=ExchangeLabs/ou=Exchange Administrative Group "
                         "(FYDIBOHF23SPDLT)/cn=Recipients/cn=x-%s" % user,
            "status": st, "detail": "25 values set, 22 removed",
            "source_server": "EXCH%02d" % (i % 12),
            "target_smtp": "%s@contoso%d.com" % (user, i % 3)})
    return user, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=100000)
    ap.add_argument("dir")
    a = ap.parse_args()
    share = os.path.join(a.dir, "share")
    reh = [csv_line(HDR + ["input"], ",")]
    written = 0
    i = 0
    while written < a.reports:
        user, rows = rows_of(i)
        host = "PC%06d" % i
        folder = os.path.join(share, "%02d" % (i % 100))
        os.makedirs(folder, exist_ok=True)
        for r in rows:
            pred = dict(r, status="would-update" if r["status"] in
                        ("updated", "already-updated") else r["status"])
            reh.append(csv_line(["REH", user] + [pred[k] for k in HDR[2:]]
                                + ["exports/%s.reg" % user], ","))
        runs = 2 if i % 50 == 0 else 1
        for run in range(runs):
            if written >= a.reports:
                break
            name = os.path.join(folder, "%s-%s-%d" % (host, user, run))
            if i % 2:
                d = ";" if i % 4 == 1 else ","
                text = "\ufeff" + csv_line(HDR, d) + "".join(
                    csv_line([host, user] + [r[k] for k in HDR[2:]], d)
                    for r in rows)
                data = text.encode("utf-8")
                path = name + ".csv"
            else:
                data = json.dumps({
                    "host": host, "user": user,
                    "time": "2026-03-%02dT07:%02d:00Z" % (1 + run, i % 60),
                    "rows": rows, "summary": {}, "exit_bits": 0},
                    indent=2).encode("utf-8")
                path = name + ".json"
            if written % 1000 == 999:
                data = data[:len(data) // 2]
            with open(path, "wb") as f:
                f.write(data)
            written += 1
        i += 1
    with open(os.path.join(a.dir, "rehearsal.csv"), "wb") as f:
        f.write(("\ufeff" + "".join(reh)).encode("utf-8"))


if __name__ == "__main__":
    main()
