"""`depot daemon` killed with SIGKILL while a pull or a publish runs must leave, and restart
into, a consistent root: right after the kill the current publication is still a complete one
(never a half-written generation); after the restart the interrupted job is queued again and
finishes, `depot repo gc --dry-run` finds nothing to repair, the database and the published tree
hold the same packages, every file Release names and every Filename of Packages is there with
its size and digests, and apt-get update and install work.

The packages carry a large incompressible control field, and the daemon's cache of compressed
index chunks is emptied before each kill, so that a publication (Packages, .gz, .xz with one
thread, signing) lasts long enough for the kill to land while it runs."""

import base64
import hashlib
import shutil
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from publish_harness import DEB_PAYLOAD, PublishTestCase, mar

COUNT = 200   # packages in the source repository
PAD = 4000    # bytes of X-Notes per package: about 2 MB of Packages to compress
_debs = {}    # (name, version) -> .deb path, built once for the module
_debs_dir = None


def setUpModule():
    global _debs_dir
    _debs_dir = tempfile.TemporaryDirectory(prefix="depot-it-debs-")


def tearDownModule():
    _debs_dir.cleanup()


def notes(name, version):
    """An X-Notes control field of PAD base64 characters (incompressible)."""
    raw = b"".join(hashlib.sha256(b"%s-%s-%d" % (name.encode(), version.encode(), k)).digest()
                   for k in range(PAD // 43 + 1))
    return "X-Notes: %s\n" % base64.b64encode(raw).decode()[:PAD]


def debs(specs):
    """The .deb files of (name, version) pairs, built on first use (two at a time)."""
    todo = [s for s in specs if s not in _debs]

    def build(spec):
        name, version = spec
        work = Path(_debs_dir.name) / ("%s_%s" % spec)
        work.mkdir()
        out = mar.build_deb(work, name, version, payload=DEB_PAYLOAD, extra=notes(name, version))
        return spec, out

    with ThreadPoolExecutor(2) as pool:
        _debs.update(pool.map(build, todo))
    return [str(_debs[s]) for s in specs]


def base_specs():
    return [("p%04d" % i, "1.0") for i in range(COUNT)]


class PublishCrashLeavesInconsistentRoot(PublishTestCase):
    def setUp(self):
        super().setUp()
        d = self.daemon
        for repo in ("src", "dst"):
            d.repo("create", repo)
        rc, out = d.repo("import", "src", *debs(base_specs()))
        self.assertEqual(out["state"], "done", out)

    def kill_during(self, args, delay=None):
        """Submits `depot repo ARGS --no-wait`, then kills the daemon with SIGKILL once the job
        runs (or `delay` seconds after submitting it); checks the current publications as the
        kill left them, then restarts the daemon. Returns (job id, state seen before the kill)."""
        d = self.daemon
        shutil.rmtree(self.root / "cache" / "index-chunks", ignore_errors=True)
        rc, out = d.repo(*args, "--no-wait")
        self.assertEqual(rc, 0, out)
        job = out["job"]
        if delay is None:
            seen = d.wait_job(job, timeout=60, states=("running", "done", "failed"))["state"]
        else:
            time.sleep(delay)
            seen = "after %.3fs" % delay
        d.kill9()
        self.killed_ms = time.time() * 1000
        for repo in ("src", "dst"):
            if (self.root / "public" / repo).exists():
                self.assertPublishedTreeComplete(repo)
        d.start()
        return job, seen

    def assertRecovered(self, job, want):
        """The interrupted job finished after the restart; gc finds nothing to repair; every
        repository in `want` {repo: {name: version}} holds and publishes exactly that."""
        d = self.daemon
        j = d.wait_job(job)
        self.assertEqual(j["state"], "done", "%s\n%s" % (j, d.describe()))
        rc, report = d.repo("gc", "--dry-run")
        r = report["result"]  # blobs_removed counts what the source dropped: garbage
        self.assertEqual((r["refcounts_repaired"], r["missing"], r["strays_removed"]),
                         (0, [], 0), report)
        for repo, pkgs in want.items():
            self.assertEqual(self.daemon.packages(repo), pkgs, repo)
            self.assertEqual(self.assertPublishedTreeComplete(repo), pkgs, repo)
        return j

    def assertRanAgain(self, j, seen):
        """A job seen running before the kill was queued again at the restart (attempts 2),
        unless it finished in the moment between that look and the kill: then its one run
        ended before the kill."""
        if seen != "running":
            return
        if j["attempts"] == 1:
            self.assertLessEqual(j["created_ms"] + j["duration_ms"], self.killed_ms, j)
        else:
            self.assertEqual(j["attempts"], 2, j)

    def assertInstallable(self, repo, names, client):
        want = {n: self.daemon.packages(repo)[n] for n in names}
        self.assertAptInstalls(self.client(repo, client), want)

    def test_kill_during_pull(self):
        base = dict(base_specs())
        job, seen = self.kill_during(["pull", "dst", "src"])
        j = self.assertRecovered(job, {"src": base, "dst": base})
        self.assertRanAgain(j, seen)
        self.assertInstallable("dst", ["p0000", "p0199"], "apt-dst")

    def test_kill_during_publish(self):
        base = dict(base_specs())
        rc, out = self.daemon.repo("pull", "dst", "src")
        self.assertEqual(out["state"], "done", out)
        apt = self.assertAptInstalls(self.client("dst"), {"p0001": "1.0"})
        job, seen = self.kill_during(["publish", "dst"])
        j = self.assertRecovered(job, {"src": base, "dst": base})
        self.assertRanAgain(j, seen)
        self.assertAptInstalls(apt, {"p0002": "1.0", "p0150": "1.0"})

    def test_kill_at_several_delays(self):
        """Pull and publish alternately, each killed at a growing delay after it was queued,
        while the source keeps changing (two packages get a new version before each round)."""
        d = self.daemon
        dst = {}
        delays = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45]
        for i, delay in enumerate(delays):
            bumped = [("p%04d" % (2 * i + k), "2.%d" % i) for k in range(2)]
            rc, out = d.repo("import", "src", *debs(bumped))
            self.assertEqual(out["state"], "done", out)
            src = self.daemon.packages("src")
            args = ["pull", "dst", "src"] if i % 2 == 0 else ["publish", "dst"]
            job, seen = self.kill_during(args, delay=delay)
            if args[0] == "pull":
                dst = src
            self.assertRecovered(job, {"src": src, "dst": dst})
        self.assertInstallable("dst", ["p0000", "p0003", "p0100"], "apt-dst")
        self.assertInstallable("src", ["p0014", "p0015"], "apt-src")


if __name__ == "__main__":
    unittest.main()
