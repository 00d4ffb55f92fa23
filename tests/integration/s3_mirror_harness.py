"""Helpers for scenarios that mirror into a real RADOS Gateway (rgw_harness.Rgw): a test case
with a fault-server upstream (DepotTestCase) and a gateway with one bucket, depot run with the
gateway's keys, and a paginated bucket listing and object reads through signed requests."""

import hashlib
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

from depot_harness import DepotTestCase, Result, depot_bin
from rgw_harness import Rgw

S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
BUCKET = "mirror"


@unittest.skipIf(shutil.which("radosgw") is None, "radosgw is not installed")
class S3MirrorCase(DepotTestCase):
    PREFIX = "conda"

    def setUp(self):
        super().setUp()
        self.rgw = Rgw(self.tmp / "rgw")
        self.rgw.start()
        self.addCleanup(self.rgw.stop)
        self.rgw.create_bucket(BUCKET)
        self.bucket = BUCKET
        self.user = self.rgw.user
        self.state = self.tmp / "state"

    def use_bucket(self, bucket, user, state):
        """From now on depot runs with `user`'s keys into `bucket` (created by that user) with
        local state `state`, and the bucket helpers read it as that user."""
        self.rgw.create_bucket(bucket, user=user)
        self.bucket, self.user, self.state = bucket, user, Path(state)

    @property
    def dest(self):
        return "s3://%s/%s" % (self.bucket, self.PREFIX)

    def export_keys(self):
        """Servers this test starts inherit the bucket user's AWS_* keys (until the test ends)."""
        saved = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
        os.environ.update({k: v for k, v in self.env().items() if k.startswith("AWS_")})

    def env(self, secret=None):
        env = dict(os.environ)
        env.update({"AWS_ACCESS_KEY_ID": self.user.access_key,
                    "AWS_SECRET_ACCESS_KEY": secret or self.user.secret_key,
                    "HOME": str(self.tmp)})
        return env

    def depot_env(self, *args, env=None, timeout=180, raw=False):
        """depot ARGS (or, with raw, ARGS as a whole command) with the gateway's keys."""
        cmd = ([] if raw else [depot_bin()]) + [str(a) for a in args]
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout, env=env or self.env())
        return Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)

    def mirror_s3(self, *extra, url=None, dest=None, env=None, kind="conda", timeout=180):
        return self.depot_env("mirror", kind, url or self.url(), dest or self.dest,
                              "--s3-endpoint", self.rgw.endpoint, "--state", self.state,
                              "--log-format", "json", *extra, env=env, timeout=timeout)

    def popen_mirror(self, *extra, url=None, env=None):
        cmd = [depot_bin(), "mirror", "conda", url or self.url(), self.dest, "--s3-endpoint",
               self.rgw.endpoint, "--state", str(self.state), "--log-format", "json"] + list(extra)
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=env or self.env())

    # -- the bucket ------------------------------------------------------------------------
    def list_objects(self, prefix=None):
        """{key relative to the prefix: size} of every object under it, page by page."""
        prefix = self.PREFIX + "/" if prefix is None else prefix
        out, token = {}, None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            status, body = self.rgw.request(
                "GET", "/%s?%s" % (self.bucket, urllib.parse.urlencode(
                    sorted(q.items()), quote_via=urllib.parse.quote)), user=self.user)
            self.assertEqual(status, 200, body[:300])
            root = ET.fromstring(body)
            for c in root.findall(S3NS + "Contents"):
                out[c.find(S3NS + "Key").text[len(prefix):]] = int(c.find(S3NS + "Size").text)
            if root.findtext(S3NS + "IsTruncated") != "true":
                return out
            token = root.findtext(S3NS + "NextContinuationToken")

    def uploads(self):
        status, body = self.rgw.request("GET", "/%s?uploads=" % self.bucket, user=self.user)
        self.assertEqual(status, 200, body[:300])
        return [u.findtext(S3NS + "Key") for u in ET.fromstring(body).findall(S3NS + "Upload")]

    def get_object(self, key):
        status, body = self.rgw.request("GET", "/%s/%s/%s" % (self.bucket, self.PREFIX,
                                                             urllib.parse.quote(key)),
                                        user=self.user)
        self.assertEqual(status, 200, "%s: HTTP %s" % (key, status))
        return body

    def bucket_tree(self):
        """{key: sha256} of every object under the prefix (each read back)."""
        return {k: hashlib.sha256(self.get_object(k)).hexdigest() for k in self.list_objects()}

    def assertBucketEqualsUpstream(self, subdir="noarch", res=None):
        got, want = self.bucket_tree(), self.expected(subdir)
        extra = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        wrong = sorted(n for n in set(got) & set(want) if got[n] != want[n])
        self.assertFalse(extra or missing or wrong,
                         "bucket != upstream %s\n extra: %s\n missing: %s\n wrong sha256: %s%s"
                         % (subdir, extra[:20], missing[:20], wrong[:20], res or ""))

    def assertBucketConsistent(self, res=None):
        """The published repodata.json names only objects the bucket holds, with its bytes;
        every object is something upstream offered."""
        tree = self.bucket_tree()
        if "repodata.json" in tree:
            repodata = json.loads(self.get_object("repodata.json"))
            problems = []
            for key in ("packages", "packages.conda"):
                for fn, e in repodata.get(key, {}).items():
                    if tree.get(fn) != e["sha256"]:
                        problems.append(fn)
            self.assertFalse(problems, "published index names objects the bucket lacks: %s%s"
                             % (problems[:20], res or ""))
        bad = [n for n, sha in tree.items() if sha not in self.known.get(("noarch", n), set())]
        self.assertFalse(bad, "objects upstream never offered: %s%s" % (sorted(bad)[:20], res or ""))
