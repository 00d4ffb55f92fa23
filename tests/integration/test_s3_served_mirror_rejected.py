"""A mirror in a real RADOS Gateway, served by `depot serve s3://...`, must satisfy real clients:
an apt archive mirrored into the bucket through upstream faults passes apt-get update, download
and install; HEAD, Range and conditional requests are answered from the bucket's bytes; a new
generation reaches apt after the index TTL; with the gateway stopped, the previous generation
is still served. A conda channel in the bucket is served byte for byte."""

import hashlib
import json
import os
import time
import unittest

from apt_harness import AptClient, AptTestCase, mar
from s3_mirror_harness import BUCKET, S3MirrorCase
from serve_harness import DepotServer, fetch


class S3ServedMirrorRejected(S3MirrorCase, AptTestCase):
    def setUp(self):
        super().setUp()
        saved = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
        os.environ.update({k: v for k, v in self.env().items() if k.startswith("AWS_")})

    def serve_bucket(self, prefix, *extra):
        srv = DepotServer("s3://%s/%s" % (BUCKET, prefix), self.tmp / ("serve-" + prefix),
                          "--s3-endpoint", self.rgw.endpoint, "--state",
                          self.tmp / ("serve-state-" + prefix), *extra)
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def mirror_apt_s3(self):
        return self.depot_env("mirror", "apt", self.apt_url(), "s3://%s/debian" % BUCKET,
                              "--s3-endpoint", self.rgw.endpoint, "--state", self.state,
                              "--dist", "stable", "--component", "main", "--arch", "amd64",
                              "--keyring", self.keyring)

    def test_apt_get_through_serve_from_the_bucket(self):
        self.build_upstream(self.packages(12))
        self.server.set_rules([
            {"glob": "/pool/main/p/pkg0002/*", "action": "drop", "times": 1},
            {"glob": "/dists/stable/main/binary-amd64/Packages*", "action": "error",
             "status": 503, "times": 1}])
        res = self.mirror_apt_s3()
        self.assertExit(res, 0)
        self.assertEqual([r.get("remaining") for r in self.server.rules()], [0, 0],
                         "a fault rule never fired")
        self.server.clear_rules()
        pool = mar.expected_pool(self.up)
        self.PREFIX = "debian"
        objects = self.list_objects()
        for path, sha in pool.items():
            self.assertIn(path, objects)
            self.assertEqual(hashlib.sha256(self.get_object(path)).hexdigest(), sha, path)

        srv = self.serve_bucket("debian", "--index-ttl", "1")
        apt = AptClient(self.tmp / "client", srv.base, self.keyring)
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update through depot serve s3:// failed:\n%s%s"
                        % (out, srv.describe()))
        ok, out = apt.download("pkg0003", "pkg0011")
        self.assertTrue(ok, out + srv.describe())
        self.assertEqual(apt.downloaded(), ["pkg0003_1.0_amd64.deb", "pkg0011_1.0_amd64.deb"])
        ok, out = apt.install("pkg0005")
        self.assertTrue(ok, out + srv.describe())

        deb = mar.pool_path("pkg0004", "1.0", "amd64")
        body = self.get_object(deb)
        head = fetch(srv.base, "/" + deb, method="HEAD")
        self.assertEqual(head.status, 200, head)
        self.assertEqual(int(head.header("Content-Length")), len(body))
        part = fetch(srv.base, "/" + deb, headers={"Range": "bytes=10-29"})
        self.assertEqual(part.status, 206, part)
        self.assertEqual(part.body, body[10:30])
        whole = fetch(srv.base, "/" + deb)
        self.assertEqual(whole.body, body)
        again = fetch(srv.base, "/" + deb, headers={"If-None-Match": whole.header("ETag")})
        self.assertEqual(again.status, 304, again)
        since = fetch(srv.base, "/" + deb,
                      headers={"If-Modified-Since": whole.header("Last-Modified")})
        self.assertEqual(since.status, 304, since)
        missing = fetch(srv.base, "/pool/main/n/nothere/nothere_1_all.deb")
        self.assertEqual(missing.status, 404, missing)

        # A new generation reaches apt through the bucket.
        pkgs = [(n, "2.0" if n == "pkg0003" else v, a) for n, v, a in self.packages(12)]
        self.build_upstream(pkgs)
        self.assertExit(self.mirror_apt_s3(), 0)
        new_release = self.get_object("dists/stable/InRelease")
        # The index TTL (1 s) passes; a revalidation that fails (a gateway slow under load)
        # serves the cached generation, so allow two more TTLs, and say so when it happened.
        for attempt in range(3):
            time.sleep(1.2)
            ok, out = apt.update()
            self.assertTrue(ok, out + srv.describe())
            served = fetch(srv.base, "/dists/stable/InRelease").body
            if served == new_release:
                break
            print("\nattempt %d: depot serve still answers the previous InRelease%s"
                  % (attempt + 1, srv.describe(1500)))
        self.assertEqual(served, new_release, "the new generation never reached the clients%s"
                         % srv.describe())
        ok, out = apt.download("pkg0003")
        self.assertTrue(ok, out + srv.describe())
        self.assertIn("pkg0003_2.0_amd64.deb", apt.downloaded(), srv.describe())

        # The gateway goes away: the generation served last is still served.
        self.rgw.stop_rgw()
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update failed with the gateway down:\n%s%s"
                        % (out, srv.describe()))
        ok, out = apt.download("pkg0011")
        self.assertTrue(ok, out + srv.describe())
        self.assertTrue(srv.alive(), srv.describe())

    def test_conda_channel_served_from_the_bucket(self):
        self.gen(count=12, bz2_variant=True, current=True)
        self.assertExit(self.mirror_s3(), 0)
        srv = self.serve_bucket(self.PREFIX)
        for name, sha in self.expected().items():
            r = fetch(srv.base, "/" + name)
            self.assertEqual(r.status, 200, "%s: %r%s" % (name, r, srv.describe()))
            self.assertEqual(hashlib.sha256(r.body).hexdigest(), sha, name)
        repodata = json.loads(fetch(srv.base, "/repodata.json").body)
        self.assertTrue(repodata.get("packages") or repodata.get("packages.conda"))


if __name__ == "__main__":
    unittest.main()
