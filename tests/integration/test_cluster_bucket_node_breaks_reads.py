"""A bucket on a real RADOS Gateway as a cluster node (`--node b3=s3://BUCKET/PREFIX?endpoint=...`)
beside two depot storage nodes, R=2: every file PUT through the gateway is on exactly 2 of the 3
(bucket objects carry x-amz-meta-sha256), and reads back intact; an object written to the
bucket directly with that metadata reaches the gateway through the node's re-listing. With RGW
stopped while clients read continuously, no client sees an error and every body's sha256 is
right: each file with a copy in the bucket has its other copy on a depot node, and the gateway
fails over to it (a GET the bucket broke mid-body resumes there at the byte it stopped at). A PUT
while the bucket is down still gets R=2 copies (201): the bucket node asks the bucket before
taking any body byte, so its failure (status 0) lets the gateway place that copy on the third
node; once the bucket is marked down placement skips it."""

import hashlib
import http.client
import json
import os
import threading
import time
import unittest

from cluster_harness import CLIENTS, ClusterMixin, call, sha
from s3_mirror_harness import BUCKET, S3MirrorCase

WRITER = CLIENTS["writer"][0]
PREFIX = "cluster"


class ClusterBucketNodeBreaksReads(ClusterMixin, S3MirrorCase):
    PREFIX = PREFIX

    def setUp(self):
        super().setUp()
        self.export_keys()

    def bucket_url(self):
        return "s3://%s/%s?endpoint=%s&capacity=1G&relist=2" % (BUCKET, PREFIX, self.rgw.endpoint)

    def holders(self, nodes, objects, path):
        return sorted(self.holders_on_disk(nodes, path) + (["b3"] if path in objects else []))

    def node_up(self, gw, name):
        st, _, body = call(gw.port, "GET", "/_depot/v1/cluster/status")
        self.assertEqual(st, 200, body)
        return next(n["up"] for n in json.loads(body)["nodes"] if n["name"] == name)

    def read_all(self, gw, files):
        for path, body in files.items():
            st, _, got = call(gw.port, "GET", "/" + path)
            self.assertEqual(st, 200, path)
            self.assertEqual(sha(got), sha(body), path)

    def test_reads_survive_the_bucket_going_down(self):
        n1, n2 = self.start_node("n1", capacity="1G"), self.start_node("n2", capacity="1G")
        gw = self.start_gateway([n1, n2, ("b3", self.bucket_url())], 2)
        self.wait_for("the bucket node up", lambda: self.node_up(gw, "b3"))
        files = {"pool/f%02d.bin" % i: os.urandom(40000 + 7919 * i) for i in range(26)}
        files.update({"big/b%d.bin" % i: os.urandom((9 << 20) + 4097 * i) for i in range(4)})
        # A file large enough not to fit in loopback socket buffers, read from the bucket first.
        huge = next(p for p in ("huge/h%d.bin" % i for i in range(50))
                    if self.whereis(gw, p)["placement"][0] == "b3")
        files[huge] = os.urandom(64 << 20)
        for path, body in files.items():
            st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
            self.assertEqual(st, 201, (path, raw))

        objects = self.list_objects()
        on_bucket = sorted(p for p in files if p in objects)
        for path, body in files.items():
            self.assertEqual(len(self.holders([n1, n2], objects, path)), 2,
                             (path, self.holders([n1, n2], objects, path)))
        for path in on_bucket:
            status, headers = self.rgw.head("/%s/%s/%s" % (BUCKET, PREFIX, path))
            self.assertEqual(status, 200, path)
            self.assertEqual(headers.get("x-amz-meta-sha256"), sha(files[path]), path)
        print("\nbucket holds %d of %d files (%d of the 5 multipart-sized)"
              % (len(on_bucket), len(files),
                 sum(p.startswith(("big/", "huge/")) for p in on_bucket)))
        self.assertGreater(len(on_bucket), 0)
        self.assertTrue(any(p.startswith("big/") for p in on_bucket), on_bucket)
        self.read_all(gw, files)
        # Objects written to the bucket by others reach the gateway through the bucket node's
        # inventory (a re-listing every 2 s): with depot's sha256 metadata only.
        direct = os.urandom(5000)
        for key, meta in (("direct/d.bin", ["x-amz-meta-sha256: " + sha(direct)]),
                          ("direct/plain.bin", [])):
            status, raw = self.rgw.request("PUT", "/%s/%s/%s" % (BUCKET, PREFIX, key), direct,
                                           headers=meta)
            self.assertEqual(status, 200, raw)
        self.wait_for("the bucket's inventory", lambda: [
            c["node"] for c in self.whereis(gw, "direct/d.bin")["copies"]] == ["b3"])
        self.assertEqual(self.whereis(gw, "direct/plain.bin")["copies"], [])

        errors, reads = [], [0]
        lock = threading.Lock()
        stop = threading.Event()

        def reader(k):
            paths = sorted(files)
            i = k
            while not stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
                    conn.request("GET", "/" + path)
                    r = conn.getresponse()
                    body = r.read()
                    conn.close()
                    ok = r.status == 200 and hashlib.sha256(body).hexdigest() == sha(files[path])
                    with lock:
                        reads[0] += 1
                        if not ok:
                            errors.append((path, r.status, len(body)))
                except Exception as e:  # noqa: BLE001 - every failure is a client error
                    with lock:
                        errors.append((path, repr(e)))

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        # One slow client holds a GET the gateway streams from the bucket mid-body.
        self.assertIn(huge, on_bucket)
        slow = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
        slow.request("GET", "/" + huge)
        slow_r = slow.getresponse()
        slow_head = slow_r.read(1 << 20)
        time.sleep(2)
        before = reads[0]
        self.rgw.stop_rgw()
        t0 = time.monotonic()
        # Right away, before the gateway marks the bucket down: PUTs still get two copies.
        early = {"late/e%02d.bin" % i: os.urandom(30000 + 101 * i) for i in range(8)}
        replaced = 0
        for path, body in early.items():
            st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
            self.assertEqual(st, 201, (path, raw))
            replaced += b'"b3"' in raw
        self.wait_for("the bucket node down", lambda: not self.node_up(gw, "b3"))
        slow_body = slow_head + slow_r.read()
        slow.close()
        self.assertEqual(sha(slow_body), sha(files[huge]), "a GET broken mid-body")
        self.assertIn("bytes were sent on", gw.stderr(), gw.describe())
        down_after = time.monotonic() - t0
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        print("reads: %d before the stop, %d in all; bucket seen down %.1f s after the stop "
              "(early PUTs first); %d of %d early PUTs replaced the bucket's copy"
              % (before, reads[0], down_after, replaced, len(early)))
        self.assertEqual(errors, [], gw.describe())
        self.assertGreater(reads[0], before)
        failovers = gw.stderr().count("cluster_read_failover")
        print("reads failed over from the bucket: %d" % failovers)
        self.assertGreater(failovers, 0, gw.describe())

        late = {"late/l%02d.bin" % i: os.urandom(30000 + 103 * i) for i in range(5)}
        for path, body in late.items():
            st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
            self.assertEqual(st, 201, (path, raw))
        for path in list(early) + list(late):
            self.assertEqual(self.holders_on_disk([n1, n2], path), ["n1", "n2"], path)
        self.read_all(gw, dict(files, **early, **late))


if __name__ == "__main__":
    unittest.main()
