"""Real clients reading through a gateway: a signed apt archive and a PyPI index uploaded into
the cluster, and client threads (apt-get, pip, curl, ranged GETs) that each loop on rounds and
record every round's start, end and error.

pip reads the simple index through the gateway (`--index-url http://GW/pypi/simple/`): a
directory URL is answered with its index.html."""

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from cluster_harness import CLIENTS, call, sha
from apt_harness import DIST, AptClient
from pypi_harness import pip_env

import make_apt_repo as mar  # noqa: E402  (depot_harness put FIXTURES on sys.path)
import make_pypi_index as mpi  # noqa: E402

WRITER = CLIENTS["writer"][0]
APT_PREFIX, PYPI_PREFIX = "debian", "pypi"


def put_file(gw, path, body):
    st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
    assert st == 201, (path, st, raw)


def upload_tree(gw, root, prefix):
    """PUTs every file under root to /<prefix>/<its path below root>; returns how many."""
    files = [p for p in Path(root).rglob("*") if p.is_file()]
    for p in files:
        put_file(gw, "%s/%s" % (prefix, p.relative_to(root).as_posix()), p.read_bytes())
    return len(files)


def build_apt(tmp, count=6, payload=100000):
    """A signed archive under tmp/apt-up; returns (root, keyring, {deb name: sha256})."""
    root, gnupg, keyring = tmp / "apt-up", tmp / "apt-gnupg", tmp / "apt-key.gpg"
    mar.make_key(gnupg, keyring)
    pkgs = [("pkg%04d" % i, "1.0", "amd64") for i in range(count)]
    mar.add_packages(root, pkgs, payload=payload)
    mar.publish(root, DIST, gnupg)
    debs = {os.path.basename(p): d for p, d in mar.expected_pool(root).items()}
    return root, keyring, debs


def build_pypi(tmp):
    """The fixture index under tmp/pypi-up; returns (root, {wheel name: sha256}) of the wheels
    pip picks from it (yanked ones left out)."""
    root = tmp / "pypi-up"
    index = mpi.generate(str(root))
    wheels = {f["filename"]: f for files in index.values() for f in files if not f["yanked"]}
    return root, {n: f["sha256"] for n, f in wheels.items()}


def sha_file(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


class Client:
    """One thread calling `step(i)` for rounds i = 0, 1, ... until stop is set, `pause` seconds
    apart; a step returns None or an error text (an exception counts as one). `rounds` is
    appended by that thread only: (start, end, error) on time.monotonic()."""

    def __init__(self, kind, step, stop, pause=0.0):
        self.kind, self.step, self.stop, self.pause = kind, step, stop, pause
        self.rounds = []
        self.thread = threading.Thread(target=self._loop, name=kind, daemon=True)

    def _loop(self):
        i = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                err = self.step(i)
            except Exception as e:  # noqa: BLE001 - every failure counts
                err = repr(e)
            self.rounds.append((t0, time.monotonic(), err))
            i += 1
            self.stop.wait(self.pause)

    def done_since(self, t):
        """Whether a round that started at or after t has ended."""
        return any(r[0] >= t for r in list(self.rounds))

    def errors(self):
        return [(self.kind, i, r[2]) for i, r in enumerate(list(self.rounds)) if r[2]]


def apt_step(gw, workdir, keyring, debs):
    """apt-get update, then download two packages (another pair each round) and check their
    sha256 against the archive's."""
    apt = AptClient(workdir, "%s/%s" % (gw.base, APT_PREFIX), keyring)
    names = sorted(debs)

    def step(i):
        ok, out = apt.update()
        if not ok:
            return "apt-get update failed:\n" + out
        pick = [names[(2 * i + j) % len(names)] for j in (0, 1)]
        ok, out = apt.download(*[n.split("_")[0] for n in pick])
        if not ok:
            return "apt-get download failed:\n" + out
        for n in pick:
            p = apt.root / "download" / n
            got = sha_file(p) if p.is_file() else None
            if got != debs[n]:
                return "%s: sha256 %s, want %s\n%s" % (n, got, debs[n], out)
            p.unlink()
        return None
    return step


def pip_step(gw, workdir, wheels):
    """pip download of every project into a fresh dir, from the simple index, without
    retries; checks each wheel's sha256."""
    index = "%s/%s/simple/" % (gw.base, PYPI_PREFIX)
    want = wheels

    def step(i):
        dest = Path(workdir) / ("round-%d" % i)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--index-url", index, "--retries", "0", "--timeout", "30", "-d", str(dest),
               "--no-cache-dir", "--disable-pip-version-check",
               "tiny-alpha", "Tiny_Beta", "tiny.gamma"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, env=pip_env(), timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            return "pip download failed (%d):\n%s" % (p.returncode, out)
        got = {f.name: sha_file(f) for f in dest.iterdir()}
        shutil.rmtree(dest)
        return None if got == want else "pip got %s, want %s\n%s" % (got, want, out)
    return step


def curl_step(gw, files, k):
    paths = sorted(files)

    def step(i):
        path = paths[(k + i) % len(paths)]
        out = subprocess.run(["curl", "-sf", gw.base + "/" + path], capture_output=True,
                             timeout=60)
        if out.returncode != 0 or sha(out.stdout) != sha(files[path]):
            return "curl %s: exit %d, %d bytes" % (path, out.returncode, len(out.stdout))
        return None
    return step


def ranged_step(gw, files, k):
    paths = sorted(files)

    def step(i):
        path = paths[(k + 3 * i) % len(paths)]
        start = 1000 * (1 + (i % 50))
        st, _, body = call(gw.port, "GET", "/" + path,
                           headers={"Range": "bytes=%d-" % start})
        if st != 206 or body != files[path][start:]:
            return "GET %s from %d: %d, %d bytes" % (path, start, st, len(body))
        return None
    return step
