"""Helpers for `depot serve` scenarios (Python 3 stdlib only).

DepotServer starts `depot serve DIR --listen 127.0.0.1:0 --port-file F ...`, waits for the port
and stops the process by PID (SIGTERM, then SIGKILL).  Clients: http.client (`fetch`), and a raw
socket (`raw_exchange`, `read_responses`) for what http.client refuses to send or hides
(malformed requests, pipelining, HEAD framing).  ServeMixin ties servers to a test's cleanup.
"""

import hashlib
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

from depot_harness import depot_bin, terminate

STARTUP_TIMEOUT = 20.0


def sha(data):
    return hashlib.sha256(data).hexdigest()


def call(port, method, path, body=None, token=None, headers=None, timeout=60):
    """(status, headers, body) of one request on a fresh connection; a PUT's body gets its
    X-Depot-Sha256 unless the caller gives one."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None and "X-Depot-Sha256" not in h:
        h["X-Depot-Sha256"] = sha(body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


class DepotServer:
    """One `depot serve` child process; stdout and stderr go to files in workdir."""

    def __init__(self, root, workdir, *args):
        self.root = str(root)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.args = [str(a) for a in args]
        self.proc = None
        self.port = None
        self.listen_port = 0
        self.returncode = None

    def start(self):
        self.port = None
        self.port_file = self.workdir / "depot.port"
        if self.port_file.exists():
            self.port_file.unlink()
        self.out_path = self.workdir / "depot.stdout"
        self.err_path = self.workdir / "depot.stderr"
        self.cmd = self.command()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.port_file.exists():
                text = self.port_file.read_text()
                if text.endswith("\n") and text.strip().isdigit():
                    self.port = int(text.strip())
                    break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("depot did not start: %s" % self.describe())
        self.base = "http://127.0.0.1:%d" % self.port
        return self

    def command(self):
        """The command line; listens on listen_port (0: any free port, the default; set it to
        the last port to restart a server where its clients expect it)."""
        return [depot_bin(), "serve", self.root, "--listen",
                "127.0.0.1:%d" % self.listen_port, "--port-file", str(self.port_file)] + self.args

    def stdout(self):
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def stderr(self):
        return self.err_path.read_text(errors="replace") if self.err_path.exists() else ""

    def describe(self, n=3000):
        err = self.stderr()
        if len(err) > n:
            err = "...[%d chars cut]...\n%s" % (len(err) - n, err[-n:])
        return ("\n$ %s\nexit %s\n--- depot stdout ---\n%s\n--- depot stderr ---\n%s\n"
                % (" ".join(self.cmd), self.proc.poll() if self.proc else self.returncode,
                   self.stdout()[-n:], err))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit status (None if killed)."""
        if self.proc is None:
            return self.returncode
        self.returncode = terminate(self.proc, timeout)
        self.proc = None
        return self.returncode


class Response:
    """A response read by http.client. complete=False when the connection ended before
    Content-Length (or chunked framing) was satisfied; body then holds what arrived."""

    def __init__(self, status, reason, headers, body, complete, error=None):
        self.status, self.reason, self.body = status, reason, body
        self.headers = headers            # http.client.HTTPMessage (case-insensitive get)
        self.complete, self.error = complete, error

    def header(self, name, default=None):
        return self.headers.get(name, default) if self.headers is not None else default

    def __repr__(self):
        hdrs = dict(self.headers.items()) if self.headers is not None else {}
        return ("<%s %s complete=%s len=%d error=%r headers=%s>"
                % (self.status, self.reason, self.complete, len(self.body), self.error, hdrs))


def fetch(base_or_port, path, method="GET", headers=None, timeout=30):
    """One request on a fresh connection. Never raises for HTTP-level outcomes; a connection
    error before the status line gives status None."""
    port = base_or_port if isinstance(base_or_port, int) else \
        int(base_or_port.rsplit(":", 1)[1].strip("/"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            return Response(None, None, None, b"", False, e)
        chunks = []
        complete, error = True, None
        try:
            while True:
                b = r.read(1 << 16)
                if not b:
                    break
                chunks.append(b)
        except http.client.IncompleteRead as e:
            chunks.append(e.partial)
            complete, error = False, e
        except (OSError, http.client.HTTPException) as e:
            complete, error = False, e
        body = b"".join(chunks)
        if complete and method != "HEAD" and r.status not in (204, 304):
            cl = r.getheader("Content-Length")
            if cl is not None and cl.isdigit() and int(cl) != len(body):
                complete = False
        return Response(r.status, r.reason, r.msg, body, complete, error)
    finally:
        conn.close()


def status_line(raw):
    """(status code or None, first line) of a raw response."""
    line = raw.split(b"\r\n", 1)[0]
    m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
    return (int(m.group(1)) if m else None), line


def raw_exchange(port, data, timeout=10.0, shut_wr=False):
    """Sends `data` on a fresh socket and reads until the peer closes or `timeout` s pass
    without new bytes. Returns (bytes received, error or None); a reset after a response
    still returns what arrived."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = bytearray()
    err = None
    try:
        try:
            s.sendall(data)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err = e
        while True:
            try:
                b = s.recv(1 << 16)
            except socket.timeout as e:
                err = err or e
                break
            except OSError as e:
                err = e
                break
            if not b:
                break
            got += b
    finally:
        s.close()
    return bytes(got), err


class RawResponse:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "<raw %s %s len=%d>" % (self.status, self.headers, len(self.body))


def read_responses(buf, methods):
    """Parses consecutive responses from `buf`, one per method in `methods` (HEAD responses
    and 1xx/204/304 have no body). Content-Length framing only. Returns (responses, rest)."""
    out = []
    pos = 0
    for m in methods:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = buf[pos:end].decode("latin-1").split("\r\n")
        st, _ = status_line(head[0].encode("latin-1"))
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        pos = end + 4
        n = 0
        if m != "HEAD" and st not in (204, 304) and not (st is not None and st < 200):
            n = int(headers.get("content-length", "0"))
        out.append(RawResponse(st, headers, buf[pos:pos + n]))
        pos += n
    return out, buf[pos:]


def wait_readable_or_closed(sock, seconds):
    r, _, _ = select.select([sock], [], [], seconds)
    return bool(r)


def parse_prometheus(text):
    """{(name, frozenset(label items)): float} of every sample line; raises ValueError on a
    line that is neither a comment nor a sample."""
    out = {}
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)(\s+-?\d+)?$')
    label = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = sample.match(line)
        if not m:
            raise ValueError("not a Prometheus sample line: %r" % line)
        labels = {}
        rest = m.group(3) or ""
        while rest.strip():
            lm = label.match(rest)
            if not lm:
                raise ValueError("bad labels in %r" % line)
            labels[lm.group(1)] = lm.group(2)
            rest = rest[lm.end():]
        v = m.group(4)
        out[(m.group(1), frozenset(labels.items()))] = float(
            {"+Inf": "inf", "-Inf": "-inf", "NaN": "nan"}.get(v, v))
    return out


def metric(samples, name, **labels):
    """Sum of every sample of `name` whose labels include `labels` (values compared
    case-insensitively); None when there is none."""
    total, seen = 0.0, False
    for (n, ls), v in samples.items():
        if n != name:
            continue
        d = {k: val.lower() for k, val in ls}
        if all(d.get(k) == str(val).lower() for k, val in labels.items()):
            total += v
            seen = True
    return total if seen else None


def media_type(ctype):
    return (ctype or "").split(";", 1)[0].strip().lower()


class ServeMixin:
    """For DepotTestCase subclasses: start_serve() registers the server's stop at cleanup and
    dumps its output when the test fails."""

    def start_serve(self, root, *args, name="serve"):
        Path(root).mkdir(parents=True, exist_ok=True)
        srv = DepotServer(root, self.tmp / name, *args).start()
        self.addCleanup(srv.stop)
        self._serves = getattr(self, "_serves", []) + [srv]
        return srv

    def serve_info(self):
        return "".join(s.describe() for s in getattr(self, "_serves", []))

    def assertCacheHeader(self, r, want, why=""):
        got = r.header("X-Depot-Cache")
        wants = want if isinstance(want, (tuple, list, set)) else (want,)
        self.assertIn(got, wants, "%sX-Depot-Cache %r, expected %s: %r"
                      % (why + ": " if why else "", got, "/".join(wants), r))
