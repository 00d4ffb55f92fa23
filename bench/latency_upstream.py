#!/usr/bin/env python3
"""latency_upstream.py ROOT: a static HTTP/1.1 server that waits a uniformly random LATENCY
before each answer, emulating a distant mirror, for bench/mirror_latency_bench.sh.

Raw asyncio protocol (no framework): keep-alive, pipelined requests answered in order, GET and
HEAD, 200 with Content-Length and Last-Modified, 404 for anything else. Every file under ROOT
is read into memory at start, so answers cost no disk I/O. With --workers N, N processes each
listen on the same port (SO_REUSEPORT; the kernel spreads connections over them).

Every request and every connection open/close goes to WORKDIR-LOG.<worker> as a line
  <monotonic ms> R <status> <body bytes> <connection id> <ms since the request arrived> <path>
  <monotonic ms> O|X <connection id>
buffered and flushed every 100 ms. `latency_upstream.py --count LOG... --from OFFSETS` counts
what one tool asked for between two offsets (see mirror_latency_bench.sh).
"""

import argparse
import asyncio
import email.utils
import json
import os
import random
import signal
import socket
import sys
import time
import urllib.parse

MAX_HEADER = 16 * 1024


class Files:
    """Every regular file under root, by URL path ("/a/b"), with its Last-Modified."""

    def __init__(self, root):
        self.data = {}
        self.mtime = {}
        for d, _, names in os.walk(root):
            for n in names:
                p = os.path.join(d, n)
                if not os.path.isfile(p):
                    continue
                rel = "/" + os.path.relpath(p, root).replace(os.sep, "/")
                with open(p, "rb") as f:
                    self.data[rel] = f.read()
                self.mtime[rel] = email.utils.formatdate(os.stat(p).st_mtime, usegmt=True).encode()


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1 << 20)
        self.lines = []

    def add(self, line):
        self.lines.append(line)

    def flush(self):
        if self.lines:
            self.f.write("".join(self.lines))
            self.f.flush()
            self.lines = []


class Http(asyncio.Protocol):
    """One connection: requests are parsed as they arrive and answered in order, each after its
    own random delay (measured from when the previous answer of the connection went out)."""

    next_id = 0

    def __init__(self, srv):
        self.srv = srv
        self.buf = b""
        self.queue = []  # parsed requests waiting for their turn: (method, target, keep_alive, arrival time)
        self.busy = False
        self.closing = False
        self.transport = None
        Http.next_id += 1
        self.cid = Http.next_id

    def connection_made(self, transport):
        self.transport = transport
        self.srv.log.add("%.3f O %d\n" % (time.monotonic() * 1000, self.cid))

    def connection_lost(self, exc):
        self.closing = True
        self.srv.log.add("%.3f X %d\n" % (time.monotonic() * 1000, self.cid))

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    self.transport.close()
                    return
                break
            head = self.buf[:end].decode("latin-1")
            self.buf = self.buf[end + 4:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self.transport.close()
                return
            method, target, version = parts
            conn = ""
            for line in lines[1:]:
                if line[:11].lower() == "connection:":
                    conn = line[11:].strip().lower()
            keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            self.queue.append((method, target, keep, time.monotonic()))
            if not keep:
                break
        self.next()

    def next(self):
        if self.busy or not self.queue or self.closing:
            return
        self.busy = True
        delay = self.srv.rng.uniform(self.srv.min_s, self.srv.max_s)
        asyncio.get_running_loop().call_later(delay, self.answer)

    def answer(self):
        self.busy = False
        if self.closing:
            return
        method, target, keep, arrived = self.queue.pop(0)
        path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
        body = self.srv.files.data.get(path)
        if body is not None and method in ("GET", "HEAD"):
            head = (b"HTTP/1.1 200 OK\r\nServer: latency-upstream\r\nContent-Type: "
                    b"application/octet-stream\r\nLast-Modified: %s\r\nContent-Length: %d\r\n"
                    % (self.srv.files.mtime[path], len(body)))
            status = 200
        else:
            body = b"not found\n"
            head = (b"HTTP/1.1 404 Not Found\r\nServer: latency-upstream\r\nContent-Type: "
                    b"text/plain\r\nContent-Length: %d\r\n" % len(body))
            status = 404
        if not keep:
            head += b"Connection: close\r\n"
        head += b"\r\n"
        self.transport.write(head if method == "HEAD" else head + body)
        now = time.monotonic()
        self.srv.log.add("%.3f R %d %d %d %.1f %s\n" % (
            now * 1000, status, 0 if method == "HEAD" else len(body), self.cid,
            (now - arrived) * 1000, path))
        if not keep:
            self.closing = True
            self.transport.close()
            return
        self.next()


class Server:
    def __init__(self, files, log, min_ms, max_ms, seed):
        self.files = files
        self.log = log
        self.min_s = min_ms / 1000
        self.max_s = max_ms / 1000
        self.rng = random.Random(seed)


async def serve(sock, srv):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(lambda: Http(srv), sock=sock, backlog=4096)

    async def flusher():
        while True:
            await asyncio.sleep(0.1)
            srv.log.flush()

    task = asyncio.create_task(flusher())
    await stop
    task.cancel()
    server.close()
    srv.log.flush()
    srv.log.f.close()


def listen_sockets(host, port, n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if n > 1:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((host, port))
        port = s.getsockname()[1]
        s.listen(4096)
        s.setblocking(False)
        socks.append(s)
    return socks, port


def run_server(a):
    files = Files(a.root)
    socks, port = listen_sockets("127.0.0.1", a.port, a.workers)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    children = []
    for w, s in enumerate(socks):
        pid = os.fork() if a.workers > 1 else 0
        if pid == 0:
            for other in socks:
                if other is not s:
                    other.close()
            srv = Server(files, Log("%s.%d" % (a.log, w)), a.min_ms, a.max_ms, a.seed * 1000 + w)
            asyncio.run(serve(s, srv))
            if a.workers > 1:
                os._exit(0)
            return 0
        children.append(pid)
    for s in socks:
        s.close()

    def forward(sig, _):
        for pid in children:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
    return 0


def count(logs, offsets):
    """What the log lines after `offsets` (one per log) say: requests by status, .deb requests,
    distinct .deb paths, bytes, connections opened, and the most connections open at once."""
    events = []
    stats = {"requests": 0, "status": {}, "deb_requests": 0, "deb_distinct": 0, "bytes": 0,
             "connections": 0, "max_open_connections": 0}
    debs = set()
    for path, off in zip(logs, offsets):
        with open(path, "rb") as f:
            f.seek(off)
            for line in f.read().decode().splitlines():
                t, kind, rest = line.split(" ", 2)
                if kind == "R":
                    status, size, _, _, p = rest.split(" ", 4)
                    stats["requests"] += 1
                    stats["status"][status] = stats["status"].get(status, 0) + 1
                    stats["bytes"] += int(size)
                    if p.endswith(".deb"):
                        stats["deb_requests"] += 1
                        debs.add(p)
                elif kind == "O":
                    stats["connections"] += 1
                    events.append((float(t), 1))
                elif kind == "X":
                    events.append((float(t), -1))
    stats["deb_distinct"] = len(debs)
    open_now = 0
    for _, d in sorted(events):
        open_now += d
        stats["max_open_connections"] = max(stats["max_open_connections"], open_now)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--min-ms", type=float, default=25)
    ap.add_argument("--max-ms", type=float, default=50)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", help="log file prefix; worker W appends to LOG.W")
    ap.add_argument("--count", nargs="+", metavar="LOG", help="count mode: these log files")
    ap.add_argument("--from", dest="offsets", type=int, nargs="+", help="byte offset per log")
    a = ap.parse_args()
    if a.count:
        offsets = a.offsets or [0] * len(a.count)
        json.dump(count(a.count, offsets), sys.stdout)
        print()
        return 0
    if not a.root or not a.log:
        ap.error("ROOT and --log are needed to serve")
    return run_server(a)


if __name__ == "__main__":
    sys.exit(main())
