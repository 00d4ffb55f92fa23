#!/usr/bin/env python3
"""Table, ratio and target of bench/s3_mirror_bench.sh from its runs directory.

Each RUNS/REP.TOOL/ holds: time (GNU time '%e %M'), rc, start (epoch seconds), verify.json
(s3_bench.py verify), rgw_before.json / rgw_after.json (radosgw perf counters), nginx_requests
(method count per line, when the access log was on), rgwlog.json (s3_bench.py rgwlog),
stdout/stderr (for depot: the JSON summary
and the JSON event log). Prints the table; writes --json (everything) and --tsv (one row a run).
Exit status 1 when the target is MISS.
"""

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

TARGET = 1.0  # depot throughput / rclone throughput, medians
PEER = "rclone"
SUBJECT = "depot"
LABELS = {
    "rclone": "rclone copy --transfers N (:http: -> :s3:)",
    "depot": "depot mirror conda --concurrency N -> s3://",
    "depot-auto": "depot mirror conda (self-scaling) -> s3://",
    "put-floor": "floor: curl --parallel N PUT from local disk",
}


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def rgw_delta(d):
    before, after = read_json(d / "rgw_before.json"), read_json(d / "rgw_after.json")
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("req", "failed_req", "put", "get")}


def nginx_counts(d):
    counts = {}
    try:
        for line in (d / "nginx_requests").read_text().splitlines():
            method, n = line.split()
            counts[method] = int(n)
    except OSError:
        return None
    return counts


def parse_ts(ts):
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def depot_phases(d, start):
    """Seconds from the process start to depot's milestones (its --log-format json events)."""
    events = []
    for line in (d / "stderr").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    if not events or start is None:
        return None
    at = lambda e: round(parse_ts(e["ts"]) - start, 2)  # noqa: E731
    batches = [e for e in events if e.get("event") == "mirror.commit_batch"]
    plan = next((e for e in events if e.get("event") == "mirror.plan"), None)
    out = {"first_event": at(events[0]), "plan": at(plan) if plan else None,
           "batches": len(batches), "last_event": at(events[-1])}
    if batches:
        out["first_batch"], out["last_batch"] = at(batches[0]), at(batches[-1])
        if len(batches) > 1:
            out["batch_interval"] = round((out["last_batch"] - out["first_batch"]) / (len(batches) - 1), 2)
    return out


def load_runs(runs_dir):
    runs = []
    for d in sorted(p for p in Path(runs_dir).iterdir() if p.is_dir()):
        rep, tool = d.name.split(".", 1)
        try:
            secs, rss = (d / "time").read_text().split()[-2:]
            secs, rss = float(secs), int(rss)
        except (OSError, ValueError):
            secs, rss = None, None
        v = read_json(d / "verify.json")
        start = float((d / "start").read_text()) if (d / "start").exists() else None
        run = {"rep": int(rep), "tool": tool, "seconds": secs, "rss_kb": rss,
               "rc": int((d / "rc").read_text().strip() or 0), "verify": v, "rgw": rgw_delta(d),
               "nginx": nginx_counts(d), "rgwlog": read_json(d / "rgwlog.json"), "cmd": (d / "cmd").read_text().strip() if (d / "cmd").exists() else ""}
        run["ok"] = run["rc"] == 0 and v.get("complete") == 1 and secs is not None
        if tool.startswith("depot"):
            run["phases"] = depot_phases(d, start)
            summary = [json.loads(x) for x in (d / "stdout").read_text().splitlines() if x.startswith("{")]
            run["summary"] = summary[-1] if summary else None
        runs.append(run)
    return runs


def median_of(runs, key):
    """Median of an rgwlog.json value over the runs that have it."""
    xs = [r["rgwlog"][key] for r in runs if r["rgwlog"].get(key) is not None]
    return statistics.median(xs) if xs else None


def summarize(runs, files, nbytes):
    order = list(LABELS)
    tools = sorted({r["tool"] for r in runs}, key=lambda t: (order.index(t) if t in order else len(order), t))
    out = {}
    for tool in tools:
        rs = [r for r in runs if r["tool"] == tool]
        good = [r for r in rs if r["ok"]]
        secs = statistics.median(r["seconds"] for r in good) if good else None
        nginx = [sum(r["nginx"].values()) for r in rs if r["nginx"] is not None]
        out[tool] = {
            "runs": len(rs), "ok_runs": len(good), "median_s": secs,
            "min_s": min((r["seconds"] for r in good), default=None),
            "max_s": max((r["seconds"] for r in good), default=None),
            "files_per_s": round(files / secs, 1) if secs else None,
            "mib_per_s": round(nbytes / secs / 2**20, 1) if secs else None,
            "rss_mib_max": round(max(r["rss_kb"] or 0 for r in rs) / 1024, 1),
            "index_last_all": all(r["verify"].get("index_last") is True for r in rs),
            "rgw_req_per_file": round(statistics.median(r["rgw"]["req"] for r in rs) / files, 2),
            "nginx_req_per_file": round(statistics.median(nginx) / files, 2) if nginx else None,
            "put_ms_p50": median_of(rs, "put_ms_p50"),
            "puts_in_flight": median_of(rs, "puts_in_flight"),
            "low_share": median_of(rs, "low_share"),
        }
    return out


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def print_table(summary, runs, target):
    print()
    print("| tool | median s | files/s | MiB/s | peak RSS MiB | complete | index last "
          "| RGW req/file | nginx req/file | PUT ms p50 | PUTs in flight | lull time |")
    print("|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|")
    for tool, s in summary.items():
        print("| %s | %s | %s | %s | %s | %d/%d | %s | %s | %s | %s | %s | %s |" % (
            LABELS.get(tool, tool), fmt(s["median_s"], ".2f"), fmt(s["files_per_s"], ".0f"),
            fmt(s["mib_per_s"], ".1f"), fmt(s["rss_mib_max"], ".0f"), s["ok_runs"], s["runs"],
            "yes" if s["index_last_all"] else "no", fmt(s["rgw_req_per_file"], ".2f"),
            fmt(s["nginx_req_per_file"], ".2f"), fmt(s["put_ms_p50"], ".0f"),
            fmt(s["puts_in_flight"], ".1f"),
            "-" if s["low_share"] is None else "%.0f%%" % (100 * s["low_share"])))
    print()
    for r in runs:
        p = r.get("phases")
        if p:
            g = r["rgwlog"]
            print("%d %-10s plan at %ss, first PUT at %ss, commit batches: %d, first done at %ss, last "
                  "at %ss (every %ss), wall %ss; %s PUT lulls, %ss in all" % (
                      r["rep"], r["tool"], p["plan"], g.get("first_put_s"), p["batches"],
                      p.get("first_batch"), p.get("last_batch"), p.get("batch_interval"),
                      r["seconds"], g.get("lulls"), g.get("lull_s")))
    print()
    print("target: depot throughput / rclone throughput (median times) >= %.1f: %s" % (
        TARGET, target["verdict"] + ("" if target["ratio"] is None else "  (%.2fx)" % target["ratio"])))
    if target.get("per_rep"):
        print("        per repetition: %s" % ", ".join("%.2f" % x for x in target["per_rep"]))
    for note in target["notes"]:
        print("        " + note)


def judge(summary, runs):
    notes = []
    peer, subj = summary.get(PEER), summary.get(SUBJECT)
    ratio = None
    if peer and subj and peer["median_s"] and subj["median_s"]:
        ratio = peer["median_s"] / subj["median_s"]
    if subj and subj["ok_runs"] < subj["runs"]:
        notes.append("a depot run failed or left the bucket unlike the upstream")
    if subj and not subj["index_last_all"]:
        notes.append("a depot run stored repodata.json before one of its blobs")
    if peer and peer["ok_runs"] < peer["runs"]:
        notes.append("an rclone run failed or was incomplete (not used as reference)")
    per_rep = []
    for rep in sorted({r["rep"] for r in runs}):
        a = [r for r in runs if r["rep"] == rep and r["tool"] == PEER and r["ok"]]
        b = [r for r in runs if r["rep"] == rep and r["tool"] == SUBJECT and r["ok"]]
        if a and b:
            per_rep.append(a[0]["seconds"] / b[0]["seconds"])
    ok = ratio is not None and ratio >= TARGET and not notes
    if ratio is None:
        notes.append("no complete depot and rclone runs to compare")
    return {"ratio": ratio, "threshold": TARGET, "verdict": "PASS" if ok else "MISS",
            "per_rep": per_rep, "notes": notes}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs")
    p.add_argument("--json")
    p.add_argument("--tsv")
    p.add_argument("--meta", nargs="*", default=[])
    a = p.parse_args()
    meta = dict(kv.split("=", 1) for kv in a.meta)
    files, nbytes = int(meta.get("expect_files", 0)), int(meta.get("expect_bytes", 0))
    runs = load_runs(a.runs)
    summary = summarize(runs, files, nbytes)
    target = judge(summary, runs)
    print("%d files, %.1f MiB; N = %s; depot %s; %s" % (files, nbytes / 2**20, meta.get("conc"),
                                                      meta.get("depot_version"), meta.get("rclone_version")))
    print_table(summary, runs, target)
    if a.json:
        Path(a.json).write_text(json.dumps({"meta": meta, "summary": summary, "target": target,
                                            "runs": runs}, indent=1))
    if a.tsv:
        cols = ["rep", "tool", "seconds", "rss_kb", "rc", "ok"]
        lines = ["\t".join(cols + ["objects", "bytes", "index_last", "rgw_req", "rgw_put", "rgw_get", "nginx_req"])]
        for r in runs:
            v, g = r["verify"], r["rgw"]
            lines.append("\t".join(str(x) for x in [r[c] for c in cols] + [
                v.get("objects"), v.get("bytes"), v.get("index_last"), g["req"], g["put"], g["get"],
                sum(r["nginx"].values()) if r["nginx"] is not None else ""]))
        Path(a.tsv).write_text("\n".join(lines) + "\n")
    return 0 if target["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
