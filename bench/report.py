#!/usr/bin/env python3
"""Summarise bench/mirror_bench.sh results: median table, ratios, PASS/MISS per target, JSON."""

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

MIB = 1024 * 1024
PEERS = ["curl", "wget", "aria2c"]
ORDER = PEERS + ["depot", "depot-noop"]
LABEL = {
    "curl": "curl --parallel 64",
    "wget": "wget -i",
    "aria2c": "aria2c -j16",
    "depot": "depot mirror",
    "depot-noop": "depot no-op",
}

# Targets from the benchmark issue.
CURL_RATIO_MIN = 0.7   # small set: curl_time / depot_time
WGET_RATIO_MIN = 3.0   # small set: wget_time / depot_time
LARGE_RATIO_MIN = 1.0  # large set: best_peer_time / depot_time
RSS_MAX_MIB = 150.0    # every depot run
NOOP_MAX_S = 1.0       # depot re-run with nothing to do


def version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def read_tsv(path: str, ints=(), floats=(), optional_floats=()) -> list[dict]:
    """The rows of a bench results TSV: "rep" and the `ints` as int, "seconds", "loadavg" (when
    present) and the `floats` as float, the `optional_floats` as float or None ("" or "-"),
    "rss_kb" turned into "rss_mib", "complete" (when present) into a bool; other fields as
    text."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            row = dict(r)
            for k in ("rep", *ints):
                row[k] = int(r[k])
            for k in ("seconds", *floats, *(("loadavg",) if "loadavg" in r else ())):
                row[k] = float(r[k])
            for k in optional_floats:
                row[k] = float(r[k]) if r[k] not in ("", "-") else None
            row["rss_mib"] = round(int(row.pop("rss_kb")) / 1024, 1)
            if "complete" in r:
                row["complete"] = r["complete"] == "1"
            rows.append(row)
    return rows


def load(path: str) -> list[dict]:
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows.append({
                "rep": int(r["rep"]),
                "set": r["set"],
                "tool": r["tool"],
                "seconds": float(r["seconds"]),
                "rss_mib": round(int(r["rss_kb"]) / 1024, 1),
                "rc": int(r["rc"]),
                "files": int(r["files"]),
                "bytes": int(r["bytes"]),
                "complete": r["complete"] == "1",
            })
    return rows


def summarise(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault(r["set"], {}).setdefault(r["tool"], []).append(r)
    summary: dict = {}
    for set_name, tools in out.items():
        for tool, runs in tools.items():
            ok = all(x["rc"] == 0 and x["complete"] for x in runs)
            secs = statistics.median(x["seconds"] for x in runs)
            rss = statistics.median(x["rss_mib"] for x in runs)
            nbytes = runs[0]["bytes"]
            nfiles = runs[0]["files"]
            summary.setdefault(set_name, {})[tool] = {
                "seconds": secs,
                "rss_mib": rss,
                "rss_mib_max": max(x["rss_mib"] for x in runs),
                "runs": len(runs),
                "ok": ok,
                "files": nfiles,
                "bytes": nbytes,
                "mib_per_s": round(nbytes / MIB / secs, 1) if secs > 0 else None,
                "files_per_s": round(nfiles / secs) if secs > 0 else None,
            }
    return summary


def targets(summary: dict) -> list[dict]:
    res = []

    def add(name, value, op, threshold, why=""):
        if value is None:
            status = "MISS"
        elif op == ">=":
            status = "PASS" if value >= threshold else "MISS"
        else:
            status = "PASS" if value < threshold else "MISS"
        res.append({"target": name, "value": None if value is None else round(value, 3),
                    "op": op, "threshold": threshold, "status": status, "note": why})

    def depot_time(set_name, tool="depot"):
        d = summary.get(set_name, {}).get(tool)
        if d is None:
            return None, "depot not run"
        if not d["ok"]:
            return None, "depot failed or left an incomplete mirror"
        return d["seconds"], ""

    def peer_time(set_name, tool):
        p = summary.get(set_name, {}).get(tool)
        if p is None or not p["ok"]:
            return None
        return p["seconds"]

    if "small" in summary:
        dt, why = depot_time("small")
        for peer, thr in (("curl", CURL_RATIO_MIN), ("wget", WGET_RATIO_MIN)):
            pt = peer_time("small", peer)
            ratio = pt / dt if dt and pt else None
            add(f"small: {peer}_time / depot_time", ratio, ">=", thr,
                why or ("" if pt else f"{peer} not run or failed"))
    if "large" in summary:
        dt, why = depot_time("large")
        peers = [(peer_time("large", p), p) for p in PEERS]
        peers = [x for x in peers if x[0] is not None]
        best = min(peers) if peers else None
        ratio = best[0] / dt if dt and best else None
        add(f"large: best_peer_time / depot_time (best: {best[1] if best else '-'})", ratio, ">=",
            LARGE_RATIO_MIN, why)
    for set_name in summary:
        for tool in ("depot", "depot-noop"):
            d = summary[set_name].get(tool)
            if d is not None:
                add(f"{set_name}: {tool} peak RSS MiB", d["rss_mib_max"], "<", RSS_MAX_MIB)
        dt, why = depot_time(set_name, "depot-noop")
        if why != "depot not run":
            add(f"{set_name}: depot no-op re-run seconds", dt, "<", NOOP_MAX_S, why)
    return res


def per_rep_ratios(rows: list[dict]) -> dict:
    """peer_time / depot_time within each repetition (the tools ran back to back)."""
    by: dict = {}
    for r in rows:
        if r["rc"] == 0 and r["complete"]:
            by.setdefault((r["rep"], r["set"]), {})[r["tool"]] = r["seconds"]
    out: dict = {}
    for (rep, set_name), t in sorted(by.items()):
        d = t.get("depot")
        if not d:
            continue
        ratios = {p: round(t[p] / d, 3) for p in PEERS if p in t}
        peers = [t[p] for p in PEERS if p in t]
        if peers:
            ratios["best_peer"] = round(min(peers) / d, 3)
        out.setdefault(set_name, []).append({"rep": rep, **ratios})
    return out


def print_table(summary: dict, res: list[dict]) -> None:
    print()
    hdr = f"{'set':<6} {'tool':<20} {'seconds':>9} {'MiB/s':>8} {'files/s':>8} {'RSS MiB':>8}" \
          f" {'vs depot':>9}  status"
    print(hdr)
    print("-" * len(hdr))
    for set_name in ("small", "large"):
        tools = summary.get(set_name)
        if not tools:
            continue
        depot = tools.get("depot")
        for tool in ORDER:
            d = tools.get(tool)
            if d is None:
                continue
            rel = ""
            if depot and depot["seconds"] > 0 and tool in PEERS:
                rel = f"{d['seconds'] / depot['seconds']:.2f}x"
            status = "ok" if d["ok"] else "FAILED/INCOMPLETE"
            mbs = "" if tool == "depot-noop" else d["mib_per_s"]
            fps = "" if tool == "depot-noop" else d["files_per_s"]
            print(f"{set_name:<6} {LABEL[tool]:<20} {d['seconds']:>9.2f} {mbs!s:>8} {fps!s:>8}"
                  f" {d['rss_mib']:>8.1f} {rel:>9}  {status}")
    print()
    print("'vs depot' = peer_time / depot_time (above 1: depot is faster)")
    print()
    for t in res:
        v = "n/a" if t["value"] is None else t["value"]
        note = f"  ({t['note']})" if t["note"] else ""
        print(f"  {t['status']:<4}  {t['target']:<58} {v!s:>9} {t['op']} {t['threshold']}{note}")
    print()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("tsv")
    p.add_argument("--json")
    p.add_argument("--meta", nargs="*", default=[])
    a = p.parse_args()

    rows = load(a.tsv)
    summary = summarise(rows)
    res = targets(summary)
    print_table(summary, res)
    reps = per_rep_ratios(rows)
    if any(len(v) > 1 for v in reps.values()):
        print("per-rep peer_time / depot_time:")
        for set_name, lst in reps.items():
            for x in lst:
                cols = "  ".join(f"{k}={v}" for k, v in x.items() if k != "rep")
                print(f"  {set_name:<6} rep {x['rep']}: {cols}")
        print()

    meta = dict(kv.split("=", 1) for kv in a.meta)
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["host"] = {"nproc": os.cpu_count(), "kernel": platform.release(),
                    "machine": platform.machine()}
    meta["versions"] = {
        "nginx": version(["nginx", "-v"]),
        "curl": version(["curl", "--version"]),
        "wget": version(["wget", "--version"]),
        "aria2c": version(["aria2c", "--version"]),
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "summary": summary, "targets": res,
                       "per_rep_ratios": reps, "runs": rows}, f,
                      indent=2)
            f.write("\n")
        print(f"results written to {a.json}")
    return 0 if res and all(t["status"] == "PASS" for t in res) else 1


if __name__ == "__main__":
    sys.exit(main())
