#!/usr/bin/env python3
"""Summarise bench/serve_bench.sh: per size and server the median requests/s and transfer/s over
the repetitions, ratios depot/nginx and depot/apt-cacher-ng (both "depot divided by the peer":
above 1 means depot is faster), PASS/MISS per target, JSON. Exits 1 when a target is MISS."""

import argparse
import csv
import json
import statistics

NGINX_RATIO_MIN = 0.9  # depot req/s / nginx req/s, every size
INDEX_NGINX_RATIO_MIN = 1.0  # for small index files ("-index" sizes: revalidated on every use)
ACNG_RATIO_MIN = 3.0   # depot req/s / apt-cacher-ng req/s, every size
SERVERS = ("nginx", "depot", "apt-cacher-ng")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--json")
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    with open(a.runs, newline="") as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    out = {"meta": dict(m.split("=", 1) for m in a.meta), "sizes": {}, "targets": [], "runs": runs}
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    print("\n%-5s %-14s %12s %11s %8s %9s  %s" % ("size", "server", "req/s", "MiB/s", "errors",
                                                 "p99 ms", "depot / this server (req/s)"))
    for size in sizes:
        res = {}
        for server in SERVERS:
            rs = [r for r in runs if r["size"] == size and r["server"] == server]
            if not rs:
                continue
            rps = [int(r["requests"]) / float(r["seconds"]) for r in rs]
            mibs = [int(r["bytes"]) / float(r["seconds"]) / 1048576 for r in rs]
            res[server] = {
                "median_req_s": round(statistics.median(rps), 1),
                "median_mib_s": round(statistics.median(mibs), 1),
                "errors": sum(int(r["errors"]) for r in rs),
                "median_p99_ms": round(statistics.median(int(r["p99_us"]) for r in rs) / 1000, 2),
                "req_s_runs": [round(x, 1) for x in rps],
            }
        out["sizes"][size] = res
        for server, m in res.items():
            ratio = ""
            if server != "depot" and "depot" in res and m["median_req_s"] > 0:
                ratio = "%.2fx" % (res["depot"]["median_req_s"] / m["median_req_s"])
            print("%-5s %-14s %12.0f %11.1f %8d %9.2f  %s" % (
                size, server, m["median_req_s"], m["median_mib_s"], m["errors"],
                m["median_p99_ms"], ratio))

    def target(name, value, ok, goal):
        out["targets"].append({"target": name, "value": value, "goal": goal, "pass": ok})
        print("  %-4s %-52s %8s %s" % ("PASS" if ok else "MISS", name, value, goal))

    print()
    for peer, goal in (("nginx", NGINX_RATIO_MIN), ("apt-cacher-ng", ACNG_RATIO_MIN)):
        for size in sizes:
            res = out["sizes"][size]
            if peer not in res:
                continue
            goal = INDEX_NGINX_RATIO_MIN if peer == "nginx" and size.endswith("-index") else goal
            d = res.get("depot")
            # A run with errors (failed or non-2xx requests) never passes.
            if d is None or d["errors"] or res[peer]["median_req_s"] <= 0:
                target("%s: depot req/s / %s req/s" % (size, peer), None, False, ">= %.1f" % goal)
                continue
            r = round(d["median_req_s"] / res[peer]["median_req_s"], 2)
            target("%s: depot req/s / %s req/s" % (size, peer), r, r >= goal, ">= %.1f" % goal)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0 if all(t["pass"] for t in out["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
