"""Hosted repositories published by `depot daemon` must be what the real apt-get accepts and
installs (signed-by the daemon's key, isolated state, dpkg into a private root), through every
state change: import, promote with dependencies, snapshot, pull (an upgrade) and rollback (a
downgrade, and the rolled-back version no longer installable); `apt-get update` running in a
loop while the daemon publishes again and again must never fail (generations switch atomically
and the older ones stay reachable for the grace period), and must see each new publication."""

import threading
import unittest

from publish_harness import PublishTestCase


class PublishRejectedByApt(PublishTestCase):
    def test_import_promote_snapshot_pull_rollback(self):
        d = self.daemon
        d.repo("create", "unstable")
        d.repo("create", "stable")
        files = [self.deb("app", "1.0", "Depends: libfoo (>= 1.0) | libbar\n"),
                 self.deb("libfoo", "1.2"), self.deb("tool", "0.9")]
        rc, out = d.repo("import", "unstable", *map(str, files))
        self.assertEqual(out["state"], "done", out)
        self.assertAptInstalls(self.client("unstable"),
                               {"app": "1.0", "libfoo": "1.2", "tool": "0.9"})

        rc, out = d.repo("promote", "stable", "unstable", "app", "--with-deps")
        self.assertEqual(out["state"], "done", out)
        rc, pkgs = d.repo("packages", "stable")
        self.assertEqual(sorted(p["name"] for p in pkgs), ["app", "libfoo"])
        self.assertEqual(self.assertPublishedTreeComplete("stable"),
                         {"app": "1.0", "libfoo": "1.2"})
        apt = self.assertAptInstalls(self.client("stable"), {"app": "1.0"})
        self.assertEqual(apt.installed(), {"app": "1.0", "libfoo": "1.2"})  # the dependency too

        rc, out = d.repo("snapshot", "stable", "--as", "stable-before")
        self.assertEqual(out["state"], "done", out)
        d.repo("import", "unstable", str(self.deb("app", "2.0", "Depends: libfoo (>= 1.0)\n")))
        rc, out = d.repo("pull", "stable", "unstable")
        self.assertEqual(out["state"], "done", out)
        rc, pkgs = d.repo("packages", "stable")
        self.assertEqual(sorted((p["name"], p["version"]) for p in pkgs),
                         [("app", "2.0"), ("libfoo", "1.2"), ("tool", "0.9")])
        self.assertEqual(self.assertPublishedTreeComplete("stable"),
                         {"app": "2.0", "libfoo": "1.2", "tool": "0.9"})
        self.assertAptInstalls(apt, {"app": "2.0", "tool": "0.9"})  # an upgrade of app

        rc, out = d.repo("rollback", "stable", "stable-before")
        self.assertEqual(out["state"], "done", out)
        self.assertEqual(self.assertPublishedTreeComplete("stable"),
                         {"app": "1.0", "libfoo": "1.2"})
        self.assertAptInstalls(apt, {"app": "1.0"}, downgrade=True)
        fresh = self.assertAptInstalls(self.client("stable", "apt-stable-fresh"), {"app": "1.0"})
        ok, out = fresh.install("app=2.0")
        self.assertFalse(ok, "app 2.0 still installable after the rollback:\n" + out)
        self.assertEqual(fresh.installed(), {"app": "1.0", "libfoo": "1.2"})

        rc, jobs = d.repo("jobs")
        self.assertTrue(all(j["state"] == "done" for j in jobs), jobs)
        rc, report = d.repo("gc", "--dry-run")
        self.assertTrue(report["result"]["clean"], report)

    def test_apt_update_never_fails_while_publishing(self):
        d = self.daemon
        d.repo("create", "live")
        d.repo("import", "live", str(self.deb("pkg", "1")))
        apt = self.client("live")
        ok, out = apt.update()
        self.assertTrue(ok, out)
        failures, stop = [], threading.Event()

        def loop():
            while not stop.is_set():
                ok, out = apt.update()
                if not ok:
                    failures.append(out)

        t = threading.Thread(target=loop)
        t.start()
        try:
            for v in range(2, 12):
                d.repo("import", "live", str(self.deb("pkg", str(v))))
        finally:
            stop.set()
            t.join(timeout=120)
        self.assertEqual(failures, [], "apt-get update failed during publishing:\n%s"
                         % "\n----\n".join(failures[:3]))
        self.assertAptInstalls(apt, {"pkg": "11"})

    def test_update_right_after_publish_sees_it(self):
        """apt-get update sends If-Modified-Since: <Last-Modified of its InRelease> (one-second
        resolution); an InRelease published again within that second, of the same size, must
        not be answered 304 (nor match its ETag), or the client keeps the old one until the next
        publication in a later second."""
        d = self.daemon
        d.repo("create", "quick")
        d.repo("import", "quick", str(self.deb("pkg", "10")))
        apt = self.client("quick")
        public = self.root / "public" / "quick" / "dists" / "quick" / "InRelease"
        stale = []
        for v in range(11, 16):
            ok, out = apt.update()
            self.assertTrue(ok, out)
            d.repo("import", "quick", str(self.deb("pkg", str(v))))
            ok, out = apt.update()
            self.assertTrue(ok, out)
            got = next((apt.root / "var/lib/apt/lists").glob("*_InRelease")).read_bytes()
            if got != public.read_bytes():
                stale.append(v)
        self.assertEqual(stale, [], "apt-get update kept the InRelease before these versions")

    def test_kill_during_import_leaves_a_consistent_root(self):
        d = self.daemon
        d.repo("create", "crash")
        files = [str(self.deb("c%02d" % i, "1.0")) for i in range(30)]
        rc, out = d.repo("import", "crash", *files, "--no-wait")
        self.assertEqual(rc, 0, out)
        job = out["job"]
        # Kill it while the job runs, or right after.
        d.wait_job(job, states=("running", "done", "failed"))
        d.kill9()
        d.start()  # the job left running is queued again and runs to the end
        mine = d.wait_job(job)
        self.assertEqual(mine["state"], "done", mine)
        rc, report = d.repo("gc", "--dry-run")
        r = report["result"]
        self.assertEqual((r["refcounts_repaired"], r["missing"]), (0, []), report)
        self.assertEqual(len(self.assertPublishedTreeComplete("crash")), 30)
        self.assertAptInstalls(self.client("crash"), {"c00": "1.0", "c29": "1.0"})


if __name__ == "__main__":
    unittest.main()
