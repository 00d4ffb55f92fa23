"""The S3 client must neither lose nor misreport against a real S3 server: against Ceph's RADOS
Gateway on loopback, s3_rgw_tests (tests/unit/storage/s3_rgw_test.cc) proves put/get/head/range/
delete, a PUT whose declared sha256 lies refused with nothing stored, a >16 MiB multipart upload
read back equal, abort + listing of uploads, listing past 1,000 keys, keys with spaces, '+', '%'
and unicode, 2,000 PUTs at once, and clear messages naming the bucket and the cause for a wrong
secret, a missing bucket, a skewed clock, an endpoint down, a full (quota) and a read-only
bucket. Then radosgw is stopped: the client says the endpoint is unreachable; restarted, it
works again with the data still there."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from rgw_harness import Rgw, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUCKET = "depot-test"
RO_SEED = b"seeded before the user became read-only"


def rgw_tests_bin():
    return os.environ.get("DEPOT_S3_RGW_TESTS") or str(
        REPO / "build" / "tests" / "unit" / "storage" / "s3_rgw_tests")


@unittest.skipIf(shutil.which("radosgw") is None, "radosgw is not installed")
class S3ClientMisreportsRgw(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="depot-rgw-")
        self.addCleanup(self.tmp.cleanup)
        self.rgw = Rgw(Path(self.tmp.name) / "rgw")
        self.rgw.start()
        self.addCleanup(self.rgw.stop)
        print("\nrgw: started in %.2f s, %.0f MB resident" %
              (self.rgw.start_seconds, self.rgw.rss_kib() / 1024))
        self.rgw.create_bucket(BUCKET)

        self.ro = self.rgw.add_user("reader")
        self.rgw.create_bucket("depot-ro", user=self.ro)
        status, body = self.rgw.request("PUT", "/depot-ro/seed", RO_SEED, user=self.ro)
        self.assertEqual(status, 200, body)
        self.rgw.make_read_only(self.ro)

        self.full = self.rgw.add_user("filler", quota_bytes=256 * 1024)
        self.rgw.create_bucket("depot-full", user=self.full)

    def env(self, **extra):
        env = dict(os.environ)
        env.update({
            "DEPOT_TEST_S3_ENDPOINT": self.rgw.endpoint,
            "DEPOT_TEST_S3_ACCESS_KEY": self.rgw.access_key,
            "DEPOT_TEST_S3_SECRET_KEY": self.rgw.secret_key,
            "DEPOT_TEST_S3_REGION": self.rgw.region,
            "DEPOT_TEST_S3_BUCKET": BUCKET,
            "DEPOT_TEST_S3_RO_ACCESS_KEY": self.ro.access_key,
            "DEPOT_TEST_S3_RO_SECRET_KEY": self.ro.secret_key,
            "DEPOT_TEST_S3_RO_BUCKET": "depot-ro",
            "DEPOT_TEST_S3_FULL_ACCESS_KEY": self.full.access_key,
            "DEPOT_TEST_S3_FULL_SECRET_KEY": self.full.secret_key,
            "DEPOT_TEST_S3_FULL_BUCKET": "depot-full",
            # A port nobody listens on: connection refused.
            "DEPOT_TEST_S3_DOWN_ENDPOINT": "http://127.0.0.1:%d" % free_port(),
        })
        env.update(extra)
        return env

    def run_gtest(self, gtest_filter="*", **extra):
        t0 = time.monotonic()
        p = subprocess.run([rgw_tests_bin(), "--gtest_filter=" + gtest_filter],
                           env=self.env(**extra), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=240)
        out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
        print("s3_rgw_tests %s: exit %d in %.1f s" % (gtest_filter, p.returncode,
                                                      time.monotonic() - t0))
        self.assertEqual(p.returncode, 0, out[-8000:] + "\n" + self.rgw.log_tails())
        self.assertNotIn("[  SKIPPED ]", out, out[-4000:])
        self.assertIn("[  PASSED  ]", out)
        return out

    def test_client_against_rgw(self):
        out = self.run_gtest()
        for line in out.splitlines():
            if line.startswith("put_many:"):
                print(line)

        # radosgw stopped mid-run: the endpoint is unreachable, and said so.
        self.rgw.stop_rgw()
        self.run_gtest("S3Rgw.EndpointDownNamesBucketAndEndpoint",
                       DEPOT_TEST_S3_DOWN_ENDPOINT=self.rgw.endpoint)
        # Restarted: it serves again, the earlier objects still there.
        self.rgw.start_rgw()
        status, body = self.rgw.request("GET", "/depot-ro/seed", user=self.ro)
        self.assertEqual((status, body), (200, RO_SEED))
        self.run_gtest("S3Rgw.PutGetHeadRangeDelete")


if __name__ == "__main__":
    unittest.main()
