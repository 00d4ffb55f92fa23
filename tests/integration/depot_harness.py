"""Shared helpers for depot integration scenarios (Python 3 stdlib only).

Each test case gets its own temp dir and its own fault_server.py on 127.0.0.1 port 0,
stopped by PID at cleanup.  The binary under test is $DEPOT_BIN (default <repo>/build/depot).

Layout per test:  <tmp>/upstream/<channel>/<subdir>/...   served by the fault server
                  <tmp>/ws/mirror/                         the mirror directory
                  <tmp>/ws/outside/                        must stay empty (hostile-path target)
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = REPO / "tests" / "fixtures"
sys.path.insert(0, str(FIXTURES))

import make_conda_channel as mcc  # noqa: E402

INDEX_NAMES = ("repodata.json", "repodata.json.bz2", "repodata.json.zst",
               "current_repodata.json")
# index-like files a mirror may ask for without downloading any package
INDEX_LIKE = INDEX_NAMES + ("channeldata.json", "repodata_from_packages.json",
                            "current_repodata.json.bz2", "current_repodata.json.zst")


def run_captured(cmd, env, timeout, cwd=None):
    """Runs a client to completion: (returncode or "TIMEOUT", stdout, stderr) as text, stdin
    closed; on timeout the output so far, with a note."""
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
            "utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return "TIMEOUT", (e.stdout or b"").decode("utf-8", "replace"), (
            (e.stderr or b"").decode("utf-8", "replace") + "\n[timed out after %ds]" % timeout)


def depot_bin():
    return os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")


def sha256_file(path):
    return mcc.sha256_file(path)


def is_index_path(path):
    return path.rsplit("/", 1)[-1] in INDEX_LIKE


def is_package_path(path):
    return path.endswith(".tar.bz2") or path.endswith(".conda")


def terminate(proc, timeout=5):
    """Ends a child we started, by its PID: SIGTERM, then SIGKILL after `timeout` s.
    Returns its exit status, or None when it had to be killed (or `proc` is None)."""
    if proc is None:
        return None
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        return None


class FaultServer:
    """A fault_server.py child process.  Stopped by its PID only."""

    def __init__(self, root, workdir, rules=None):
        self.root = str(root)
        self.workdir = str(workdir)
        self.rules_file = None
        if rules is not None:
            self.rules_file = os.path.join(self.workdir, "rules.json")
            with open(self.rules_file, "w") as f:
                json.dump(rules, f)
        self.proc = None
        self.port = None

    def start(self):
        port_file = os.path.join(self.workdir, "server.port")
        self.stderr = open(os.path.join(self.workdir, "server.stderr"), "wb")
        cmd = [sys.executable, str(FIXTURES / "fault_server.py"), "--root", self.root,
               "--port-file", port_file]
        if self.rules_file:
            cmd += ["--rules", self.rules_file]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("fault server did not start (got %r)" % line)
        self.port = int(line)
        self.base = "http://127.0.0.1:%d" % self.port
        return self

    def stop(self):
        if self.proc is None:
            return
        terminate(self.proc)
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None

    # -- control API ---------------------------------------------------------------------
    def _call(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def set_rules(self, rules):
        return self._call("POST", "/__control", {"rules": rules})

    def add_rules(self, rules):
        return self._call("POST", "/__control", {"add": rules})

    def clear_rules(self):
        return self._call("POST", "/__control", {"clear": True})

    def rules(self):
        return self._call("GET", "/__control")["rules"]

    def log(self):
        return self._call("GET", "/__log")

    def clear_log(self):
        return self._call("DELETE", "/__log")


class Result:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed

    @property
    def text(self):
        return self.out + "\n" + self.err

    def __str__(self):
        def tail(s, n=4000):
            return s if len(s) <= n else "...[%d chars cut]...\n%s" % (len(s) - n, s[-n:])
        return ("\n$ %s\nexit %s after %.2fs\n--- stdout ---\n%s\n--- stderr ---\n%s\n"
                % (" ".join(shlex.quote(c) for c in self.cmd), self.rc, self.elapsed,
                   tail(self.out), tail(self.err)))


class DepotTestCase(unittest.TestCase):
    CHANNEL = "conda-forge"
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="depot-it-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = Path(self._tmp.name)
        self.up = self.tmp / "upstream"
        self.ws = self.tmp / "ws"
        self.mirror = self.ws / "mirror"
        self.outside = self.ws / "outside"
        for d in (self.up, self.ws, self.outside):
            d.mkdir(parents=True)
        self.known = {}          # (subdir, name) -> set of sha256 ever offered upstream
        self.server = FaultServer(self.up, self.tmp).start()
        self.addCleanup(self.server.stop)
        self.mirror_server = None
        binary = depot_bin()
        if not os.access(binary, os.X_OK):
            self.fail("depot binary not found at %s (set DEPOT_BIN)" % binary)

    # -- fixtures ------------------------------------------------------------------------
    def gen(self, subdir="noarch", **kw):
        r = mcc.generate(str(self.up), self.CHANNEL, subdir, **kw)
        self._remember(subdir)
        return r

    def next_gen(self, subdir="noarch", **kw):
        r = mcc.next_generation(str(self.up), self.CHANNEL, subdir, **kw)
        self._remember(subdir)
        return r

    def _remember(self, subdir):
        for name, sha in self.expected(subdir).items():
            self.known.setdefault((subdir, name), set()).add(sha)

    def expected(self, subdir="noarch"):
        return mcc.expected_files(str(self.up), self.CHANNEL, subdir)

    def updir(self, subdir="noarch"):
        return self.up / self.CHANNEL / subdir

    def url(self, subdir="noarch"):
        return "%s/%s/%s" % (self.server.base, self.CHANNEL, subdir)

    def channel_url(self):
        return "%s/%s" % (self.server.base, self.CHANNEL)

    # -- running depot -------------------------------------------------------------------
    def depot(self, *args, timeout=120):
        cmd = [depot_bin()] + [str(a) for a in args]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            res = Result(cmd, "TIMEOUT", (e.stdout or b"").decode("utf-8", "replace"),
                         (e.stderr or b"").decode("utf-8", "replace"), timeout)
            self.fail("depot did not finish within %ds%s" % (timeout, res))
        return Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)

    def mirror_conda(self, *extra, url=None, dest=None, timeout=120):
        return self.depot("mirror", "conda", url or self.url(), dest or self.mirror, *extra,
                          timeout=timeout)

    def establish_good_mirror(self, count=8):
        """A complete first mirror of a fresh channel; remembers its index and tree."""
        self.gen(count=count, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        self.good = mcc.read_repodata(self.updir())
        self.baseline = self.tree(self.mirror)

    def assertExit(self, res, code, why=""):
        codes = code if isinstance(code, (tuple, list, set)) else (code,)
        self.assertIn(res.rc, codes, "%sexpected exit %s%s" % (why + ": " if why else "", code, res))

    def assertSummary(self, res):
        """A final summary line is always printed on stdout."""
        lines = [l for l in res.out.splitlines() if l.strip()]
        self.assertTrue(lines, "no summary line on stdout%s" % res)

    def serve_mirror(self):
        """The mirror directory served by its own fault_server.py (a plain static server with a
        request log), started on first use."""
        if self.mirror_server is None:
            wd = self.tmp / "mirror-server"
            wd.mkdir(exist_ok=True)
            self.mirror_server = FaultServer(self.mirror, wd).start()
            self.addCleanup(self.mirror_server.stop)
        return self.mirror_server

    # -- inspecting the mirror -----------------------------------------------------------
    @staticmethod
    def tree(root):
        """{relative path: sha256} of every file under root, skipping any .depot dir."""
        out = {}
        root = str(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".depot"]
            for fn in filenames:
                p = os.path.join(dirpath, fn)
                out[os.path.relpath(p, root)] = sha256_file(p)
        return out

    @staticmethod
    def all_paths(root):
        """Every path (files, dirs, symlinks) under root, relative, including .depot."""
        out = set()
        for dirpath, dirnames, filenames in os.walk(str(root)):
            for n in dirnames + filenames:
                out.add(os.path.relpath(os.path.join(dirpath, n), str(root)))
        return out

    def assertMirrorEqualsUpstream(self, subdir="noarch", mirror=None, res=None):
        mirror = Path(mirror or self.mirror)
        got = self.tree(mirror)
        want = self.expected(subdir)
        extra = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        wrong = sorted(n for n in set(got) & set(want) if got[n] != want[n])
        self.assertFalse(extra or missing or wrong,
                         "mirror %s != upstream %s\n extra: %s\n missing: %s\n wrong sha256: %s%s"
                         % (mirror, subdir, extra[:20], missing[:20], wrong[:20], res or ""))

    def assertNoDebris(self, subdir="noarch", mirror=None, res=None):
        """Every file outside .depot is something upstream offered (same name, same sha256)."""
        mirror = Path(mirror or self.mirror)
        bad = []
        for name, sha in self.tree(mirror).items():
            if sha not in self.known.get((subdir, name), set()):
                bad.append(name)
        self.assertFalse(bad, "files in the mirror upstream never offered: %s%s"
                         % (sorted(bad)[:20], res or ""))

    def assertConsistent(self, mirror=None, res=None):
        """The published index never names a file the mirror lacks (or holds wrongly)."""
        mirror = Path(mirror or self.mirror)
        idx = mirror / "repodata.json"
        if not idx.exists():
            return
        repodata = json.loads(idx.read_bytes())
        problems = []
        for key in ("packages", "packages.conda"):
            for fn, e in repodata.get(key, {}).items():
                p = mirror / fn
                if not p.is_file():
                    problems.append("missing " + fn)
                elif p.stat().st_size != e["size"] or sha256_file(p) != e["sha256"]:
                    problems.append("wrong content " + fn)
        self.assertFalse(problems, "published repodata.json names files the mirror lacks: %s%s"
                         % (problems[:20], res or ""))

    def assertTmpEmpty(self, mirror=None, res=None):
        tmp = Path(mirror or self.mirror) / ".depot" / "tmp"
        left = [str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.is_dir()] \
            if tmp.exists() else []
        self.assertFalse(left, "temp files left in .depot/tmp after a complete run: %s%s"
                         % (left[:20], res or ""))

    # -- server log helpers ----------------------------------------------------------------
    def package_gets(self, log=None):
        log = self.server.log() if log is None else log
        return [e for e in log if e["method"] == "GET" and is_package_path(e["path"])]

    def non_index_requests(self, log=None):
        log = self.server.log() if log is None else log
        return [e for e in log if not is_index_path(e["path"])]


def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()
