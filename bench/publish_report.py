#!/usr/bin/env python3
"""Summarises publish_bench.sh results: medians per tool and phase, ratios against depot, and
the issue 5 targets. Reads the JSON lines publish_bench.sh wrote; writes a summary JSON.

  publish_report.py RAW.jsonl --packages N --repeat R --out SUMMARY.json [--strict 0|1]
"""
import argparse
import json
import statistics
import sys

PHASES = [
    ("publish_noxz", "publish without xz (Packages, .gz, Release, signatures)"),
    ("publish_xz", "full publish, cold (depot, reprepro: + .xz; aptly: + .bz2)"),
    ("publish_xz_warm", "full publish, index chunks cached (depot only)"),
    ("republish", "republish after one package changed (full)"),
    ("change", "the one-package change itself (not a publish)"),
    ("import", "import of the set (once, not a publish)"),
]
MIB = 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--packages", type=int, required=True)
    ap.add_argument("--repeat", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--strict", default="0")
    a = ap.parse_args()

    rows = [json.loads(l) for l in open(a.raw) if l.strip()]
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    med = {}
    for t in tools:
        for p, _ in PHASES:
            xs = [r for r in rows if r["tool"] == t and r["phase"] == p]
            if xs:
                med[(t, p)] = {
                    "seconds": statistics.median(x["seconds"] for x in xs),
                    "max_rss_mib": max(x["max_rss_kib"] for x in xs) / MIB,
                    "runs": len(xs),
                }

    print("\nPublishing benchmark: %d packages, median of %d\n" % (a.packages, a.repeat))
    head = "%-62s" % "phase" + "".join("%14s" % t for t in tools)
    ratio_tools = [t for t in tools if t != "depot" and "depot" in tools]
    head += "".join("%16s" % ("%s/depot" % t) for t in ratio_tools)
    print(head)
    summary = {"packages": a.packages, "repeat": a.repeat, "phases": {}, "targets": {}}
    for p, label in PHASES:
        line = "%-62s" % label
        entry = {}
        for t in tools:
            m = med.get((t, p))
            line += "%13.3fs" % m["seconds"] if m else "%14s" % "-"
            if m:
                entry[t] = m
        for t in ratio_tools:
            m, d = med.get((t, p)), med.get(("depot", p))
            if m and d and d["seconds"] > 0:
                line += "%15.1fx" % (m["seconds"] / d["seconds"])
                entry["%s/depot" % t] = m["seconds"] / d["seconds"]
            else:
                line += "%16s" % "-"
        summary["phases"][p] = entry
        print(line)
    print()
    print("%-62s" % "peak RSS, MiB (max over publish phases)" + "".join(
        "%14.0f" % max([med[(t, p)]["max_rss_mib"] for p in ("publish_noxz", "publish_xz",
                                                              "publish_xz_warm", "republish") if (t, p) in med] or [0])
        for t in tools))

    failed = []
    def target(name, ok, text):
        summary["targets"][name] = {"ok": ok, "text": text}
        print("%-5s %s" % ("ok" if ok else ("MISS" if ok is False else "n/a"), text))
        if ok is False:
            failed.append(name)

    print()
    d = med.get(("depot", "publish_noxz"))
    target("noxz_under_2s", d["seconds"] < 2.0 if d else None,
           "depot Packages + .gz + Release + signatures < 2 s: %s" %
           ("%.3f s" % d["seconds"] if d else "not run"))
    al = med.get(("aptly", "publish_xz"))
    for key, phase, what in (("full_10x_aptly", "publish_xz", "cold: empty chunk cache"),
                             ("full_10x_aptly_warm", "publish_xz_warm", "chunks cached")):
        d = med.get(("depot", phase))
        ok = (al["seconds"] / d["seconds"] >= 10.0) if d and al else None
        target(key, ok, "depot full publish (with xz, %s) >= 10x faster than aptly publish: %s"
               % (what, "%.1fx" % (al["seconds"] / d["seconds"]) if d and al else "not run"))
    d, al = med.get(("depot", "republish")), med.get(("aptly", "republish"))
    ok = (al["seconds"] / d["seconds"] >= 10.0) if d and al else None
    target("republish_10x_aptly", ok, "depot republish after one change >= 10x faster than "
           "aptly publish update: %s" % ("%.1fx" % (al["seconds"] / d["seconds"]) if d and al
                                         else "not run"))
    if "depot" in tools:
        peak = max(r["max_rss_kib"] for r in rows
                   if r["tool"] == "depot" and r["phase"] != "process"
                   and not r["phase"].startswith("step_")) / MIB
        target("rss_under_300mib", peak < 300, "depot peak RSS < 300 MiB: %.0f MiB (any phase, import included)" % peak)
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1)
    print("\nraw: %s  summary: %s" % (a.raw, a.out))
    if a.strict == "1" and failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
