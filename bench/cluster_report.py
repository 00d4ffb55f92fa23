#!/usr/bin/env python3
"""Summarise bench/cluster_bench.sh: medians over the repetitions of the upload legs (fan-out
through the gateway, sequential direct PUTs to each node, parallel direct PUTs: the floor) and of
the GET legs (gateway, node direct, nginx proxying to the node: the floor) per size; the ratios
against the baseline and against the floor, the proxies' CPU seconds per GiB they moved,
PASS/MISS per target, JSON. Exits 1 when a target is MISS."""

import argparse
import csv
import json
import statistics

FANOUT_RATIO_MAX = 0.5  # fan-out seconds / direct seconds
GET_RATIO_MIN = 0.8     # gateway MiB/s / node MiB/s, every size
GIB = 1 << 30


def median(xs):
    return statistics.median(xs) if xs else None


def summarise(rs):
    secs = [float(r["seconds"]) for r in rs]
    mibs = [int(r["bytes"]) / float(r["seconds"]) / (1 << 20) for r in rs]
    rps = [int(r["requests"]) / float(r["seconds"]) for r in rs]
    gib = [int(r["bytes"]) / GIB for r in rs]
    return {
        "median_s": round(median(secs), 3),
        "median_mib_s": round(median(mibs), 1),
        "median_req_s": round(median(rps), 1),
        "errors": sum(int(r["errors"]) for r in rs),
        "median_p99_ms": round(median([int(r["p99_us"]) for r in rs]) / 1000, 2),
        # CPU seconds per GiB moved (GiB of the client's bodies for uploads, of wrk's bytes for
        # GETs), the median over the repetitions.
        "gw_cpu_s_per_gib": round(median([float(r["gw_cpu_s"]) / g for r, g in zip(rs, gib)]), 2),
        "nodes_cpu_s_per_gib": round(median([float(r["nodes_cpu_s"]) / g
                                             for r, g in zip(rs, gib)]), 2),
        "mib_s_runs": [round(x, 1) for x in mibs],
        "seconds_runs": secs,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--json")
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    with open(a.runs, newline="") as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    out = {"meta": dict(m.split("=", 1) for m in a.meta), "results": {}, "targets": [],
           "floors": [], "runs": runs}

    def target(name, value, ok, goal):
        out["targets"].append({"target": name, "value": value, "goal": goal, "pass": ok})
        print("  %-5s %-46s %8s %s" % ("PASS" if ok else "MISS", name, value, goal))

    def floor(name, a, b, key):
        """Prints and records a[key] / b[key] (None when a leg is missing or had errors)."""
        value = None
        if a and b and not a["errors"] and not b["errors"] and b[key] > 0:
            value = round(a[key] / b[key], 2)
        out["floors"].append({"ratio": name, "value": value})
        print("  %-5s %-46s %8s" % ("floor", name, value))

    groups = list(dict.fromkeys((r["test"], r["size"]) for r in runs))
    print("\n%-6s %-5s %-8s %9s %9s %9s %7s %8s %13s %13s" % (
        "test", "size", "leg", "median s", "MiB/s", "req/s", "errors", "p99 ms",
        "gw cpu s/GiB", "nodes cpu s/GiB"))
    for test, size in groups:
        res = {}
        for leg in dict.fromkeys(r["leg"] for r in runs if (r["test"], r["size"]) == (test, size)):
            res[leg] = summarise([r for r in runs
                                  if (r["test"], r["size"], r["leg"]) == (test, size, leg)])
            m = res[leg]
            p99 = "%8.2f" % m["median_p99_ms"] if test == "get" else "%8s" % "-"
            print("%-6s %-5s %-8s %9.2f %9.1f %9.1f %7d %s %13.2f %13.2f" % (
                test, size, leg, m["median_s"], m["median_mib_s"], m["median_req_s"],
                m["errors"], p99, m["gw_cpu_s_per_gib"], m["nodes_cpu_s_per_gib"]))
        out["results"]["%s %s" % (test, size)] = res
    print()
    for (test, size), res in ((g, out["results"]["%s %s" % g]) for g in groups):
        if test == "upload":
            f, d = res.get("fanout"), res.get("direct")
            name = "upload %s: fan-out s / direct s" % size
            # An upload answered other than 201 (fewer copies, refused) never passes.
            if not f or not d or f["errors"] or d["errors"]:
                target(name, None, False, "<= %.1f" % FANOUT_RATIO_MAX)
            else:
                r = round(f["median_s"] / d["median_s"], 2)
                target(name, r, r <= FANOUT_RATIO_MAX, "<= %.1f" % FANOUT_RATIO_MAX)
            p = res.get("parallel")
            if p:
                floor("upload %s: parallel s / direct s" % size, p, d, "median_s")
                floor("upload %s: fan-out s / parallel s" % size, f, p, "median_s")
        else:
            g, n = res.get("gateway"), res.get("node")
            name = "get %s: gateway MiB/s / node MiB/s" % size
            # A run with errors (failed or non-2xx requests) never passes.
            if not g or not n or g["errors"] or n["errors"] or n["median_mib_s"] <= 0:
                target(name, None, False, ">= %.1f" % GET_RATIO_MIN)
            else:
                r = round(g["median_mib_s"] / n["median_mib_s"], 2)
                target(name, r, r >= GET_RATIO_MIN, ">= %.1f" % GET_RATIO_MIN)
            x = res.get("nginx")
            if x:
                floor("get %s: nginx MiB/s / node MiB/s" % size, x, n, "median_mib_s")
                floor("get %s: gateway MiB/s / nginx MiB/s" % size, g, x, "median_mib_s")
    for (test, size), res in ((g, out["results"]["%s %s" % g]) for g in groups):
        if test == "get" and "gateway" in res:
            print("  info  %-46s %8.2f (nodes behind it: %.2f; node direct: %s; nginx: %s)" % (
                "get %s: gateway CPU s per GiB proxied" % size,
                res["gateway"]["gw_cpu_s_per_gib"], res["gateway"]["nodes_cpu_s_per_gib"],
                "%.2f" % res["node"]["nodes_cpu_s_per_gib"] if "node" in res else "-",
                "%.2f" % res["nginx"]["gw_cpu_s_per_gib"] if "nginx" in res else "-"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0 if all(t["pass"] for t in out["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
