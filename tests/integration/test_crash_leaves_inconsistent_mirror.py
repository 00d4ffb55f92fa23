"""Proves impossible: a kill -9 in the middle of a mirror run leaving a published index that
names missing files, partial/temp files outside .depot/, or a state the next run cannot
converge from.  After each kill: every file outside .depot is an upstream file with the
upstream sha256; the re-run ends exactly equal to upstream."""

import os
import signal
import subprocess
import time
import unittest

from depot_harness import DepotTestCase, depot_bin, read_bytes

SLOW = 20000  # bytes/s per response: a 20-40 KB package takes 1-2 s


class CrashLeavesInconsistentMirror(DepotTestCase):
    def slow_everything(self):
        self.server.set_rules([{"glob": "*.conda", "action": "slow", "bps": SLOW},
                               {"glob": "*.tar.bz2", "action": "slow", "bps": SLOW}])

    def start_depot(self):
        self.out_path = self.tmp / "depot.out"
        self.err_path = self.tmp / "depot.err"
        cmd = [depot_bin(), "mirror", "conda", self.url(), str(self.mirror), "--concurrency", "4"]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.addCleanup(self._reap, proc)
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def kill_when(self, proc, cond, limit=15.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and proc.poll() is None and not cond():
            time.sleep(0.05)
        if proc.poll() is not None:
            self.fail("depot exited (%s) before it could be killed; output:\n%s\n%s"
                      % (proc.returncode, self.out_path.read_text(errors="replace"),
                         self.err_path.read_text(errors="replace")))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def packages_done(self):
        return sum(1 for e in self.server.log() if e["method"] == "GET"
                   and e["status"] == 200 and e["path"].endswith((".conda", ".tar.bz2")))

    def mirror_packages(self):
        try:
            return sum(1 for p in self.mirror.iterdir() if p.name.endswith((".conda", ".tar.bz2")))
        except FileNotFoundError:
            return 0

    def check_after_kill(self):
        self.assertNoDebris()
        self.assertConsistent()

    def converge(self):
        self.server.clear_rules()
        res = self.mirror_conda()
        self.assertExit(res, 0, "re-run after kill -9")
        self.assertMirrorEqualsUpstream(res=res)
        self.assertConsistent(res=res)
        self.assertTmpEmpty(res=res)
        return res

    def test_kill9_during_first_mirror(self):
        self.gen(count=24, min_size=20000, max_size=40000, bz2_variant=True, current=True)
        self.slow_everything()
        proc = self.start_depot()
        # kill once some packages are fully in place and others are mid-transfer
        self.kill_when(proc, lambda: self.mirror_packages() >= 3 and self.packages_done() >= 5)
        self.check_after_kill()
        self.assertFalse((self.mirror / "repodata.json").exists(),
                         "repodata.json published by a run that was killed mid-transfer")
        self.converge()

    def test_kill9_during_update_keeps_previous_generation(self):
        self.gen(count=16, min_size=2000, max_size=8000, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        old_index = read_bytes(self.mirror / "repodata.json")
        _, added, removed = self.next_gen(add=16, remove=4, min_size=20000, max_size=40000)
        self.slow_everything()
        self.server.clear_log()
        proc = self.start_depot()
        self.kill_when(proc, lambda: self.packages_done() >= 3)
        self.check_after_kill()
        self.assertEqual(read_bytes(self.mirror / "repodata.json"), old_index,
                         "a killed update changed repodata.json")
        for fn in removed:
            self.assertTrue((self.mirror / fn).exists(), "%s deleted before commit" % fn)
        self.converge()

    def test_repeated_kills_converge(self):
        self.gen(count=20, min_size=15000, max_size=30000, bz2_variant=True, current=True)
        self.slow_everything()
        for delay in (0.3, 0.8, 1.3, 0.1):
            proc = self.start_depot()
            t0 = time.monotonic()
            self.kill_when(proc, lambda: time.monotonic() - t0 >= delay)
            self.check_after_kill()
        self.converge()


if __name__ == "__main__":
    unittest.main()
