#!/usr/bin/env python3
"""For bench/mirror_latency_bench.sh.

  mirror_latency_report.py verify PACKAGES POOL   one JSON line: .deb files under POOL, their
      bytes, and how many match the SHA256 the Packages file names (POOL's parent is the
      archive root the Filename fields are relative to)
  mirror_latency_report.py report TSV [--json OUT] [--meta k=v ...]   median table, ratios
      peer/depot, the latency/cap bound, PASS/MISS per target, JSON
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import sys

from report import read_tsv, version

PEERS = ["curl16", "curl64", "wget", "aria2c", "apt-mirror"]  # all fixed concurrency
ORDER = ["depot"] + PEERS + ["floor-net", "floor-disk"]
LABEL = {
    "depot": "depot mirror apt",
    "curl16": "curl --parallel 16",
    "curl64": "curl --parallel 64",
    "wget": "wget -i (sequential)",
    "aria2c": "aria2c -j16 -x1",
    "apt-mirror": "apt-mirror (20 wget)",
    "floor-net": "floor-net (asyncio)",
    "floor-disk": "floor-disk (asyncio)",
}
PEER_RATIO_MIN = 2.0  # best fixed-concurrency peer time / depot time
BOUND_RATIO_MAX = 1.5  # depot time / (files x mean latency / cap)


def verify(packages, pool):
    want = {}
    entry = {}
    with open(packages, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if "Filename" in entry:
                    want[entry["Filename"]] = entry.get("SHA256", "")
                entry = {}
            elif not line.startswith(" ") and ":" in line:
                k, v = line.split(":", 1)
                entry[k] = v.strip()
    if "Filename" in entry:
        want[entry["Filename"]] = entry.get("SHA256", "")
    root = os.path.dirname(os.path.abspath(pool))
    files = nbytes = ok = 0
    for d, _, names in os.walk(pool, followlinks=True):
        for n in names:
            if not n.endswith(".deb"):
                continue
            p = os.path.join(d, n)
            with open(p, "rb") as fh:
                data = fh.read()
            files += 1
            nbytes += len(data)
            rel = os.path.relpath(p, root)
            if want.get(rel) == hashlib.sha256(data).hexdigest():
                ok += 1
    print(json.dumps({"files": files, "bytes": nbytes, "digests_ok": ok, "expected": len(want)}))
    return 0


def load(path):
    return read_tsv(path, ints=("rc", "debs", "bytes", "digests_ok", "requests", "deb_requests",
                                "deb_distinct", "connections", "max_open_connections"))


def summarise(rows, count, nbytes):
    out = {}
    for tool in dict.fromkeys(r["tool"] for r in rows):
        runs = [r for r in rows if r["tool"] == tool]
        # floor-net keeps no files: the upstream's log shows whether it fetched every one.
        ok = all(r["rc"] == 0 and r["deb_distinct"] == count and
                 (tool == "floor-net" or (r["debs"] == count and r["bytes"] == nbytes and
                                          r["digests_ok"] == count)) for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        out[tool] = {
            "seconds": secs,
            "runs": [r["seconds"] for r in runs],
            "ok": ok,
            "files_per_s": round(count / secs) if secs > 0 else None,
            "rss_mib_max": max(r["rss_mib"] for r in runs),
            "requests": statistics.median(r["requests"] for r in runs),
            "deb_requests_max": max(r["deb_requests"] for r in runs),
            "connections": statistics.median(r["connections"] for r in runs),
            "max_open_connections": max(r["max_open_connections"] for r in runs),
        }
    return out


def report(a):
    meta = dict(kv.split("=", 1) for kv in a.meta)
    rows = load(a.tsv)
    count, nbytes = int(meta["count"]), int(meta["bytes"])
    cap = int(meta["cap"])
    mean_s = (float(meta["lat_min_ms"]) + float(meta["lat_max_ms"])) / 2 / 1000
    bound = count * mean_s / cap
    summary = summarise(rows, count, nbytes)
    depot = summary.get("depot")
    print()
    hdr = (f"{'tool':<22} {'median s':>9} {'files/s':>8} {'peer/depot':>10} {'x bound':>8}"
           f" {'requests':>9} {'conns':>6} {'max open':>8} {'RSS MiB':>8}  status")
    print(hdr)
    print("-" * len(hdr))
    for tool in ORDER:
        d = summary.get(tool)
        if d is None:
            continue
        rel = ""
        if depot and tool in PEERS:
            rel = f"{d['seconds'] / depot['seconds']:.2f}x"
        print(f"{LABEL[tool]:<22} {d['seconds']:>9.2f} {d['files_per_s']!s:>8} {rel:>10}"
              f" {d['seconds'] / bound:>7.2f}x {d['requests']:>9.0f} {d['connections']:>6.0f}"
              f" {d['max_open_connections']:>8} {d['rss_mib_max']:>8.1f}"
              f"  {'ok' if d['ok'] else 'FAILED/INCOMPLETE'}")
    print()
    print(f"bound = {count} files x {mean_s * 1000:.1f} ms mean latency / {cap} connections per"
          f" host = {bound:.2f} s")
    print("peer/depot = peer time / depot time (above 1: depot is faster); x bound = time / bound")
    print()
    targets = []

    def add(name, value, op, threshold, note=""):
        passed = value is not None and (value >= threshold if op == ">=" else value <= threshold)
        targets.append({"target": name, "value": None if value is None else round(value, 3),
                        "op": op, "threshold": threshold, "status": "PASS" if passed else "MISS",
                        "note": note})

    peers = [(summary[p]["seconds"], p) for p in PEERS if p in summary and summary[p]["ok"]]
    dt = depot["seconds"] if depot and depot["ok"] else None
    note = "" if dt else "depot not run, failed or incomplete"
    best = min(peers) if peers else None
    add(f"best fixed-concurrency peer ({best[1] if best else '-'}) time / depot time",
        best[0] / dt if dt and best else None, ">=", PEER_RATIO_MIN, note)
    add(f"depot time / bound ({bound:.2f} s at cap {cap})", dt / bound if dt else None, "<=",
        BOUND_RATIO_MAX, note)
    for t in targets:
        v = "n/a" if t["value"] is None else t["value"]
        extra = f"  ({t['note']})" if t["note"] else ""
        print(f"  {t['status']:<4}  {t['target']:<62} {v!s:>7} {t['op']} {t['threshold']}{extra}")
    for name, what in (("floor-net", "discarding the bodies"),
                       ("floor-disk", "writing each body to its file, no verification, no fsync")):
        floor = summary.get(name)
        if floor:
            print(f"  note: {name}: an asyncio client with {cap} connections {what}: "
                  f"{floor['seconds']:.2f} s = {floor['seconds'] / bound:.2f}x the bound")
    print()
    per_rep = {}
    for r in rows:
        per_rep.setdefault(r["rep"], {})[r["tool"]] = r["seconds"]
    print("per repetition (seconds; load average at each start):")
    for rep, t in sorted(per_rep.items()):
        loads = {r["tool"]: r["loadavg"] for r in rows if r["rep"] == rep}
        cols = "  ".join(f"{k}={v:.2f}({loads[k]:.1f})" for k, v in t.items())
        print(f"  rep {rep}: {cols}")
    print()
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["host"] = {"nproc": os.cpu_count(), "kernel": platform.release()}
    meta["versions"] = {"curl": version(["curl", "--version"]),
                        "wget": version(["wget", "--version"]),
                        "aria2c": version(["aria2c", "--version"]),
                        "apt-mirror": version(["dpkg-query", "-W", "apt-mirror"])}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "bound_seconds": bound, "summary": summary,
                       "targets": targets, "runs": rows}, f, indent=2)
            f.write("\n")
        print(f"results written to {a.json}")
    return 0 if all(t["status"] == "PASS" for t in targets) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("packages")
    v.add_argument("pool")
    r = sub.add_parser("report")
    r.add_argument("tsv")
    r.add_argument("--json")
    r.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    if a.cmd == "verify":
        return verify(a.packages, a.pool)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
