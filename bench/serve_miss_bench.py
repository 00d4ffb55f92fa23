#!/usr/bin/env python3
"""Macro benchmark, cache misses: CLIENTS concurrent clients request one uncached file at once
through `depot serve --upstream`, nginx `proxy_cache` + `proxy_cache_lock`, and apt-cacher-ng,
all in front of the same slow upstream. Standard library only. See bench/README.md ("Serving
benchmarks").

Upstream: a private nginx (bench/nginx_serve.conf.in) serving one SIZE_MB file of random bytes
at RATE per connection (`limit_rate`), with an access log: the number of upstream requests for
the file is counted there after each run (the proxy is stopped first, so an unfinished upstream
request is logged too). A relay in this script sits between the proxies and that nginx and
holds the first answer bytes after each request for LATENCY seconds (a distant mirror's round
trip; LATENCY=0: no relay), so the leader's time to first byte is not a loopback millisecond
that any scheduling noise would double.

For each repetition and each proxy (order rotating by one each repetition), with a fresh, empty
cache every time:
  depot          build/depot serve EMPTY --listen 127.0.0.1:0 --port-file F
                   --upstream /debian=UPSTREAM/debian --cache-dir FRESH
  nginx          proxy_cache (FRESH) with proxy_cache_lock on, proxy_cache_lock_timeout and
                   proxy_cache_lock_age 1h (so followers never bypass the lock), a worker per core
  apt-cacher-ng  a private instance (own config, CacheDir FRESH, LogDir), "Remap-bench: /debian ;
                   UPSTREAM/debian/"
the clients are spread over CLIENT_PROCS processes (asyncio each), connect first, then send
their GET at one agreed instant. Each records, on the shared monotonic clock, when it sent its
request, when the first body byte arrived, when the body was complete, and whether the body
equals the upstream file byte for byte (cheaper than hashing 100 bodies, and stricter).

Reported per proxy (medians over the repetitions): upstream requests; leader time to first byte
(the leader is the client whose first body byte came first); followers' TTFB (median and max);
total time from the start instant until every client is done; whether every body is complete
and identical to the upstream file. Targets: 1 upstream request, and max follower TTFB <= 2x the
leader's. Results: bench/results/serve_miss_last.json. Exit 0 whatever the result unless
STRICT=1 (then 1 when a target is MISS).

Environment (or the matching --options): CLIENTS (100), SIZE_MB (64), RATE (nginx limit_rate,
16m = 16 MiB/s), LATENCY (0.1 s), REPEAT (3), SERVERS ("depot nginx apt-cacher-ng direct";
"direct" is the client floor: the file straight from a plain nginx without rate limit, no
target), CLIENT_PROCS (4), DEPOT (build/depot), BENCH_DIR (work dir, default a new temp dir),
KEEP (1 = keep the work dir), STRICT, RESULTS_DIR (bench/results).
"""

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PATH = "/debian/pool/main/b/big/big_1.0_all.deb"
FOLLOWER_RATIO_MAX = 2.0


def log(msg):
    print("[serve-miss %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port(lo=0, hi=0):
    """A loopback port free now, from lo..hi if given (apt-cacher-ng needs < 32768)."""
    for _ in range(200):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", random.randint(lo, hi) if hi else 0))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise SystemExit("no free port")


def wait_http(url, proc, what, timeout=10.0):
    """Waits until url answers with any HTTP status; dies if proc exits first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("%s exited with %s" % (what, proc.returncode))
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s not answering on %s" % (what, url))


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def user_line():
    """Workers must read the 0700 temp dirs when nginx runs as root."""
    return "user root root;" if os.getuid() == 0 else ""


def static_conf(prefix, root, port, access_log, limit_rate):
    """bench/nginx_serve.conf.in filled in: a worker per core serving root."""
    with open(os.path.join(HERE, "nginx_serve.conf.in")) as f:
        s = f.read()
    for k, v in (("@PREFIX@", prefix), ("@ROOT@", root), ("@PORT@", str(port)), ("@USER_LINE@", user_line()),
                 ("@WORKERS@", str(os.cpu_count())), ("@ACCESS_LOG@", access_log),
                 ("@LIMIT_RATE@", limit_rate)):
        s = s.replace(k, v)
    return s


def start_nginx(prefix, conf, out=None):
    """Writes conf to prefix/nginx.conf and starts nginx on it in the foreground."""
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return subprocess.Popen(["nginx", "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", path,
                             "-g", "daemon off;"], stdout=out, stderr=out)


PROXY_CONF = """\
%(user)s
worker_processes %(workers)d;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000;
  client_body_temp_path %(prefix)s/tmp/client_body;
  proxy_temp_path %(prefix)s/tmp/proxy;
  fastcgi_temp_path %(prefix)s/tmp/fastcgi;
  uwsgi_temp_path %(prefix)s/tmp/uwsgi;
  scgi_temp_path %(prefix)s/tmp/scgi;
  proxy_cache_path %(cache)s levels=1:2 keys_zone=bench:10m max_size=100g inactive=1d use_temp_path=off;
  upstream up { server 127.0.0.1:%(up_port)d; keepalive 8; }
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 1d;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 1h;
      proxy_cache_lock_age 1h;
      proxy_read_timeout 1h;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
"""

# ---------------------------------------------------------------- clients


CLIENT_TIMEOUT = 600.0
EXPECTED = b""  # the upstream file; set before the client processes fork, compared byte for byte


async def one_client(reader, writer, host, port, start):
    """One GET of PATH on an open connection at the instant start; a record of its timings."""
    r = {"status": 0, "bytes": 0, "identical": False, "t_send": None, "t_first": None, "t_done": None,
         "cache": "", "error": ""}
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: serve_miss_bench\r\n"
           "Connection: close\r\n\r\n" % (PATH, host, port)).encode()
    delay = start - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        await asyncio.wait_for(exchange(reader, writer, req, r), CLIENT_TIMEOUT)
    except Exception as e:  # reported per client, never fatal for the run
        r["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        r["t_done"] = time.monotonic()
        writer.close()
    return r


async def exchange(reader, writer, req, r):
    """Sends req, reads the answer (Content-Length, chunked or until close) into r."""
    writer.write(req)
    r["t_send"] = time.monotonic()
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    r["status"] = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    r["cache"] = headers.get("x-depot-cache") or headers.get("x-cache-status") or ""
    n = 0
    same = True
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                break
            left = size
            while left:
                chunk = await reader.read(min(left, 1 << 20))
                if not chunk:
                    raise EOFError("short chunk")
                if r["t_first"] is None:
                    r["t_first"] = time.monotonic()
                same = same and chunk == EXPECTED[n:n + len(chunk)]
                n += len(chunk)
                left -= len(chunk)
            await reader.readexactly(2)
    else:
        length = int(headers["content-length"]) if "content-length" in headers else None
        while length is None or n < length:
            chunk = await reader.read(1 << 20)
            if not chunk:
                break
            if r["t_first"] is None:
                r["t_first"] = time.monotonic()
            same = same and chunk == EXPECTED[n:n + len(chunk)]
            n += len(chunk)
    r["bytes"] = n
    r["identical"] = same and n == len(EXPECTED)


def client_worker(conn, host, port, count):
    """One client process: connects count sockets, reports ready, waits for the start instant,
    then runs every client and sends back their records."""
    async def run():
        conns = [await asyncio.open_connection(host, port, limit=1 << 20) for _ in range(count)]
        conn.send("ready")
        start = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        return await asyncio.gather(*(one_client(rd, wr, host, port, start) for rd, wr in conns))
    conn.send(asyncio.run(run()))


def run_clients(port, clients, procs):
    ctx = multiprocessing.get_context("fork")
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = []
    for n in per:
        if n == 0:
            continue
        parent, child = ctx.Pipe()
        p = ctx.Process(target=client_worker, args=(child, "127.0.0.1", port, n))
        p.start()
        workers.append((p, parent))
    for _, c in workers:
        if c.recv() != "ready":
            raise SystemExit("client process failed")
    start = time.monotonic() + 0.2
    for _, c in workers:
        c.send(start)
    results = []
    for p, c in workers:
        results.extend(c.recv())
        p.join()
    return start, results


# ---------------------------------------------------------------- proxies


class Proxy:
    def __init__(self, kind, work, up_port, up_root, depot):
        self.kind, self.work, self.depot = kind, work, depot
        self.up_port, self.up_root = up_port, up_root
        self.proc = None
        self.port = None

    def start(self):
        os.makedirs(self.work)
        out = open(os.path.join(self.work, "out.log"), "w")
        if self.kind == "depot":
            empty = os.path.join(self.work, "tree")
            os.makedirs(empty)
            pf = os.path.join(self.work, "port")
            self.proc = subprocess.Popen(
                [self.depot, "serve", empty, "--listen", "127.0.0.1:0", "--port-file", pf,
                 "--upstream", "/debian=http://127.0.0.1:%d/debian" % self.up_port,
                 "--cache-dir", os.path.join(self.work, "cache")], stdout=out, stderr=out)
            end = time.monotonic() + 10
            while not (os.path.exists(pf) and open(pf).read().strip()):
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise SystemExit("depot serve did not start:\n" + open(out.name).read())
                time.sleep(0.05)
            self.port = int(open(pf).read())
        elif self.kind == "direct":
            # The client floor: the same file from a plain nginx, no proxy, no rate limit.
            self.port = free_port()
            conf = static_conf(self.work, self.up_root, self.port, "off", "0")
            self.proc = start_nginx(self.work, conf, out)
        elif self.kind == "nginx":
            self.port = free_port()
            conf = PROXY_CONF % {"user": user_line(), "workers": os.cpu_count(), "prefix": self.work,
                                 "cache": os.path.join(self.work, "cache"), "up_port": self.up_port,
                                 "port": self.port}
            self.proc = start_nginx(self.work, conf, out)
        else:
            # apt-cacher-ng 3.7 keeps ports in a signed 16-bit integer: stay below 32768.
            self.port = free_port(20000, 32000)
            for d in ("conf", "cache", "log"):
                os.makedirs(os.path.join(self.work, d))
            with open(os.path.join(self.work, "conf", "acng.conf"), "w") as f:
                f.write("CacheDir: %(w)s/cache\nLogDir: %(w)s/log\nSupportDir: /usr/lib/apt-cacher-ng\n"
                        "Port: %(p)d\nBindAddress: 127.0.0.1\nSocketPath: %(w)s/socket\n"
                        "PidFile: %(w)s/pid\nForeGround: 1\nExThreshold: 4\n"
                        "Remap-bench: /debian ; http://127.0.0.1:%(u)d/debian/\n"
                        % {"w": self.work, "p": self.port, "u": self.up_port})
            self.proc = subprocess.Popen(["apt-cacher-ng", "-c", os.path.join(self.work, "conf")],
                                         stdout=out, stderr=out)
        wait_http("http://127.0.0.1:%d/" % self.port, self.proc, self.kind)

    def stop(self):
        stop(self.proc)


def upstream_log(access_log):
    """(requests, body bytes sent) for PATH so far in the upstream's access log."""
    n = sent = 0
    with open(access_log) as f:
        for line in f:
            if '"GET %s ' % PATH in line:
                n += 1
                sent += int(line.split()[-1])
    return n, sent


class LatencyRelay:
    """A loopback TCP relay in front of the upstream that holds the first answer bytes after each
    request for `latency` seconds (a distant mirror's round trip and think time; on a reused
    keep-alive connection too), then relays both ways unchanged. Runs its own event loop in a
    thread."""

    def __init__(self, up_port, latency, port):
        self.up_port, self.latency, self.port = up_port, latency, port
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._conn, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer, state, is_answer):
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                if not is_answer:
                    state["asked"] = True
                elif state["asked"]:
                    state["asked"] = False
                    await asyncio.sleep(self.latency)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _conn(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.up_port)
        except OSError:
            cwriter.close()
            return
        state = {"asked": False}
        await asyncio.gather(self._pipe(creader, uwriter, state, False),
                             self._pipe(ureader, cwriter, state, True))

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def summarise(start, results, size):
    ok = [r for r in results if r["t_first"] is not None and r["t_send"] is not None]
    complete = all(not r["error"] and r["status"] == 200 and r["identical"] for r in results)
    if not ok:
        return {"complete": False, "clients": len(results), "errors": [r["error"] for r in results][:3]}
    leader = min(ok, key=lambda r: r["t_first"])
    ttfb = lambda r: r["t_first"] - r["t_send"]  # noqa: E731
    followers = [ttfb(r) for r in ok if r is not leader]
    out = {
        "clients": len(results),
        "complete": complete,
        "incomplete_clients": sum(1 for r in results if r["error"] or not r["identical"]),
        "statuses": sorted(set(r["status"] for r in results)),
        "cache_headers": sorted(set(r["cache"] for r in results)),
        "leader_ttfb_s": round(ttfb(leader), 4),
        "follower_ttfb_median_s": round(statistics.median(followers), 4) if followers else None,
        "follower_ttfb_max_s": round(max(followers), 4) if followers else None,
        "send_spread_s": round(max(r["t_send"] for r in ok) - min(r["t_send"] for r in ok), 4),
        "total_s": round(max(r["t_done"] for r in results) - start, 3),
    }
    errs = [r["error"] for r in results if r["error"]]
    if errs:
        out["errors"] = errs[:3]
    return out


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=int(env("CLIENTS", 100)))
    ap.add_argument("--size-mb", type=int, default=int(env("SIZE_MB", 64)))
    ap.add_argument("--rate", default=env("RATE", "16m"))
    ap.add_argument("--latency", type=float, default=float(env("LATENCY", 0.1)))
    ap.add_argument("--repeat", type=int, default=int(env("REPEAT", 3)))
    ap.add_argument("--servers", default=env("SERVERS", "depot nginx apt-cacher-ng direct"))
    ap.add_argument("--client-procs", type=int, default=int(env("CLIENT_PROCS", 4)))
    ap.add_argument("--depot", default=env("DEPOT", os.path.join(ROOT, "build", "depot")))
    ap.add_argument("--work", default=env("BENCH_DIR"))
    ap.add_argument("--keep", action="store_true", default=env("KEEP", "0") == "1")
    ap.add_argument("--strict", action="store_true", default=env("STRICT", "0") == "1")
    ap.add_argument("--results-dir", default=env("RESULTS_DIR", os.path.join(HERE, "results")))
    a = ap.parse_args()
    for tool in ("nginx", "apt-cacher-ng"):
        if shutil.which(tool) is None:
            raise SystemExit("%s not found (scripts/install-deps.sh installs it)" % tool)

    servers = a.servers.split()
    work = a.work or tempfile.mkdtemp(prefix="depot-serve-miss.", dir=os.environ.get("TMPDIR", "/tmp"))
    os.makedirs(work, exist_ok=True)
    work = os.path.abspath(work)
    if "depot" in servers:
        if os.access(a.depot, os.X_OK):
            shutil.copy2(a.depot, os.path.join(work, "depot"))  # a rebuild cannot swap it mid-run
            a.depot = os.path.join(work, "depot")
        else:
            log("%s not built: the depot leg is skipped and its targets report MISS" % a.depot)
            servers.remove("depot")
    upstream = relay = None
    try:
        # ------------------------------------------------------------ upstream
        size = a.size_mb << 20
        big = os.path.join(work, "up") + PATH
        os.makedirs(os.path.dirname(big), exist_ok=True)
        if not (os.path.exists(big) and os.path.getsize(big) == size):
            log("writing the %d MiB upstream file" % a.size_mb)
            with open(big, "wb") as f:
                for _ in range(a.size_mb):
                    f.write(os.urandom(1 << 20))
        with open(os.path.join(work, "up", "probe"), "w") as f:
            f.write("ok\n")
        h = hashlib.sha256()
        with open(big, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
        global EXPECTED
        with open(big, "rb") as f:
            EXPECTED = f.read()
        ngx = os.path.join(work, "upstream")
        access_log = os.path.join(ngx, "access.log")
        up_port = free_port(20000, 32000)
        upstream = start_nginx(ngx, static_conf(ngx, os.path.join(work, "up"), up_port, access_log + " bench",
                                                a.rate))
        wait_http("http://127.0.0.1:%d/probe" % up_port, upstream, "upstream nginx")
        proxy_up_port = up_port
        if a.latency > 0:
            relay = LatencyRelay(up_port, a.latency, free_port(20000, 32000))
            proxy_up_port = relay.port
        log("upstream nginx pid %d on 127.0.0.1:%d: %d MiB at %s/s per connection (~%.1f s), %d clients"
            % (upstream.pid, up_port, a.size_mb, a.rate, size / rate_bytes(a.rate), a.clients))
        if relay:
            log("upstream first-byte latency %.3f s (relay on 127.0.0.1:%d)" % (a.latency, relay.port))

        # ------------------------------------------------------------ runs
        runs = []
        order = list(servers)
        for rep in range(1, a.repeat + 1):
            for kind in order:
                pdir = os.path.join(work, "run", "%d.%s" % (rep, kind))
                shutil.rmtree(pdir, ignore_errors=True)
                proxy = Proxy(kind, pdir, proxy_up_port, os.path.join(work, "up"), a.depot)
                proxy.start()
                before = upstream_log(access_log)
                try:
                    start, results = run_clients(proxy.port, a.clients, a.client_procs)
                    time.sleep(0.3)
                finally:
                    proxy.stop()
                time.sleep(0.2)
                s = summarise(start, results, size)
                after = upstream_log(access_log)
                s.update(rep=rep, server=kind, upstream_requests=after[0] - before[0],
                         upstream_mib=round((after[1] - before[1]) / 1048576, 1))
                runs.append(s)
                log("%-13s upstream=%s (%s MiB) leader=%.3fs followers median=%.3fs max=%.3fs "
                    "total=%.2fs complete=%s %s"
                    % (kind, s["upstream_requests"], s["upstream_mib"], s.get("leader_ttfb_s", -1),
                       s.get("follower_ttfb_median_s") or -1, s.get("follower_ttfb_max_s") or -1,
                       s.get("total_s", -1), s["complete"], s.get("errors", "")))
                shutil.rmtree(os.path.join(pdir, "cache"), ignore_errors=True)
            order = order[1:] + order[:1]
    finally:
        if relay:
            relay.close()
        stop(upstream)
        if not (a.keep or a.work):
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("left %s" % work)

    rc = report(runs, a, sha, size)
    return rc if a.strict else 0


def rate_bytes(rate):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    r = rate.lower()
    return float(r[:-1]) * mult[r[-1]] if r[-1] in mult else float(r)


def report(runs, a, sha, size):
    out = {"meta": {"clients": a.clients, "size_mb": a.size_mb, "rate": a.rate, "latency_s": a.latency,
                    "repeat": a.repeat,
                    "client_procs": a.client_procs, "sha256": sha, "cores": os.cpu_count(),
                    "loadavg": os.getloadavg()[0],
                    "upstream_download_s": round(size / rate_bytes(a.rate), 2)},
           "servers": {}, "targets": [], "runs": runs}
    row = "%-14s %9s %9s %10s %12s %12s %8s %9s"
    print("\n" + row % ("server", "upstream", "up MiB", "leader s", "follow med s",
                                                  "follow max s", "total s", "complete"))
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    for kind in ("depot", "nginx", "apt-cacher-ng", "direct"):
        rs = [r for r in runs if r["server"] == kind]
        if not rs:
            continue
        good = [r for r in rs if "leader_ttfb_s" in r]
        followed = [r for r in good if r["follower_ttfb_max_s"] is not None]
        m = {
            "upstream_requests": med([r["upstream_requests"] for r in rs]),
            "upstream_requests_max": max(r["upstream_requests"] for r in rs),
            "upstream_mib": med([r["upstream_mib"] for r in rs]),
            "leader_ttfb_s": med([r["leader_ttfb_s"] for r in good]),
            "follower_ttfb_median_s": med([r["follower_ttfb_median_s"] for r in followed]),
            "follower_ttfb_max_s": med([r["follower_ttfb_max_s"] for r in followed]),
            "follower_max_over_leader": med([r["follower_ttfb_max_s"] / max(r["leader_ttfb_s"], 1e-6)
                                             for r in followed]),
            "total_s": med([r["total_s"] for r in good]),
            "complete": all(r["complete"] for r in rs),
        }
        out["servers"][kind] = m
        fmt = lambda v: "-" if v is None else "%.3f" % v  # noqa: E731
        print(row % (kind, m["upstream_requests"], m["upstream_mib"], fmt(m["leader_ttfb_s"]),
                     fmt(m["follower_ttfb_median_s"]), fmt(m["follower_ttfb_max_s"]),
                                                    fmt(m["total_s"]), "yes" if m["complete"] else "NO"))
    print("(medians over %d repetitions; the upstream alone takes %.1f s for the file; \"direct\" is\n"
          " the client floor: the file from a plain nginx without rate limit or proxy, not a peer)\n"
          % (a.repeat, out["meta"]["upstream_download_s"]))

    def target(name, value, ok, goal):
        out["targets"].append({"target": name, "value": value, "goal": goal, "pass": ok})
        print("  %-4s %-58s %8s %s" % ("PASS" if ok else "MISS", name, value, goal))

    for kind in ("depot", "nginx", "apt-cacher-ng"):
        m = out["servers"].get(kind)
        if kind == "depot" and m is None:
            target("depot: upstream requests (every repetition)", None, False, "== 1")
            target("depot: max follower TTFB / leader TTFB", None, False, "<= %.1f" % FOLLOWER_RATIO_MAX)
            continue
        if m is None:
            continue
        target("%s: upstream requests (every repetition)" % kind, m["upstream_requests_max"],
               m["upstream_requests_max"] == 1 and m["upstream_requests"] == 1, "== 1")
        r = m["follower_max_over_leader"]
        target("%s: max follower TTFB / leader TTFB" % kind, None if r is None else round(r, 2),
               r is not None and r <= FOLLOWER_RATIO_MAX and m["complete"],
               "<= %.1f" % FOLLOWER_RATIO_MAX)
        target("%s: every body complete and identical" % kind, m["complete"], m["complete"], "yes")
    os.makedirs(a.results_dir, exist_ok=True)
    with open(os.path.join(a.results_dir, "serve_miss_last.json"), "w") as f:
        json.dump(out, f, indent=2)
    return 0 if all(t["pass"] for t in out["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
