"""apt-get update against the mirror must never fail while depot resyncs it to a new upstream
generation: pool files first, then index files (with by-hash copies), then the signed root,
and superseded by-hash files kept, so every client sees one consistent generation."""

import subprocess
import time
import unittest

from apt_harness import AptTestCase


class AptUpdateFailsDuringResync(AptTestCase):
    def test_update_loop_during_slow_resync(self):
        self.build_upstream(self.packages(10))
        self.assertExit(self.mirror_apt(), 0)
        apt = self.client()
        ok, out = apt.update()
        self.assertTrue(ok, out)

        # Generation 2: every package at 2.0, each pool file served slowly.
        self.build_upstream(self.packages(24, version="2.0"))
        self.server.set_rules([{"glob": "/pool/*", "action": "delay", "seconds": 0.25}])
        cmd = self.mirror_apt_args("--concurrency", "2", "--threads", "1")
        log = open(self.tmp / "resync.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        failures, runs, after = [], 0, 0
        deadline = time.monotonic() + 120
        while after < 3 and time.monotonic() < deadline:
            if proc.poll() is not None:
                after += 1
            ok, out = apt.update()
            runs += 1
            if not ok:
                failures.append(out)
        proc.wait(timeout=60)
        log.close()
        res_text = (self.tmp / "resync.log").read_text()
        self.assertEqual(proc.returncode, 0, res_text)
        self.assertFalse(failures, "apt-get update failed %d of %d times during the resync; "
                         "first failure:\n%s" % (len(failures), runs, failures[:1]))
        self.assertGreaterEqual(runs - after, 3, "the resync was too fast to overlap any update")
        ok, out = apt.download("pkg0023")
        if not ok:
            lists = apt.root / "var/lib/apt/lists"
            names = sorted(p.name for p in lists.iterdir())
            pk = [p for p in lists.iterdir() if p.name.endswith("_Packages")]
            has = [("pkg0023" in p.read_text()) for p in pk]
            tail = self.mirror_server.log()[-12:]
            self.fail("%s\nlists: %s\npackages lists have pkg0023: %s\nmirror Packages has it: %s"
                      "\nlast mirror requests: %s\n%s" % (
                          out, names, has,
                          "pkg0023" in (self.mirror / "dists/stable/main/binary-amd64/Packages").read_text(),
                          tail, res_text))
        self.assertIn("pkg0023_2.0_amd64.deb", apt.downloaded())


if __name__ == "__main__":
    unittest.main()
