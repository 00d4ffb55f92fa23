"""A gateway (`depot cluster serve --copies R`) must store every uploaded file on exactly R
storage nodes, chosen by placement, with the body read once and streamed to all of them: 200
files with R=3 over 5 nodes land on exactly 3 nodes each, byte-identical; a node killed just
before an upload is replaced at once (still R copies, 201); with every node dead the answer is
503 and nothing is half-written; a body that does not match its X-Depot-Sha256 is 409 on every
node; two uploaders at once never push a node over its --capacity."""

import json
import os
import threading
import unittest

from cluster_harness import CLIENTS, NODE_TOKEN, ClusterMixin, call, sha
from depot_harness import DepotTestCase
from serve_harness import metric, parse_prometheus

WRITER = CLIENTS["writer"][0]


class ClusterFanoutMisplacesCopies(ClusterMixin, DepotTestCase):
    def put(self, gw, path, body, token=WRITER, **kw):
        st, _, raw = call(gw.port, "PUT", "/" + path, body, token, **kw)
        return st, json.loads(raw) if raw.startswith(b"{") else raw

    def test_every_file_lands_on_exactly_r_nodes(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 6)]
        gw = self.start_gateway(nodes, 3)
        files = {"pool/f%03d.deb" % i: os.urandom(1000 + 97 * i) for i in range(200)}
        for path, body in files.items():
            st, rep = self.put(gw, path, body)
            self.assertEqual(st, 201, rep)
            self.assertEqual(len(rep["stored"]), 3, rep)
        spread = {n.name: 0 for n in nodes}
        for path, body in files.items():
            on = self.holders_on_disk(nodes, path)
            self.assertEqual(len(on), 3, path)
            for name in on:
                spread[name] += 1
                node = next(n for n in nodes if n.name == name)
                self.assertEqual((node.dir / path).read_bytes(), body)
            self.assertEqual(sorted(self.whereis(gw, path)["placement"]), on)
            st, _, got = call(gw.port, "GET", "/" + path)
            self.assertEqual((st, sha(got)), (200, sha(body)))
        # Placement spreads the 600 copies: each of 5 equal nodes has some share of them.
        self.assertEqual(sum(spread.values()), 600)
        self.assertGreater(min(spread.values()), 60, spread)
        def samples():
            return parse_prometheus(call(gw.port, "GET", "/metrics")[2].decode())

        # Node gauges come from the nodes' status, read at each check.
        self.wait_for("every node's file count in /metrics", lambda: all(
            metric(samples(), "depot_cluster_node_files", node=n.name) == spread[n.name]
            for n in nodes))
        m = samples()
        self.assertEqual(metric(m, "depot_cluster_puts_total", code="201"), 200)
        self.assertEqual(metric(m, "depot_cluster_copies"), 600)
        for n in nodes:
            self.assertEqual(metric(m, "depot_cluster_node_up", node=n.name), 1)

    def test_a_dead_node_is_replaced_and_no_node_left_is_503(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 5)]
        gw = self.start_gateway(nodes, 3, check_interval="30")  # the death is not yet seen
        body = os.urandom(300000)
        victim = self.whereis(gw, "pool/x.deb")["placement"][0]
        self.kill9(next(n for n in nodes if n.name == victim))
        st, rep = self.put(gw, "pool/x.deb", body)
        self.assertEqual(st, 201, rep)
        self.assertEqual(len(rep["stored"]), 3, rep)
        self.assertNotIn(victim, rep["stored"])
        self.assertIn(victim, [f["node"] for f in rep["failed"]])
        for n in nodes:
            if n.proc:
                self.kill9(n)
        st, rep = self.put(gw, "pool/y.deb", body)
        self.assertEqual(st, 503, rep)
        for n in nodes:
            self.assertFalse((n.dir / "pool/y.deb").exists())

    def test_a_body_with_the_wrong_digest_is_stored_nowhere(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        gw = self.start_gateway(nodes, 2)
        st, rep = self.put(gw, "pool/bad.deb", b"x" * 5000,
                           headers={"X-Depot-Sha256": sha(b"y" * 5000)})
        self.assertEqual(st, 409, rep)
        self.assertEqual(self.holders_on_disk(nodes, "pool/bad.deb"), [])
        st, _, _ = call(gw.port, "GET", "/pool/bad.deb")
        self.assertEqual(st, 404)

    def test_concurrent_uploaders_never_overfill_a_node(self):
        caps = {"n1": 24 << 20, "n2": 48 << 20, "n3": 96 << 20}  # 168 MiB; 192 MiB are sent
        nodes = [self.start_node(n, capacity=c) for n, c in caps.items()]
        gw = self.start_gateway(nodes, 1)
        body = os.urandom(8 << 20)
        results = []

        def uploader(k):
            for i in range(12):
                st, _ = self.put(gw, "big/u%d-%02d.bin" % (k, i), body)
                results.append(st)

        threads = [threading.Thread(target=uploader, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Every upload either found room (201) or was refused whole (507), never half-stored.
        self.assertLessEqual(set(results), {201, 507}, results)
        self.assertGreaterEqual(results.count(201), 17, results)
        for n in nodes:
            used = sum(f.stat().st_size for f in n.dir.rglob("*.bin"))
            self.assertLessEqual(used, caps[n.name], n.name)
            st, _, raw = call(n.port, "GET", "/_depot/v1/status", token=NODE_TOKEN)
            self.assertLessEqual(json.loads(raw)["used"], caps[n.name])


if __name__ == "__main__":
    unittest.main()
