"""Every storage failure of a mirror into a real RADOS Gateway must end with exit code 5 and a
message naming the bucket and the cause in an operator's words, leave the previous generation
in the bucket unchanged, and let the next normal run converge: a wrong secret key, a missing
bucket, a clock an hour off (faketime), a read-only user, a full bucket (user quota), and the
gateway stopped in the middle of a run, before one, and between the bucket listing and the read
of the committed index. A wrong region cannot fail on RGW (it accepts any region);
tests/unit/storage/s3_error_test.cc checks that message."""

import json
import os
import shutil
import subprocess
import time
import unittest

from depot_harness import Result, depot_bin
from s3_mirror_harness import S3MirrorCase

FAKETIME = shutil.which("faketime")


def summary(res):
    return json.loads(res.out.strip().splitlines()[-1])


def failed_reason(stderr):
    """The reason of the json log's mirror.failed event ("" when there is none)."""
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "mirror.failed":
            return event.get("reason", "")
    return ""


def rounded(size):
    return (size + 4095) // 4096 * 4096


class S3MirrorErrors(S3MirrorCase):
    def establish(self, count=8, **kw):
        """Generation 1 mirrored completely; remembers the bucket's {key: sha256}."""
        self.gen(count=count, bz2_variant=True, current=True, **kw)
        res = self.mirror_s3()
        self.assertExit(res, 0)
        self.gen1 = self.bucket_tree()
        self.assertIn("repodata.json", self.gen1)

    def assertStorageError(self, res, *causes, bucket=None):
        """Exit 5; the summary's error and the logged reason name s3://bucket/ and each cause."""
        self.assertExit(res, 5)
        s = summary(res)
        self.assertEqual(s["status"], "failed", res)
        where = "s3://%s/" % (bucket or self.bucket)
        for name, text in (("summary error", s.get("error", "")),
                           ("mirror.failed reason", failed_reason(res.err))):
            for want in (where,) + causes:
                self.assertIn(want, text, "%s does not say %r%s" % (name, want, res))
        return s["error"]

    def assertPreviousGeneration(self, res):
        """Generation 1's objects all there with their bytes; nothing upstream never offered
        (an unfinished upload never shows as an object)."""
        tree = self.bucket_tree()
        changed = sorted(k for k, sha in self.gen1.items() if tree.get(k) != sha)
        self.assertFalse(changed, "generation 1 objects changed or gone: %s%s" % (changed, res))
        self.assertBucketConsistent(res=res)

    def assertConverges(self):
        res = self.mirror_s3()
        self.assertExit(res, 0, "the next normal run")
        self.assertBucketEqualsUpstream(res=res)
        self.assertEqual(self.uploads(), [], "unfinished multipart uploads after a clean run")

    def run_skewed(self, offset):
        """depot mirror with its clock moved by `offset` (faketime)."""
        cmd = [FAKETIME, "-m", "-f", offset, depot_bin(), "mirror", "conda", self.url(),
               self.dest, "--s3-endpoint", self.rgw.endpoint, "--state", str(self.state),
               "--log-format", "json"]
        env = self.env()
        if os.environ.get("DEPOT_SANITIZED", "0").lower() in ("1", "on", "true", "yes"):
            env["ASAN_OPTIONS"] = "verify_asan_link_order=0:" + env.get("ASAN_OPTIONS", "")
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=120, env=env)
        return Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)

    def finish(self, proc, t0):
        """The Result of a popen_mirror() run, which must end within 120 s."""
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail("depot did not end within 120 s of the gateway stopping\n" +
                      err.decode(errors="replace")[-3000:])
        return Result(proc.args, proc.returncode, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace"), time.monotonic() - t0)

    def test_wrong_secret_missing_bucket_and_skewed_clock_fail_at_open(self):
        self.establish()
        self.next_gen(add=3, remove=1)

        bad_key = self.mirror_s3(env=self.env(secret="not-the-secret-key"))
        msg = self.assertStorageError(bad_key, "secret key", "rejected")
        self.assertPreviousGeneration(bad_key)
        print("\nwrong secret: " + msg)

        missing = self.mirror_s3(dest="s3://nosuchbucket/conda")
        msg = self.assertStorageError(missing, "bucket does not exist", bucket="nosuchbucket")
        self.assertPreviousGeneration(missing)
        print("missing bucket: " + msg)

        if FAKETIME is not None:
            # The clock an hour behind: curl signs with libc's time, which faketime moves.
            skewed = self.run_skewed("-1h")
            msg = self.assertStorageError(skewed, "clock skew", "behind the server's")
            self.assertRegex(msg, r"clock is (1h00m|59m5\ds) behind")
            self.assertPreviousGeneration(skewed)
            print("clock skew: " + msg)
        self.assertConverges()
        if FAKETIME is None:
            self.skipTest("faketime is not installed (scripts/install-deps.sh): clock skew "
                          "not checked")

    def test_read_only_user_keeps_previous_generation(self):
        reader = self.rgw.add_user("reader")
        self.use_bucket("ro-mirror", reader, self.tmp / "state-ro")
        self.establish()
        self.rgw.make_read_only(reader)
        self.next_gen(add=3, remove=1)
        res = self.mirror_s3()
        msg = self.assertStorageError(res, "access denied", "may not write to this bucket",
                                      "read-only")
        self.assertPreviousGeneration(res)
        print("\nread-only: " + msg)
        self.rgw.make_writable(reader)
        self.assertConverges()

    def test_full_bucket_keeps_previous_generation(self):
        filler = self.rgw.add_user("filler")
        self.use_bucket("full-mirror", filler, self.tmp / "state-full")
        self.establish()
        used = sum(rounded(size) for size in self.list_objects().values())
        self.rgw.set_quota(filler, used + (64 << 10))
        self.next_gen(add=6, remove=0, min_size=100 << 10, max_size=200 << 10)
        res = self.mirror_s3()
        msg = self.assertStorageError(res, "full", "quota")
        self.assertPreviousGeneration(res)
        print("\nfull bucket: " + msg)
        self.rgw.set_quota(filler, None)
        self.assertConverges()

    def test_gateway_stopped_mid_run_keeps_previous_generation(self):
        self.establish()
        # Two 24 MiB packages at 8 MiB/s: parts go up while they arrive; the gateway dies
        # once an upload is under way.
        self.next_gen(add=2, remove=1, min_size=24 << 20, max_size=24 << 20)
        self.server.set_rules([{"glob": "/conda-forge/noarch/*", "action": "slow",
                                "bps": 8 << 20}])
        t0 = time.monotonic()
        proc = self.popen_mirror()
        deadline = time.monotonic() + 20
        while not self.uploads() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        self.assertIsNone(proc.poll(), "the run ended before the gateway was stopped")
        self.rgw.stop_rgw()
        res = self.finish(proc, t0)
        msg = self.assertStorageError(res, "endpoint %s unreachable" % self.rgw.endpoint)
        print("\ngateway stopped: " + msg)
        down = self.mirror_s3()
        msg = self.assertStorageError(down, "opening the bucket",
                                      "endpoint %s unreachable" % self.rgw.endpoint)
        print("gateway down at the start: " + msg)
        self.rgw.start_rgw()
        self.assertPreviousGeneration(res)
        self.server.clear_rules()
        self.assertConverges()

        # Gone between the bucket listing and the read of the committed repodata.json that a
        # 304 from upstream sends depot to: still a storage error, not an upstream one (3).
        self.gen1 = self.bucket_tree()
        self.server.set_rules([{"glob": "/conda-forge/noarch/repodata.json", "action": "delay",
                                "seconds": 2, "times": 1}])
        t0 = time.monotonic()
        proc = self.popen_mirror()
        while self.server.rules()[0]["remaining"] and time.monotonic() < t0 + 20:
            time.sleep(0.05)
        self.rgw.stop_rgw()
        res = self.finish(proc, t0)
        msg = self.assertStorageError(res, "repodata.json",
                                      "endpoint %s unreachable" % self.rgw.endpoint)
        print("gateway stopped before the committed index was read: " + msg)
        self.rgw.start_rgw()
        self.assertPreviousGeneration(res)
        self.assertConverges()


if __name__ == "__main__":
    unittest.main()
