"""Helpers for `depot daemon` / `depot repo` scenarios: a daemon on a private root and unix
socket (stopped by PID), .debs built with dpkg-deb, the published tree served by `depot serve`,
and apt-get clients (apt_harness.AptClient) with the daemon's signing key."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from apt_harness import AptClient
from depot_harness import DepotTestCase, depot_bin, terminate
from serve_harness import ServeMixin

import make_apt_repo as mar  # noqa: E402

KEY_ID = "archive@depot.test"


class Daemon:
    def __init__(self, root, workdir, gnupghome, *extra):
        self.root, self.workdir = Path(root), Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket = self.workdir / "depot.sock"
        self.gnupghome = gnupghome
        self.extra = [str(e) for e in extra]
        self.proc = None

    def start(self):
        self.log = open(self.workdir / "daemon.log", "ab")
        cmd = [depot_bin(), "daemon", "--root", str(self.root), "--socket", str(self.socket),
               "--signing-key", KEY_ID, "--gnupg-home", str(self.gnupghome), "--arch", "amd64",
               "--workers", "2"] + self.extra
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("depot daemon exited %s: %s" % (self.proc.returncode,
                                                                   self.describe()))
            if self.socket.exists() and self.repo("list", check=False)[0] == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("depot daemon did not start: " + self.describe())

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            terminate(self.proc, timeout=10)
            self.proc = None
        mar.stop_agent(self.gnupghome)

    def describe(self):
        p = self.workdir / "daemon.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def repo(self, *args, check=True, timeout=300):
        """`depot repo ARGS --socket S` (or `depot jobs` when args[0] == "jobs")."""
        cmd = [depot_bin()] + (["jobs"] + list(args[1:]) if args[0] == "jobs" else
                               ["repo"] + list(args))
        cmd += ["--socket", str(self.socket), "--json"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s\n%s" % (" ".join(cmd), p.returncode, out,
                                                             p.stderr.decode(errors="replace"),
                                                             self.describe()))
        try:
            return p.returncode, json.loads(out) if out.strip() else None
        except ValueError:
            return p.returncode, out


class PublishTestCase(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        self.gnupg = self.tmp / "gnupg"
        self.keyring = self.tmp / "archive-key.gpg"
        mar.make_key(self.gnupg, self.keyring)
        self.root = self.tmp / "depot-root"
        self.debs = self.tmp / "debs"
        self.debs.mkdir()
        self.daemon = Daemon(self.root, self.tmp / "daemon", self.gnupg)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        (self.root / "public").mkdir(parents=True, exist_ok=True)
        self.web = self.start_serve(self.root / "public", name="web")

    def deb(self, name, version, extra=""):
        return mar.build_deb(self.debs, name, version, payload=2048, extra=extra)

    def client(self, repo, name=None):
        return AptClient(self.tmp / (name or ("apt-" + repo)), "%s/%s" % (self.web.base, repo),
                         self.keyring, dist=repo)

    def assertAptSees(self, repo, want, name=None):
        """apt-get update + download of every package in `want` {name: version}, from repo."""
        apt = self.client(repo, name)
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update of %s failed:\n%s" % (repo, out))
        ok, out = apt.download(*["%s=%s" % (n, v) for n, v in sorted(want.items())])
        self.assertTrue(ok, "apt-get download from %s failed:\n%s" % (repo, out))
        return apt
