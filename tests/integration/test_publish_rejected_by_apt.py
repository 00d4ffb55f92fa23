"""Hosted repositories published by `depot daemon` must be what the real apt-get accepts
(signed-by the daemon's key, isolated state), through every state change: import, promote with
dependencies, snapshot, pull and rollback; and `apt-get update` running in a loop while the
daemon publishes again and again must never fail (generations switch atomically and the older
ones stay reachable for the grace period)."""

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
        self.assertAptSees("unstable", {"app": "1.0", "libfoo": "1.2", "tool": "0.9"})

        rc, out = d.repo("promote", "stable", "unstable", "app", "--with-deps")
        self.assertEqual(out["state"], "done", out)
        rc, pkgs = d.repo("packages", "stable")
        self.assertEqual(sorted(p["name"] for p in pkgs), ["app", "libfoo"])
        self.assertAptSees("stable", {"app": "1.0", "libfoo": "1.2"}, name="apt-stable-1")

        rc, out = d.repo("snapshot", "stable", "--as", "stable-before")
        self.assertEqual(out["state"], "done", out)
        d.repo("import", "unstable", str(self.deb("app", "2.0", "Depends: libfoo (>= 1.0)\n")))
        rc, out = d.repo("pull", "stable", "unstable")
        self.assertEqual(out["state"], "done", out)
        rc, pkgs = d.repo("packages", "stable")
        self.assertEqual(sorted((p["name"], p["version"]) for p in pkgs),
                         [("app", "2.0"), ("libfoo", "1.2"), ("tool", "0.9")])
        self.assertAptSees("stable", {"app": "2.0"}, name="apt-stable-2")

        rc, out = d.repo("rollback", "stable", "stable-before")
        self.assertEqual(out["state"], "done", out)
        apt = self.assertAptSees("stable", {"app": "1.0"}, name="apt-stable-3")
        rc, out = apt.run("download", "app=2.0")
        self.assertNotEqual(rc, 0, "app 2.0 still offered after the rollback:\n" + out)

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
        self.assertAptSees("live", {"pkg": "11"}, name="apt-live-final")

    def test_kill_during_import_leaves_a_consistent_root(self):
        d = self.daemon
        d.repo("create", "crash")
        files = [str(self.deb("c%02d" % i, "1.0")) for i in range(30)]
        rc, out = d.repo("import", "crash", *files, "--no-wait")
        self.assertEqual(rc, 0, out)
        job = out["job"]
        for _ in range(200):  # kill it while the job runs, or right after
            rc, state = d.repo("jobs", check=False)
            if rc == 0 and any(j["id"] == job and j["state"] != "queued" for j in state):
                break
        d.kill9()
        d.start()  # the job left running is queued again and runs to the end
        for _ in range(600):
            rc, jobs = d.repo("jobs")
            mine = [j for j in jobs if j["id"] == job]
            if mine and mine[0]["state"] in ("done", "failed"):
                break
        self.assertEqual(mine[0]["state"], "done", mine)
        rc, report = d.repo("gc", "--dry-run")
        r = report["result"]
        self.assertEqual((r["refcounts_repaired"], r["missing"]), (0, []), report)
        self.assertAptSees("crash", {"c00": "1.0", "c29": "1.0"})


if __name__ == "__main__":
    unittest.main()
