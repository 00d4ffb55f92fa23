"""Clients reading through a gateway must never notice a node die: 16 clients (curl, apt-get
style sequential GETs, ranged reads) reading while a holder is killed with -9 and restarted see
zero errors and every body's sha256 right; a node killed in the middle of a 256 MiB download is
replaced by the next holder, which resumes with Range, so the client gets one complete, correct
body; a holder whose copy vanished (404) is dropped from the location log."""

import hashlib
import http.client
import json
import os
import subprocess
import threading
import time
import unittest

from cluster_harness import CLIENTS, ClusterMixin, call, sha
from depot_harness import DepotTestCase
from serve_harness import metric, parse_prometheus

WRITER = CLIENTS["writer"][0]


def put_file(gw, path, body):
    st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
    assert st == 201, (st, raw)


class ClusterReadBreaksOnNodeDeath(ClusterMixin, DepotTestCase):
    def test_a_node_killed_mid_download_is_resumed_on_another(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        gw = self.start_gateway(nodes, 2)
        size = 256 << 20
        digest = hashlib.sha256()
        src = self.tmp / "big.bin"
        with open(src, "wb") as f:
            for _ in range(size >> 20):
                block = os.urandom(1 << 20)
                digest.update(block)
                f.write(block)
        st = subprocess.run(["curl", "-sf", "-T", str(src), "-H", "Authorization: Bearer " + WRITER,
                             "-H", "X-Depot-Sha256: " + digest.hexdigest(),
                             gw.base + "/big/big.bin"], capture_output=True)
        self.assertEqual(st.returncode, 0, st.stderr)
        first = self.whereis(gw, "big/big.bin")
        holders = [c["node"] for c in first["copies"]]
        self.assertEqual(len(holders), 2, first)
        serving = next(n for n in first["placement"] if n in holders)
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
        conn.request("GET", "/big/big.bin")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        got = hashlib.sha256()
        head = r.read(32 << 20)
        got.update(head)
        self.kill9(next(n for n in nodes if n.name == serving))
        rest = r.read()
        got.update(rest)
        conn.close()
        self.assertEqual(len(head) + len(rest), size)
        self.assertEqual(got.hexdigest(), digest.hexdigest())
        self.assertIn("cluster_read_failover", gw.stderr())
        text = call(gw.port, "GET", "/metrics")[2].decode()
        self.assertGreaterEqual(metric(parse_prometheus(text), "depot_cluster_read_failovers_total"), 1)

    def test_sixteen_clients_see_no_error_while_a_node_dies_and_returns(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 5)]
        gw = self.start_gateway(nodes, 2)
        files = {"pool/p%02d.deb" % i: os.urandom(200000 + 4099 * i) for i in range(40)}
        for path, body in files.items():
            put_file(gw, path, body)
        errors, done = [], [0]
        stop = threading.Event()

        def reader(k):
            paths = sorted(files)
            i = k
            while not stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                try:
                    if k % 4 == 0:
                        out = subprocess.run(["curl", "-sf", gw.base + "/" + path],
                                             capture_output=True, timeout=60)
                        ok = out.returncode == 0 and sha(out.stdout) == sha(files[path])
                    elif k % 4 == 1:
                        st, hdr, body = call(gw.port, "GET", "/" + path,
                                             headers={"Range": "bytes=1000-"})
                        ok = st == 206 and body == files[path][1000:]
                    else:
                        st, _, body = call(gw.port, "GET", "/" + path)
                        ok = st == 200 and sha(body) == sha(files[path])
                    if not ok:
                        errors.append((k, path))
                    done[0] += 1
                except Exception as e:  # noqa: BLE001 - every failure counts
                    errors.append((k, path, repr(e)))

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        victim = nodes[0]
        self.kill9(victim)
        time.sleep(2.0)
        self.restart(victim)
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(errors, [], gw.describe())
        self.assertGreater(done[0], 100)
        self.assertIn("cluster_read_failover", gw.stderr())  # the death was met mid-read

    def test_a_holder_that_lost_its_copy_is_dropped_from_the_log(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        gw = self.start_gateway(nodes, 2, check_interval="30")
        body = os.urandom(50000)
        put_file(gw, "pool/gone.deb", body)
        w = self.whereis(gw, "pool/gone.deb")
        first = next(n for n in w["placement"])
        node = next(n for n in nodes if n.name == first)
        os.unlink(node.dir / "pool/gone.deb")  # behind the node's back
        st, _, got = call(gw.port, "GET", "/pool/gone.deb")
        self.assertEqual((st, got), (200, body))
        after = [c["node"] for c in self.whereis(gw, "pool/gone.deb")["copies"]]
        self.assertNotIn(first, after)


if __name__ == "__main__":
    unittest.main()
