"""Uploads into a real RADOS Gateway must survive a network that drops requests: with a proxy
resetting the connection of chosen requests, a part of a 40 MiB package's multipart upload and a
small object's PUT are each retried on their own (the upload is not restarted from the first
byte, nothing is downloaded again) and the mirror completes equal to upstream."""

import json
import unittest

from s3_fault_proxy import FaultProxy
from s3_mirror_harness import S3MirrorCase


class S3PartRetryLost(S3MirrorCase):
    def test_reset_parts_and_puts_are_retried_alone(self):
        self.gen(count=6, sizes=[40 << 20, 1000, 2000, 3000, 4000, 5000], bz2_variant=False,
                 current=False)
        proxy = FaultProxy(("127.0.0.1", int(self.rgw.endpoint.rsplit(":", 1)[1]))).start()
        self.addCleanup(proxy.stop)
        proxy.add_rule("PUT", "partNumber=2&", times=2)  # the second part, twice
        proxy.add_rule("PUT", "/pkg0003", times=1)  # a small package's single PUT, once
        res = self.depot_env("mirror", "conda", self.url(), self.dest, "--s3-endpoint",
                             proxy.endpoint, "--state", self.state, "--log-format", "json")
        self.assertExit(res, 0)
        self.assertBucketEqualsUpstream(res=res)
        self.assertEqual(self.uploads(), [])
        parts = [(t, what) for m, t, what in proxy.log if m == "PUT" and "partNumber=" in t]
        resets = [t for t, what in parts if what == "reset"]
        self.assertEqual(len(resets), 2, parts)
        self.assertIn((resets[0], "forwarded"), parts, "the reset part was never sent again")
        numbers = sorted(t.split("partNumber=")[1].split("&")[0] for t, w in parts
                         if w == "forwarded")
        self.assertEqual(numbers, ["1", "2", "3"], "parts re-sent besides the reset one: %s"
                         % parts)
        small = [w for m, t, w in proxy.log if m == "PUT" and "/pkg0003" in t]
        self.assertEqual(small, ["reset", "forwarded"], proxy.log)
        summary = json.loads(res.out.strip().splitlines()[-1])
        self.assertEqual(summary["files_downloaded"], 6)
        big = next(p.name for p in self.updir().iterdir() if p.stat().st_size == 40 << 20)
        gets = [e for e in self.package_gets() if e["path"].endswith("/" + big)]
        self.assertEqual(len(gets), 1, "the package was downloaded again: %s" % gets)


if __name__ == "__main__":
    unittest.main()
