#!/usr/bin/env python3
"""latency_floor_client.py BASE LIST --connections N [--out DIR]: the client-side floor for
bench/mirror_latency_bench.sh. N keep-alive HTTP/1.1 connections, each fetching the next path
of LIST (one path per line, relative to BASE) as soon as its previous answer is in; bodies are
counted, and written under DIR only with --out. No verification, no fsync: whatever time this
takes on the same machine and upstream, no mirror tool using N connections can beat it.

Prints one JSON line: seconds, files, bytes, failures."""

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.parse


async def worker(host, port, prefix, paths, out, stats):
    reader, writer = await asyncio.open_connection(host, port)
    while paths:
        rel = paths.pop()
        writer.write(b"GET %s/%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                     % (prefix.encode(), rel.encode(), host.encode(), port))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        if status != 200:
            stats["failures"] += 1
            continue
        stats["files"] += 1
        stats["bytes"] += len(body)
        if out:
            path = os.path.join(out, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
    writer.close()


async def main_async(a):
    u = urllib.parse.urlsplit(a.base)
    with open(a.list) as f:
        paths = [line.strip() for line in f if line.strip()]
    paths.reverse()
    stats = {"files": 0, "bytes": 0, "failures": 0}
    t0 = time.monotonic()
    await asyncio.gather(*(worker(u.hostname, u.port or 80, u.path.rstrip("/"), paths, a.out,
                                  stats) for _ in range(a.connections)))
    stats["seconds"] = round(time.monotonic() - t0, 3)
    stats["connections"] = a.connections
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("list")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--out")
    a = ap.parse_args()
    stats = asyncio.run(main_async(a))
    print(json.dumps(stats))
    return 0 if stats["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
