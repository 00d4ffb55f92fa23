"""A real Ceph RADOS Gateway on loopback for S3 scenarios (Python 3 stdlib + Debian's ceph-mon,
ceph-osd, radosgw, curl).

Rgw(workdir).start() brings up one monitor, one OSD (memstore) and radosgw (beast, tcp_nodelay)
on 127.0.0.1 with free ports, as the calling user, everything under `workdir`; stop() ends them
by PID (radosgw, then the OSD, which saves memstore on a clean stop, then the monitor).
stop_rgw()/start_rgw() restart the gateway alone ("endpoint down mid-run").

Facts this relies on (Ceph 16.2): auth none needs `ms mon client mode = crc` and
`ms client mode = crc` or radosgw cannot fetch its config; `paxos propose interval = 0.05` cuts
start-up from ~13 s to ~2 s; without `tcp_nodelay=1` every small request takes ~45 ms; RGW accepts
any region string in the SigV4 credential scope; the SigV4 payload hash must be sent as
x-amz-content-sha256 (curl 7.88 signs with it but does not add it).
"""

import hashlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from depot_harness import terminate

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RgwError(RuntimeError):
    pass


class S3User:
    def __init__(self, uid, access_key, secret_key):
        self.uid, self.access_key, self.secret_key = uid, access_key, secret_key


class Rgw:
    """One-node Ceph cluster + radosgw. Not thread-safe; one instance per test class or case."""

    START_TIMEOUT = 120  # seconds; a loaded 2-core machine can be slow

    def __init__(self, workdir, memstore_bytes=4 << 30):
        self.dir = Path(workdir).resolve()
        self.memstore_bytes = memstore_bytes
        self.region = "us-east-1"  # any string works with RGW; this is the client default
        self.user = S3User("depot", "DEPOTTESTACCESSKEY01", "depot-test-secret-key-0001")
        self.mon_port = self.rgw_port = None
        self.procs = {}
        self.start_seconds = None

    # -- life cycle ------------------------------------------------------------------------
    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.rgw_port

    @property
    def access_key(self):
        return self.user.access_key

    @property
    def secret_key(self):
        return self.user.secret_key

    def start(self):
        t0 = time.monotonic()
        for sub in ("mon/mon.a", "osd/osd.0", "run", "log", "rgw", "crash"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.mon_port, self.rgw_port = free_port(), free_port()
        self._write_conf()
        try:
            self._start_mon()
            self._start_osd()
            self.start_rgw()
            self._admin("user", "create", "--uid", self.user.uid, "--display-name",
                        self.user.uid, "--access-key", self.access_key,
                        "--secret-key", self.secret_key)
        except Exception:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self):
        self.stop_rgw()
        terminate(self.procs.pop("osd", None), timeout=30)
        terminate(self.procs.pop("mon", None), timeout=10)

    def stop_rgw(self):
        # radosgw keeps no state of its own, and a clean stop takes ~5 s: SIGKILL at once.
        proc = self.procs.pop("rgw", None)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def start_rgw(self):
        self.procs["rgw"] = self._spawn("rgw", ["radosgw", "-f", "-n", "client.rgw"])
        self._wait_rgw()

    def rss_kib(self):
        """Resident memory of the three daemons together, KiB."""
        return sum(rss_kib(p.pid) for p in self.procs.values() if p.poll() is None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- users, buckets, requests -----------------------------------------------------------
    def add_user(self, uid, quota_bytes=None):
        """Another user with its own keys; `quota_bytes` sets an enforced user quota."""
        user = S3User(uid, ("%s-ak" % uid).upper()[:20].ljust(20, "X"), "%s-secret-key" % uid)
        self._admin("user", "create", "--uid", uid, "--display-name", uid,
                    "--access-key", user.access_key, "--secret-key", user.secret_key)
        if quota_bytes is not None:
            self.set_quota(user, quota_bytes)
        return user

    def set_quota(self, user, quota_bytes):
        """An enforced user quota of `quota_bytes` (RGW counts each object rounded up to
        4 KiB); None disables it."""
        if quota_bytes is None:
            self._admin("quota", "disable", "--quota-scope=user", "--uid", user.uid)
            return
        self._admin("quota", "set", "--quota-scope=user", "--uid", user.uid,
                    "--max-size", str(quota_bytes))
        self._admin("quota", "enable", "--quota-scope=user", "--uid", user.uid)

    def make_read_only(self, user):
        """Drops write and delete from `user`'s op mask, so its writes fail AccessDenied (do it
        after creating its buckets)."""
        self._admin("user", "modify", "--uid", user.uid, "--op-mask", "read")

    def make_writable(self, user):
        """Undoes make_read_only (RGW's default op mask)."""
        self._admin("user", "modify", "--uid", user.uid, "--op-mask", "read, write, delete")

    def create_bucket(self, name, user=None):
        status, body = self.request("PUT", "/" + name, user=user)
        if status != 200:
            raise RgwError("create bucket %s: HTTP %s %s" % (name, status, body[:300]))

    def request(self, method, path, data=b"", user=None, headers=()):
        """One signed S3 request through the curl CLI (--aws-sigv4): (status, body bytes)."""
        user = user or self.user
        cmd = ["curl", "-sS", "-X", method, "--aws-sigv4", "aws:amz:%s:s3" % self.region,
               "--user", "%s:%s" % (user.access_key, user.secret_key),
               "-H", "x-amz-content-sha256: " + hashlib.sha256(data).hexdigest(),
               "-o", "-", "-w", "\n%{http_code}"]
        for h in headers:
            cmd += ["-H", h]
        if data:
            cmd += ["--data-binary", "@-"]
        p = subprocess.run(cmd + [self.endpoint + path], input=data, capture_output=True,
                           timeout=60)
        out, _, code = p.stdout.rpartition(b"\n")
        return int(code or b"0"), out

    def head(self, path, user=None):
        """A signed HEAD through the curl CLI: (status, {lower-case header name: value})."""
        user = user or self.user
        cmd = ["curl", "-sS", "-I", "--aws-sigv4", "aws:amz:%s:s3" % self.region,
               "--user", "%s:%s" % (user.access_key, user.secret_key),
               "-H", "x-amz-content-sha256: " + hashlib.sha256(b"").hexdigest(),
               self.endpoint + path]
        lines = subprocess.run(cmd, capture_output=True, timeout=60).stdout.decode(
            "latin-1").splitlines()
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return status, headers

    # -- internals ---------------------------------------------------------------------------
    def _write_conf(self):
        d = self.dir
        conf = """[global]
fsid = %(fsid)s
mon host = v2:127.0.0.1:%(mon)d
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc
ms client mode = crc
ms bind msgr1 = false
run dir = %(d)s/run
admin socket = %(d)s/run/$name.asok
log file = %(d)s/log/$name.log
crash dir = %(d)s/crash
keyring = /dev/null
mon data = %(d)s/mon/$name
osd data = %(d)s/osd/$name
osd objectstore = memstore
memstore device bytes = %(mem)d
osd fast shutdown = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:%(rgw)d tcp_nodelay=1
rgw data = %(d)s/rgw
rgw thread pool size = 64
rgw bucket quota ttl = 0
rgw user quota bucket sync interval = 0
rgw user quota sync interval = 0
""" % {"fsid": uuid.uuid4(), "mon": self.mon_port, "rgw": self.rgw_port, "d": d,
       "mem": self.memstore_bytes}
        (d / "ceph.conf").write_text(conf)

    def _env(self):
        env = dict(os.environ)
        env["CEPH_CONF"] = str(self.dir / "ceph.conf")
        return env

    def _run(self, cmd, timeout=60):
        p = subprocess.run(cmd, env=self._env(), capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise RgwError("%s: exit %d\n%s\n%s" % (" ".join(cmd), p.returncode,
                                                    p.stderr.decode(errors="replace")[-2000:],
                                                    self.log_tails()))
        return p.stdout.decode(errors="replace")

    def _admin(self, *args):
        return self._run(["radosgw-admin", "-n", "client.admin"] + list(args))

    def _spawn(self, name, cmd):
        out = open(self.dir / "log" / (name + ".out"), "ab")
        try:
            return subprocess.Popen(cmd + ["-c", str(self.dir / "ceph.conf")], env=self._env(),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        finally:
            out.close()

    def _start_mon(self):
        fsid = next(line.split("=", 1)[1].strip() for line in
                    (self.dir / "ceph.conf").read_text().splitlines()
                    if line.startswith("fsid"))
        monmap = str(self.dir / "monmap")
        self._run(["monmaptool", "--create", "--clobber", "--fsid", fsid, "--addv", "a",
                   "[v2:127.0.0.1:%d]" % self.mon_port, monmap])
        self._run(["ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap])
        self.procs["mon"] = self._spawn("mon", ["ceph-mon", "-f", "-i", "a"])

    def _start_osd(self):
        osd_uuid = str(uuid.uuid4())
        # Waits for the monitor to answer (the CLI retries until --connect-timeout).
        self._run(["ceph", "--connect-timeout", str(self.START_TIMEOUT), "osd", "new",
                   osd_uuid, "0"], timeout=self.START_TIMEOUT + 10)
        self._run(["ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid])
        self.procs["osd"] = self._spawn("osd", ["ceph-osd", "-f", "-i", "0"])

    def _wait_rgw(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        while True:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RgwError("%s exited with %s while radosgw started\n%s" %
                                   (name, p.returncode, self.log_tails()))
            try:
                req = urllib.request.Request(self.endpoint + "/", method="HEAD")
                with urllib.request.urlopen(req, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer: the gateway is serving
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RgwError("radosgw did not answer on %s within %d s\n%s" %
                               (self.endpoint, self.START_TIMEOUT, self.log_tails()))
            time.sleep(0.05)

    def log_tails(self, lines=15):
        parts = []
        for log in sorted((self.dir / "log").glob("*")):
            try:
                tail = log.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append("--- %s\n%s" % (log.name, "\n".join(tail)))
        return "\n".join(parts)


if __name__ == "__main__":
    # By hand: python3 rgw_harness.py  -> start, measure, stop.
    import tempfile
    with tempfile.TemporaryDirectory(prefix="rgw-") as tmp:
        rgw = Rgw(tmp).start()
        try:
            time.sleep(2)
            print("endpoint %s start %.2f s idle RSS %.0f MB" %
                  (rgw.endpoint, rgw.start_seconds, rgw.rss_kib() / 1024))
        finally:
            t = time.monotonic()
            rgw.stop()
            print("stop %.2f s" % (time.monotonic() - t))
