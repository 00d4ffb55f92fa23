#!/usr/bin/env python3
"""For bench/crates_bench.sh.

  crates_report.py verify UPSTREAM OUT [--index-only]   one JSON line: what OUT holds against
      the upstream tree: index files byte-identical to UPSTREAM/index/..., .crate files whose
      sha256 equals the cksum of their index line, config.json present with an http(s) "dl",
      files nobody asked for (OUT/.depot, depot's state, is ignored)
  crates_report.py phases LOG T0   one JSON line: seconds from T0 (epoch seconds) to depot's
      first request (its first host_concurrency event, before config.json is fetched), to its
      crates.index event (every index file fetched) and to its mirror.plan event (the .crate
      downloads start right after it), read from depot's --log-format json --log-level debug
      stderr
  crates_report.py report TSV [--json OUT] [--meta k=v ...]   median table over complete runs,
      curl/depot ratios, floor, index phase, PASS/MISS per target, JSON
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

CURLS = ["curl64", "curl16"]
ORDER = ["depot", "depot-noop"] + CURLS + ["cp", "index-seq", "index-par"]
LABEL = {
    "depot": "depot mirror crates",
    "depot-noop": "depot no-op re-run",
    "curl64": "curl --parallel 64",
    "curl16": "curl --parallel 16",
    "cp": "cp -r (floor)",
    "index-seq": "curl, index files only, 1 conn",
    "index-par": "curl, index files only, par 64",
}
CURL_RATIO_MIN = 0.8  # curl time / depot time
NOOP_MAX_S = 1.0


def expected(upstream):
    """{index rel path: bytes}, {crate rel path: cksum} from the upstream's index files."""
    index, crates = {}, {}
    top = os.path.join(upstream, "index")
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, upstream)
            if rel == "index/config.json":
                continue
            with open(p, "rb") as f:
                data = f.read()
            index[rel] = data
            for line in data.splitlines():
                if line.strip():
                    v = json.loads(line)
                    crates[f"crates/{v['name']}/{v['name']}-{v['vers']}.crate"] = v["cksum"]
    return index, crates


def verify(a):
    index, crates = expected(a.upstream)
    if a.index_only:
        crates = {}
    out = {"index_files": 0, "crate_files": 0, "bytes": 0, "index_ok": 0, "crates_ok": 0,
           "extra": 0, "config_ok": False, "expected_index": len(index),
           "expected_crates": len(crates)}
    for d, dirs, names in os.walk(a.out):
        if d == a.out and ".depot" in dirs:
            dirs.remove(".depot")
        for n in names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, a.out)
            with open(p, "rb") as f:
                data = f.read()
            out["bytes"] += len(data)
            if rel == "index/config.json":
                try:
                    out["config_ok"] = json.loads(data)["dl"].startswith(("http://", "https://"))
                except (ValueError, KeyError, TypeError, AttributeError):
                    pass
            elif rel in index:
                out["index_files"] += 1
                out["index_ok"] += data == index[rel]
            elif rel in crates:
                out["crate_files"] += 1
                out["crates_ok"] += hashlib.sha256(data).hexdigest() == crates[rel]
            else:
                out["extra"] += 1
    out["complete"] = (out["index_ok"] == len(index) and out["crates_ok"] == len(crates) and
                       out["config_ok"] and out["extra"] == 0)
    print(json.dumps(out))
    return 0


def ts_seconds(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def phases(a):
    t0 = float(a.t0)
    got = {"first_s": None, "index_s": None, "plan_s": None}
    keys = {"host_concurrency": "first_s", "crates.index": "index_s", "mirror.plan": "plan_s"}
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            key = keys.get(ev.get("event"))
            if key and got[key] is None:
                got[key] = round(ts_seconds(ev["ts"]) - t0, 3)
    print(json.dumps(got))
    return 0


def load(path):
    return read_tsv(path, ints=("rc", "index_files", "crate_files", "bytes", "index_ok",
                                "crates_ok"),
                    floats=("settle_s", "io_stall_s"),
                    optional_floats=("first_s", "index_s", "plan_s"))


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(rows):
    out = {}
    for tool in dict.fromkeys(r["tool"] for r in rows):
        runs = [r for r in rows if r["tool"] == tool]
        good = [r for r in runs if r["rc"] == 0 and r["complete"]]
        d = {"runs": len(runs), "complete_runs": len(good),
             "seconds_all": [r["seconds"] for r in runs],
             "seconds": median_or_none(r["seconds"] for r in good),
             "rss_mib_max": max(r["rss_mib"] for r in runs),
             "io_stall_s": median_or_none(r["io_stall_s"] for r in good),
             "files": runs[0]["index_files"] + runs[0]["crate_files"],
             "bytes": runs[0]["bytes"]}
        d["files_per_s"] = round(d["files"] / d["seconds"]) if d["seconds"] else None
        if tool.startswith("depot"):
            d["first_s"] = median_or_none(r["first_s"] for r in good)
            d["index_s"] = median_or_none(r["index_s"] for r in good)
            d["plan_s"] = median_or_none(r["plan_s"] for r in good)
        out[tool] = d
    return out


def fmt(v):
    return "" if v is None else f"{v:.2f}"


def print_table(summary):
    depot = summary.get("depot", {}).get("seconds")
    hdr = (f"{'tool':<32} {'median s':>9} {'complete':>9} {'files/s':>8} {'curl/depot':>10}"
           f" {'1st req':>8} {'to index':>9} {'to plan':>8} {'RSS MiB':>8}")
    print(hdr)
    print("-" * len(hdr))
    for tool in ORDER:
        d = summary.get(tool)
        if d is None:
            continue
        rel = ""
        if tool in CURLS and depot and d["seconds"]:
            rel = f"{d['seconds'] / depot:.2f}"
        fps = "" if tool == "depot-noop" else d["files_per_s"]
        print(f"{LABEL[tool]:<32} {fmt(d['seconds']) or 'n/a':>9}"
              f" {d['complete_runs']:>4}/{d['runs']:<4}"
              f" {fps!s:>8} {rel:>10} {fmt(d.get('first_s')):>8} {fmt(d.get('index_s')):>9}"
              f" {fmt(d.get('plan_s')):>8} {d['rss_mib_max']:>8.1f}")
    print()
    print("median over complete runs only (every index file byte-identical, every .crate's sha256")
    print("equal to its cksum); curl/depot = curl time / depot time (above 1: depot is faster);")
    print("1st req / to index / to plan = seconds from depot's start to its first request")
    print("(config.json), to its crates.index event (every index file fetched, in concurrent batches)")
    print("and to mirror.plan (the .crate downloads start right after)")
    print()


def targets(summary):
    res = []

    def add(name, value, op, threshold, note=""):
        ok = value is not None and (value >= threshold if op == ">=" else value < threshold)
        res.append({"target": name, "value": None if value is None else round(value, 3),
                    "op": op, "threshold": threshold, "status": "PASS" if ok else "MISS",
                    "note": note})

    depot = summary.get("depot", {}).get("seconds")
    note = "" if depot else "depot not run, failed or incomplete"
    for c in CURLS:
        if c in summary:
            ct = summary[c]["seconds"]
            add(f"{c}: curl time / depot time", ct / depot if ct and depot else None, ">=",
                CURL_RATIO_MIN, note or ("" if ct else f"{c} failed or incomplete"))
    if "depot-noop" in summary:
        n = summary["depot-noop"]["seconds"]
        add("depot no-op re-run seconds", n, "<", NOOP_MAX_S,
            "" if n is not None else "no-op run failed or changed the mirror")
    return res


def notes(summary):
    out = []
    d = summary.get("depot", {})
    cp = summary.get("cp", {}).get("seconds")
    if cp and d.get("seconds"):
        out.append(f"floor: cp -r of the tree {cp:.2f} s;"
                   f" depot takes {d['seconds'] / cp:.2f}x that")
    if None not in (d.get("first_s"), d.get("index_s"), d.get("seconds")):
        phase = d["index_s"] - d["first_s"]
        out.append(f"index phase: depot fetches and parses the index files in"
                   f" {phase:.2f} s ({100 * phase / d['seconds']:.0f}% of its"
                   f" {d['seconds']:.2f} s);"
                   f" its first .crate request comes {d['plan_s']:.2f} s after it started")
    seq = summary.get("index-seq", {}).get("seconds")
    if seq:
        out.append(f"curl fetching the same index files one after another on one connection:"
                   f" {seq:.2f} s")
    par = summary.get("index-par", {}).get("seconds")
    if par:
        out.append(f"curl fetching them with --parallel-max 64: {par:.2f} s")
    n = summary.get("depot-noop", {})
    if None not in (n.get("first_s"), n.get("index_s"), n.get("seconds")):
        out.append(f"no-op re-run: {n['index_s'] - n['first_s']:.2f} s of its {n['seconds']:.2f} s"
                   f" go to the conditional index requests (304s)")
    return out


def per_rep_ratios(rows):
    """curl time / depot time within each repetition (the tools ran back to back)."""
    out = {}
    for rep in sorted({r["rep"] for r in rows}):
        t = {r["tool"]: r["seconds"] for r in rows
             if r["rep"] == rep and r["rc"] == 0 and r["complete"]}
        if t.get("depot"):
            out[rep] = {c: round(t[c] / t["depot"], 3) for c in CURLS if c in t}
    return out


def report(a):
    meta = dict(kv.split("=", 1) for kv in a.meta)
    rows = load(a.tsv)
    summary = summarise(rows)
    print()
    print(f"{meta.get('crates', '?')} crates: {meta.get('index_files', '?')} index files,"
          f" {meta.get('crate_files', '?')} .crate files; outputs on {meta.get('out_fs', '?')};"
          f" load average {meta.get('loadavg_start', '?')} at the start")
    print_table(summary)
    res = targets(summary)
    for t in res:
        v = "n/a" if t["value"] is None else t["value"]
        extra = f"  ({t['note']})" if t["note"] else ""
        print(f"  {t['status']:<4}  {t['target']:<40} {v!s:>8} {t['op']} {t['threshold']}{extra}")
    for n in notes(summary):
        print(f"  note: {n}")
    print()
    print("per repetition (seconds; load average at the start / seconds of I/O stall during it):")
    for rep in sorted({r["rep"] for r in rows}):
        cols = "  ".join(f"{r['tool']}={r['seconds']:.2f}({r['loadavg']:.1f}/{r['io_stall_s']:.1f})"
                         f"{'' if r['complete'] and r['rc'] == 0 else '!'}"
                         for r in rows if r["rep"] == rep)
        print(f"  rep {rep}: {cols}")
    print("  (! = incomplete or failed, not counted)")
    for rep, ratios in per_rep_ratios(rows).items():
        print(f"  rep {rep} ratios: " + "  ".join(f"{c}/depot={v}" for c, v in ratios.items()))
    print()
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["host"] = {"nproc": os.cpu_count(), "kernel": platform.release()}
    meta["versions"] = {"curl": version(["curl", "--version"]), "nginx": version(["nginx", "-v"])}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "summary": summary, "targets": res, "notes": notes(summary),
                       "per_rep_ratios": per_rep_ratios(rows), "runs": rows}, f, indent=2)
            f.write("\n")
        print(f"results written to {a.json}")
    return 0 if res and all(t["status"] == "PASS" for t in res) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("upstream")
    v.add_argument("out")
    v.add_argument("--index-only", action="store_true")
    p = sub.add_parser("phases")
    p.add_argument("log")
    p.add_argument("t0")
    r = sub.add_parser("report")
    r.add_argument("tsv")
    r.add_argument("--json")
    r.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    return {"verify": verify, "phases": phases, "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
