#!/usr/bin/env python3
"""Helpers for bench/s3_mirror_bench.sh: a RADOS Gateway for the length of a run, buckets, and
the check of what a tool left in a bucket against the upstream directory.

  rgw DIR INFO [--memstore-bytes N]   start Ceph (tests/integration/rgw_harness.py) under DIR,
                                      write INFO (JSON: endpoint, keys, daemon PIDs), serve until
                                      SIGTERM/SIGINT, then SIGKILL the daemons by PID (the data
                                      is not kept)
  manifest UPSTREAM OUT               name, size and md5 of every file in UPSTREAM (TSV)
  bucket INFO NAME                    create a bucket
  verify INFO BUCKET PREFIX MANIFEST  list BUCKET/PREFIX; JSON on stdout: objects, bytes, missing,
                                      extra, wrong size, wrong md5 (ETag of a one-part PUT), and
                                      whether repodata.json was the last object stored
  requests INFO                       radosgw's request counters (perf dump), JSON
  rgwlog INFO START                   from radosgw's request log: PUTs and HEADs under the key
                                      prefix, PUT latency percentiles, when the first started and
                                      the last ended (seconds after START, epoch), the mean
                                      number of PUTs in flight over that span, and its lulls
                                      (under a quarter of --conc in flight), JSON
"""

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from rgw_harness import Rgw  # noqa: E402

S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
INDEX = "repodata.json"


# -- the gateway --------------------------------------------------------------------------------
def cmd_rgw(a):
    rgw = Rgw(a.dir, memstore_bytes=a.memstore_bytes)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    rgw.start()
    try:
        info = {"endpoint": rgw.endpoint, "access_key": rgw.access_key,
                "secret_key": rgw.secret_key, "region": rgw.region, "dir": str(rgw.dir),
                "start_seconds": round(rgw.start_seconds, 2),
                "pids": {name: p.pid for name, p in rgw.procs.items()}}
        tmp = Path(a.info + ".tmp")
        tmp.write_text(json.dumps(info))
        tmp.rename(a.info)
        while not stop:
            signal.pause()
    finally:
        # The data is thrown away: SIGKILL spares the OSD writing memstore (GBs) to disk.
        for proc in rgw.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        rgw.stop()
    return 0


def load_rgw(info_path):
    """An Rgw bound to the running gateway described by INFO (for signed requests)."""
    info = json.loads(Path(info_path).read_text())
    rgw = Rgw(info["dir"])
    rgw.rgw_port = int(info["endpoint"].rsplit(":", 1)[1])
    return rgw, info


def cmd_bucket(a):
    rgw, _ = load_rgw(a.info)
    rgw.create_bucket(a.name)
    return 0


def cmd_requests(a):
    """radosgw's own counters (admin socket): requests, PUTs, GETs, failures."""
    rgw, _ = load_rgw(a.info)
    asok = rgw.dir / "run" / "client.rgw.asok"
    out = rgw._run(["ceph", "--admin-daemon", str(asok), "perf", "dump", "rgw"])
    print(json.dumps(json.loads(out).get("rgw", {})))
    return 0


# radosgw's access line: `<ts> <thread>  1 beast: <req> <ip> - <user> [<date>] "<METHOD> <path> ..."
# ... latency=<seconds>s`; <ts> is when the request was done.
BEAST = re.compile(r'^(\S+) \S+\s+1 beast: \S+ \S+ - \S+ \[[^\]]+\] "(\w+) (\S+) [^"]*" (\d+) '
                   r'.*latency=([\d.]+)s')


def lulls(puts, first, last, low, step=0.004, min_s=0.02):
    """Share of [first, last] with fewer than `low` PUTs in flight, and the lulls of at least
    `min_s` (count, total seconds). Resolution `step` (the log's is 1 ms, latencies 4 ms)."""
    n = int((last - first) / step) + 2
    delta = [0] * (n + 1)
    for b, e in puts:
        delta[int((b - first) / step)] += 1
        delta[int((e - first) / step)] -= 1
    level, low_bins, runs, run = 0, 0, [], 0
    for k in range(n):
        level += delta[k]
        if level < low:
            low_bins += 1
            run += 1
        else:
            if run * step >= min_s:
                runs.append(run * step)
            run = 0
    if run * step >= min_s:
        runs.append(run * step)
    return {"low_share": round(low_bins / n, 3), "lulls": len(runs), "lull_s": round(sum(runs), 2)}


def cmd_rgwlog(a):
    _, info = load_rgw(a.info)
    start = float(a.start)
    puts, heads = [], 0
    with open(Path(info["dir"]) / "log" / "client.rgw.log", errors="replace") as f:
        for line in f:
            m = BEAST.match(line)
            if not m or "/%s/" % a.prefix not in m.group(3):
                continue
            done = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() - start
            if m.group(2) == "PUT":
                puts.append((done - float(m.group(5)), done))
            elif m.group(2) == "HEAD":
                heads += 1
    out = {"puts": len(puts), "heads": heads}
    if puts:
        lat = sorted(e - b for b, e in puts)
        first, last = min(b for b, _ in puts), max(e for _, e in puts)
        out.update({
            "first_put_s": round(first, 2), "last_put_s": round(last, 2),
            "put_ms_p50": round(1000 * lat[len(lat) // 2], 1),
            "put_ms_p90": round(1000 * lat[int(len(lat) * 0.9)], 1),
            "put_ms_p99": round(1000 * lat[int(len(lat) * 0.99)], 1),
            "puts_in_flight": round(sum(lat) / (last - first), 1) if last > first else None})
        out.update(lulls(puts, first, last, max(1, a.conc // 4)))
    print(json.dumps(out))
    return 0


# -- what a bucket holds ------------------------------------------------------------------------
def list_objects(rgw, bucket, prefix):
    """{key relative to prefix: (size, etag, last_modified)} of every object, page by page."""
    out, token = {}, None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        query = urllib.parse.urlencode(sorted(q.items()), quote_via=urllib.parse.quote)
        status, body = rgw.request("GET", "/%s?%s" % (bucket, query))
        if status != 200:
            raise SystemExit("listing s3://%s/%s: HTTP %s %s" % (bucket, prefix, status, body[:300]))
        root = ET.fromstring(body)
        for c in root.findall(S3NS + "Contents"):
            key = c.findtext(S3NS + "Key")[len(prefix):]
            when = datetime.strptime(c.findtext(S3NS + "LastModified"), "%Y-%m-%dT%H:%M:%S.%fZ")
            out[key] = (int(c.findtext(S3NS + "Size")), c.findtext(S3NS + "ETag").strip('"'), when)
        if root.findtext(S3NS + "IsTruncated") != "true":
            return out
        token = root.findtext(S3NS + "NextContinuationToken")


def cmd_manifest(a):
    rows = []
    for entry in sorted(os.scandir(a.upstream), key=lambda e: e.name):
        if not entry.is_file():
            continue
        h = hashlib.md5()
        with open(entry.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        rows.append("%s\t%d\t%s\n" % (entry.name, entry.stat().st_size, h.hexdigest()))
    Path(a.out).write_text("".join(rows))
    return 0


def cmd_verify(a):
    rgw, _ = load_rgw(a.info)
    want = {}
    for line in Path(a.manifest).read_text().splitlines():
        name, size, md5 = line.split("\t")
        want[name] = (int(size), md5)
    prefix = a.prefix.strip("/") + "/" if a.prefix.strip("/") else ""
    got = list_objects(rgw, a.bucket, prefix)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    common = set(got) & set(want)
    wrong_size = sorted(n for n in common if got[n][0] != want[n][0])
    # A one-part PUT's ETag is the MD5 of its bytes; a multipart ETag ends in -<parts>.
    wrong_md5 = sorted(n for n in common if "-" not in got[n][1] and got[n][1] != want[n][1])
    multipart = sum(1 for n in common if "-" in got[n][1])
    blobs = [got[n][2] for n in got if n != INDEX]
    index_last = lag_ms = None
    if INDEX in got and blobs:
        newest_blob = max(blobs)
        index_last = got[INDEX][2] >= newest_blob
        lag_ms = round((got[INDEX][2] - newest_blob).total_seconds() * 1000)
    span_s = None
    if got:
        stamps = [v[2] for v in got.values()]
        span_s = round((max(stamps) - min(stamps)).total_seconds(), 3)
    ok = not (missing or extra or wrong_size or wrong_md5)
    print(json.dumps({
        "objects": len(got), "bytes": sum(v[0] for v in got.values()),
        "expect_objects": len(want), "expect_bytes": sum(v[0] for v in want.values()),
        "missing": len(missing), "extra": len(extra), "wrong_size": len(wrong_size),
        "wrong_md5": len(wrong_md5), "multipart": multipart, "complete": int(ok),
        "index_last": index_last, "index_lag_ms": lag_ms, "store_span_s": span_s,
        "examples": (missing + extra + wrong_size + wrong_md5)[:5]}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("rgw")
    s.add_argument("dir")
    s.add_argument("info")
    s.add_argument("--memstore-bytes", type=int, default=4 << 30)
    s = sub.add_parser("manifest")
    s.add_argument("upstream")
    s.add_argument("out")
    s = sub.add_parser("bucket")
    s.add_argument("info")
    s.add_argument("name")
    s = sub.add_parser("verify")
    s.add_argument("info")
    s.add_argument("bucket")
    s.add_argument("prefix")
    s.add_argument("manifest")
    s = sub.add_parser("requests")
    s.add_argument("info")
    s = sub.add_parser("rgwlog")
    s.add_argument("info")
    s.add_argument("start")
    s.add_argument("--prefix", default="conda")
    s.add_argument("--conc", type=int, default=32, help="lulls: fewer than a quarter in flight")
    a = p.parse_args()
    return {"rgw": cmd_rgw, "manifest": cmd_manifest, "bucket": cmd_bucket, "verify": cmd_verify,
            "requests": cmd_requests, "rgwlog": cmd_rgwlog}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
