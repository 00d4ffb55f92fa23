"""A conda mirror written into a real RADOS Gateway must keep the consistency rule: every object
verified before it is visible, blobs before the index, the previous generation kept when a
package fails, a kill -9 at any moment converging on the next run with no unfinished upload
left behind, listings past 1,000 objects, and --rebuild-state recreating the local state from
one bucket listing without downloading anything from upstream again, and a 200 MiB package
uploaded in parts while it downloads, in memory bounded by the part size."""

import json
import os
import shutil
import signal
import time
import unittest

from depot_harness import depot_bin
from s3_mirror_harness import S3MirrorCase


def summary(res):
    return json.loads(res.out.strip().splitlines()[-1])


class S3MirrorBreaksConsistency(S3MirrorCase):
    def test_mirror_through_faults_then_noop_then_failed_package_keeps_index(self):
        self.gen(count=30, bz2_variant=True, current=True)
        self.server.set_rules([
            {"glob": "/conda-forge/noarch/pkg0003-*", "action": "drop", "times": 1},
            {"glob": "/conda-forge/noarch/pkg0007-*", "action": "error", "status": 503, "times": 2},
            {"glob": "/conda-forge/noarch/pkg0011-*", "action": "corrupt", "times": 1},
        ])
        res = self.mirror_s3()
        self.assertExit(res, 0)
        self.assertBucketEqualsUpstream(res=res)
        self.assertEqual(self.uploads(), [])

        self.server.clear_rules()
        self.server.clear_log()
        again = self.mirror_s3()
        self.assertExit(again, 0)
        self.assertEqual(summary(again)["files_downloaded"], 0, again)
        self.assertEqual(self.package_gets(), [])

        old_index = self.get_object("repodata.json")
        _, added, _ = self.next_gen(add=4)
        newest = sorted(added)
        self.server.set_rules([{"glob": "/conda-forge/noarch/" + newest[0], "action": "corrupt"}])
        failed = self.mirror_s3()
        self.assertExit(failed, 1)
        self.assertIn(newest[0], failed.out)
        self.assertEqual(self.get_object("repodata.json"), old_index)
        self.assertBucketConsistent(res=failed)
        self.assertEqual(self.uploads(), [])

    def test_kill_during_run_converges_and_leaves_no_upload(self):
        self.gen(count=20)
        first = self.mirror_s3()
        self.assertExit(first, 0)
        # Two 40 MiB packages (three 16 MiB parts each) arriving at 16 MiB/s: kills land
        # before, between and after part uploads.
        self.next_gen(add=2, min_size=40 << 20, max_size=40 << 20)
        self.server.set_rules([{"glob": "/conda-forge/noarch/*", "action": "slow",
                                "bps": 16 << 20}])
        debris = []
        for delay in (0.5, 1.5, 2.5, 3.5):
            proc = self.popen_mirror()
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            self.assertBucketConsistent()
            debris += self.uploads()
        self.assertTrue(debris, "no kill caught a multipart upload in flight")
        self.server.clear_rules()
        res = self.mirror_s3()
        self.assertExit(res, 0)
        self.assertBucketEqualsUpstream(res=res)
        self.assertEqual(self.uploads(), [], "unfinished multipart uploads left after a clean run")

    def test_200_mib_package_goes_up_in_parts_in_bounded_memory(self):
        self.gen(count=3, sizes=[200 << 20, 1000, 3000], bz2_variant=False, current=False)
        res = self.depot_env("/usr/bin/time", "-f", "maxrss_kib=%M", depot_bin(), "mirror",
                             "conda", self.url(), self.dest, "--s3-endpoint", self.rgw.endpoint,
                             "--state", self.state, "--log-format", "json", raw=True)
        self.assertExit(res, 0)
        self.assertBucketEqualsUpstream(res=res)
        self.assertEqual(self.uploads(), [])
        rss_mib = int(res.err.rsplit("maxrss_kib=", 1)[1].split()[0]) / 1024
        print("\n200 MiB package into RGW: depot peak RSS %.0f MiB" % rss_mib)
        if os.environ.get("DEPOT_SANITIZED", "0").lower() in ("1", "on", "true", "yes"):
            return  # ASan's quarantine and shadow memory say nothing about depot's own
        # Parts of 16 MiB, one in memory per transaction, plus the download pipeline's queues.
        self.assertLess(rss_mib, 120, "memory grows with the file, not the part size%s" % res)

    def test_more_than_a_thousand_objects_and_rebuild_state(self):
        self.gen(count=1100, min_size=64, max_size=256, bz2_variant=False, current=False)
        res = self.mirror_s3(timeout=300)
        self.assertExit(res, 0)
        self.assertEqual(len(self.list_objects()), 1101)
        self.server.clear_log()
        shutil.rmtree(self.state)
        rebuilt = self.mirror_s3("--rebuild-state", timeout=300)
        self.assertExit(rebuilt, 0)
        s = summary(rebuilt)
        self.assertEqual(s["files_downloaded"], 0, rebuilt)
        self.assertEqual(s["files_adopted"], 1100, rebuilt)
        self.assertEqual(self.package_gets(), [])
        adopt = [json.loads(l) for l in rebuilt.err.splitlines() if '"mirror.adopt"' in l]
        self.assertEqual(adopt[0]["read_back"], 0,
                         "objects read back instead of checked by their stored sha256%s" % rebuilt)
        noop = self.mirror_s3(timeout=300)
        self.assertEqual(summary(noop)["files_unchanged"], 1101, noop)


if __name__ == "__main__":
    unittest.main()
