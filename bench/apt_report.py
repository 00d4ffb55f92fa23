#!/usr/bin/env python3
"""Summarise bench/apt_bench.sh: median table, ratios against apt-mirror and debmirror,
Packages parsing against apt-sortpkgs and grep-dctrl, PASS/MISS per target, JSON."""

import argparse
import csv
import json
import statistics

MIRROR_RATIO_MIN = 3.0  # fastest of apt-mirror/debmirror time / depot time
NOOP_MAX_S = 1.0
PARSE_MAX_S = 0.5
PARSE_MAX_MIB = 100.0


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("parse")
    ap.add_argument("--json")
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    runs = rows(a.runs)
    out = {"meta": dict(m.split("=", 1) for m in a.meta), "mirror": {}, "parse": {}, "targets": []}
    print("\n%-12s %9s %9s %8s  %s" % ("tool", "seconds", "RSS MiB", "complete", "vs depot"))
    med = {}
    for tool in ("cp", "apt-mirror", "debmirror", "depot", "depot-noop"):
        rs = [r for r in runs if r["tool"] == tool]
        if not rs:
            continue
        secs = statistics.median(float(r["seconds"]) for r in rs)
        rss = max(int(r["rss_kb"]) for r in rs) / 1024
        complete = all(r["complete"] == "1" and r["rc"] == "0" for r in rs)
        med[tool] = secs
        out["mirror"][tool] = {"median_seconds": secs, "max_rss_mib": round(rss, 1),
                               "complete": complete, "runs": [float(r["seconds"]) for r in rs]}
    for tool, m in out["mirror"].items():
        ratio = "" if tool.startswith("depot") or "depot" not in med else \
            "%.2fx" % (m["median_seconds"] / med["depot"])
        print("%-12s %9.2f %9.1f %8s  %s" % (tool, m["median_seconds"], m["max_rss_mib"],
                                              "yes" if m["complete"] else "NO", ratio))

    def target(name, value, ok, goal):
        out["targets"].append({"target": name, "value": value, "goal": goal, "pass": ok})
        print("  %-4s %-58s %8s %s" % ("PASS" if ok else "MISS", name, value, goal))

    print()
    peers = [med[t] for t in ("apt-mirror", "debmirror") if t in med]
    if peers and "depot" in med:
        r = round(min(peers) / med["depot"], 2)
        target("mirror: fastest peer time / depot time", r, r >= MIRROR_RATIO_MIN, ">= %.1f" % MIRROR_RATIO_MIN)
    if "cp" in med and peers:
        print("  note: a local `cp -r` of the pool (no network, no checks, no sync) takes %.2fs, so "
              "%.1fx the fastest peer is the most any mirror tool could reach here"
              % (med["cp"], min(peers) / med["cp"]))
    if "depot-noop" in med:
        target("mirror: depot no-op re-run seconds", med["depot-noop"], med["depot-noop"] < NOOP_MAX_S,
               "< %.1f" % NOOP_MAX_S)
    parse = rows(a.parse)
    if parse:
        print("\n%-18s %9s %9s" % ("Packages parse", "seconds", "RSS MiB"))
        for tool in dict.fromkeys(r["tool"] for r in parse):
            rs = [r for r in parse if r["tool"] == tool]
            secs = statistics.median(float(r["seconds"]) for r in rs)
            rss = max(int(r["rss_kb"]) for r in rs) / 1024
            out["parse"][tool] = {"median_seconds": secs, "max_rss_mib": round(rss, 1)}
            print("%-18s %9.2f %9.1f" % (tool, secs, rss))
        for tool in ("depot-plain", "depot-compressed"):
            if tool in out["parse"]:
                p = out["parse"][tool]
                target("parse (%s): seconds" % tool, p["median_seconds"],
                       p["median_seconds"] < PARSE_MAX_S, "< %.1f" % PARSE_MAX_S)
                target("parse (%s): peak RSS MiB" % tool, p["max_rss_mib"],
                       p["max_rss_mib"] < PARSE_MAX_MIB, "< %.0f" % PARSE_MAX_MIB)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
