"""Serve nodes sharing a cache bucket (`depot serve --upstream ... --cache-bucket s3://...`) on a
real RADOS Gateway must take each blob from upstream once: a .deb or by-hash file node A fetched
is copied to the bucket (verified sha256 stored with it) and node B, with an empty cache
directory, serves it to apt-get from the bucket without asking upstream. Indexes stay out of
the bucket. With upstream failing, blobs in the bucket are still served; with the gateway
stopped, the node falls back to upstream and says which object failed; a bad secret or a
missing bucket stops `depot serve` at start, naming the bucket."""

import hashlib
import time
import unittest

from apt_harness import AptClient, AptTestCase, mar
from s3_mirror_harness import BUCKET, S3MirrorCase
from serve_harness import DepotServer, fetch, metric, parse_prometheus

PREFIX = "cache"


def is_blob(path):
    return path.endswith(".deb") or "/by-hash/" in path


class S3CacheBucketNotShared(S3MirrorCase, AptTestCase):
    PREFIX = PREFIX

    def setUp(self):
        super().setUp()
        self.export_keys()

    def node(self, name, *extra):
        root = self.tmp / (name + "-root")
        root.mkdir(exist_ok=True)
        srv = DepotServer(root, self.tmp / name, "--upstream", "/debian=" + self.server.base,
                          "--cache-bucket", "s3://%s/%s" % (BUCKET, PREFIX),
                          "--s3-endpoint", self.rgw.endpoint, "--state", self.tmp / (name + "-state"),
                          "--index-ttl", "1", "--log-format", "json", "--log-level", "debug", *extra)
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def apt_via(self, srv, name, *packages, update=True):
        apt = AptClient(self.tmp / name, srv.base + "/debian", self.keyring)
        if update:
            ok, out = apt.update()
            self.assertTrue(ok, "apt-get update failed:\n%s%s" % (out, srv.describe()))
        ok, out = apt.download(*packages)
        self.assertTrue(ok, "apt-get download failed:\n%s%s" % (out, srv.describe()))
        return apt

    def tier(self, srv, name):
        return metric(parse_prometheus(fetch(srv.base, "/metrics").body.decode()),
                      "depot_serve_tier_" + name)

    def wait_in_bucket(self, keys, srv):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            objects = self.list_objects()
            if all(k in objects for k in keys):
                return objects
            time.sleep(0.2)
        self.fail("never copied to the bucket: %s\nbucket: %s%s"
                  % (sorted(set(keys) - set(objects)), sorted(objects), srv.describe()))

    def test_nodes_share_blobs_through_the_bucket(self):
        self.build_upstream(self.packages(12))
        a = self.node("node-a")
        first = self.apt_via(a, "client1", "pkg0001", "pkg0003", "pkg0007")
        debs = ["debian/" + mar.pool_path(n, "1.0", "amd64") for n in ("pkg0001", "pkg0003", "pkg0007")]
        objects = self.wait_in_bucket(debs, a)
        self.assertEqual([k for k in objects if not is_blob(k)], [],
                         "indexes or roots were copied to the bucket")
        self.assertTrue(any("/by-hash/" in k for k in objects), sorted(objects))
        for key in objects:
            body = self.get_object(key)
            local = (self.up / key[len("debian/"):]).read_bytes()
            self.assertEqual(body, local, key)
            status, headers = self.rgw.head("/%s/%s/%s" % (BUCKET, PREFIX, key))
            self.assertEqual(status, 200, key)
            self.assertEqual(headers.get("x-amz-meta-sha256"),
                             hashlib.sha256(body).hexdigest(), key)
        self.assertGreaterEqual(self.tier(a, "stored_total"), len(objects))

        # Node B starts with an empty cache directory: the blobs come from the bucket.
        self.server.clear_log()
        b = self.node("node-b")
        second = self.apt_via(b, "client2", "pkg0001", "pkg0003", "pkg0007")
        self.assertEqual(second.downloaded(), first.downloaded())
        for deb in second.downloaded():
            self.assertEqual((self.tmp / "client2" / "download" / deb).read_bytes(),
                             (self.tmp / "client1" / "download" / deb).read_bytes(), deb)
        from_upstream = [e["path"] for e in self.server.log() if is_blob(e["path"])]
        self.assertEqual(from_upstream, [], "node B asked upstream for blobs in the bucket%s"
                         % b.describe())
        self.assertGreaterEqual(self.tier(b, "hits_total"), 3, b.describe())

        # Upstream fails: blobs in the bucket are still served by a node that lacks them.
        self.server.set_rules([{"glob": "*", "action": "error", "status": 503}])
        c = self.node("node-c")
        pkg = "debian/" + mar.pool_path("pkg0007", "1.0", "amd64")
        r = fetch(c.base, "/" + pkg)
        self.assertEqual(r.status, 200, "%r%s" % (r, c.describe()))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                         hashlib.sha256((self.up / pkg[len("debian/"):]).read_bytes()).hexdigest())
        self.server.clear_rules()

        # The gateway stops: node B falls back to upstream and names the object that failed.
        self.rgw.stop_rgw()
        self.apt_via(b, "client2", "pkg0005", update=False)
        self.assertTrue(b.alive(), b.describe())
        log = b.stderr()
        self.assertIn("cache_tier_read_failed", log, b.describe())
        self.assertIn("s3://%s/%s/debian/pool/" % (BUCKET, PREFIX), log, b.describe())
        deadline = time.monotonic() + 30
        while "cache_tier_store_failed" not in b.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("cache_tier_store_failed", b.stderr(), b.describe())

    def test_a_bad_bucket_stops_serve_at_start(self):
        root = self.tmp / "root"
        root.mkdir()
        for bucket, env, why in (("nosuchbucket", {}, "nosuchbucket"),
                                 (BUCKET, {"AWS_SECRET_ACCESS_KEY": "wrong"}, BUCKET)):
            res = self.depot_env("serve", root, "--listen", "127.0.0.1:0",
                                 "--upstream", "/debian=" + self.server.base,
                                 "--cache-bucket", "s3://%s/%s" % (bucket, PREFIX),
                                 "--s3-endpoint", self.rgw.endpoint,
                                 "--state", self.tmp / "state-bad",
                                 env=dict(self.env(), **env), timeout=60)
            self.assertEqual(res.rc, 5, res)
            self.assertIn(why, res.err, res)


if __name__ == "__main__":
    unittest.main()
