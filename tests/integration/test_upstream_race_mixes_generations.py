"""Proves impossible: an upstream that publishes a new generation while depot is mid-run
(packages of the generation being mirrored vanish) leading to a mirror that mixes two index
generations or names missing files; and two depot runs on one directory interleaving."""

import bz2
import json
import os
import signal
import subprocess
import time
import unittest

from depot_harness import DepotTestCase, depot_bin, mcc, read_bytes

SLOW = 20000


class UpstreamRaceMixesGenerations(DepotTestCase):
    def start_depot(self, name="a", *extra):
        out = open(self.tmp / ("depot-%s.out" % name), "wb")
        err = open(self.tmp / ("depot-%s.err" % name), "wb")
        cmd = [depot_bin(), "mirror", "conda", self.url(), str(self.mirror), "--concurrency", "2",
               "--retries", "1"] + list(extra)
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        self.addCleanup(self._reap, proc)
        return proc

    def output(self, name):
        return ((self.tmp / ("depot-%s.out" % name)).read_text(errors="replace") + "\n" +
                (self.tmp / ("depot-%s.err" % name)).read_text(errors="replace"))

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def wait_for(self, cond, limit=15.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        return False

    def packages_done(self):
        return sum(1 for e in self.server.log() if e["method"] == "GET" and e["status"] == 200
                   and e["path"].endswith((".conda", ".tar.bz2")))

    def test_packages_vanish_mid_run(self):
        self.gen(count=10, min_size=1000, max_size=4000, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        gen1_index = read_bytes(self.mirror / "repodata.json")
        _, added, _ = self.next_gen(add=12, remove=2, min_size=15000, max_size=25000)
        gen2_index = read_bytes(self.updir() / "repodata.json")
        self.server.set_rules([{"glob": "*.conda", "action": "slow", "bps": SLOW},
                               {"glob": "*.tar.bz2", "action": "slow", "bps": SLOW}])
        self.server.clear_log()
        proc = self.start_depot()
        self.assertTrue(self.wait_for(lambda: self.packages_done() >= 2), "depot never started")
        self.assertIsNone(proc.poll(), "depot finished too early:\n" + self.output("a"))
        # upstream publishes generation 3: the last 6 packages of generation 2 are gone
        d = self.updir()
        repodata = mcc.read_repodata(d)
        for fn in added[-6:]:
            for key in ("packages", "packages.conda"):
                repodata[key].pop(fn, None)
            (d / fn).unlink()
        mcc.write_index(str(d), repodata)
        self._remember("noarch")
        self.server.clear_rules()
        proc.wait(timeout=120)
        out = self.output("a")
        self.assertIn(proc.returncode, (0, 1), out)
        idx = read_bytes(self.mirror / "repodata.json")
        self.assertIn(idx, (gen1_index, gen2_index), "published index is neither generation")
        if idx == gen1_index:
            self.assertNotEqual(proc.returncode, 0, out)
        # the variants must belong to the same generation as repodata.json
        self.assertEqual(bz2.decompress(read_bytes(self.mirror / "repodata.json.bz2")), idx,
                         "repodata.json.bz2 from another generation than repodata.json")
        cur = mcc._current_repodata(json.loads(idx))
        self.assertEqual(json.loads(read_bytes(self.mirror / "current_repodata.json")), cur,
                         "current_repodata.json from another generation than repodata.json")
        self.assertConsistent()
        self.assertNoDebris()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_second_run_on_same_dir_refused(self):
        self.gen(count=12, min_size=15000, max_size=25000)
        self.server.set_rules([{"glob": "*.conda", "action": "slow", "bps": SLOW},
                               {"glob": "*.tar.bz2", "action": "slow", "bps": SLOW}])
        a = self.start_depot("a")
        self.assertTrue(self.wait_for(lambda: self.packages_done() >= 1), "depot never started")
        self.assertIsNone(a.poll(), "first run finished too early:\n" + self.output("a"))
        b = self.start_depot("b")
        b.wait(timeout=60)
        self.assertNotEqual(b.returncode, 0, "a second concurrent run must be refused:\n"
                            + self.output("b"))
        self.assertEqual(b.returncode, 6, self.output("b"))
        self.assertIsNone(a.poll(), "the second run disturbed the first:\n" + self.output("a"))
        self.server.clear_rules()
        a.wait(timeout=120)
        self.assertEqual(a.returncode, 0, self.output("a"))
        self.assertMirrorEqualsUpstream()


if __name__ == "__main__":
    unittest.main()
