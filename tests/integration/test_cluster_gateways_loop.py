"""Gateways in front of gateways must never loop: a request that already passed a gateway, or
that passed 8, is answered 508; two gateways listing each other (A lists B, B lists A) answer a
missing path with 404 at once instead of asking each other forever, and serve a file either
holds; copies count on leaf nodes only, so such a cycle stores exactly R leaf copies; a chain of
gateways works up to 8 hops."""

import json
import os
import time
import unittest

from cluster_harness import CLIENTS, ClusterMixin, call
from depot_harness import DepotTestCase

WRITER = CLIENTS["writer"][0]


class ClusterGatewaysLoop(ClusterMixin, DepotTestCase):
    def test_via_header_limits(self):
        gw = self.start_gateway([self.start_node("n1")], 1, name="g1")
        st, _, raw = call(gw.port, "GET", "/x", headers={"X-Depot-Via": "g0, g1"})
        self.assertEqual(st, 508, raw)
        eight = ", ".join("h%d" % i for i in range(8))
        st, _, raw = call(gw.port, "GET", "/x", headers={"X-Depot-Via": eight})
        self.assertEqual(st, 508, raw)
        seven = ", ".join("h%d" % i for i in range(7))
        st, _, _ = call(gw.port, "GET", "/x", headers={"X-Depot-Via": seven})
        self.assertEqual(st, 404)

    def test_two_gateways_listing_each_other(self):
        n1, n2 = self.start_node("n1"), self.start_node("n2")
        a = self.start_gateway([n1], 1, name="A")
        b = self.start_gateway([n2, ("A", a.base)], 1, name="B")
        # A is restarted listing B as well: the cycle.
        a.stop()
        a.args += ["--node", "B=" + b.base]
        a.listen_port = a.port
        a.start()
        body = os.urandom(4000)
        st, _, raw = call(n2.port, "PUT", "/_depot/v1/files/pool/on-n2.deb", body,
                          "node-secret")
        self.assertEqual(st, 201, raw)
        started = time.monotonic()
        st, _, _ = call(a.port, "GET", "/pool/missing.deb", timeout=20)
        self.assertEqual(st, 404)
        self.assertLess(time.monotonic() - started, 10)
        st, _, got = call(a.port, "GET", "/pool/on-n2.deb")
        self.assertEqual((st, got), (200, body))

    def test_a_cycle_stores_exactly_r_leaf_copies(self):
        """A (R=2) lists n1 and B; B (R=2) lists n2 and A: copies count on leaf nodes only, so
        every upload through either gateway lands on exactly 2 leaf nodes."""
        n1, n2 = self.start_node("n1"), self.start_node("n2")
        a = self.start_gateway([n1], 1, name="A")
        b = self.start_gateway([n2, ("A", a.base)], 2, name="B")
        a.stop()
        i = a.args.index("--copies")
        a.args[i + 1] = "2"
        a.args += ["--node", "B=" + b.base]
        a.listen_port = a.port
        a.start()
        self.wait_for("A to see B up", lambda: all(
            v["up"] for v in json.loads(call(a.port, "GET", "/_depot/v1/cluster/status")[2])["nodes"]))
        files = {}
        for k in range(10):
            for gw in (a, b):
                path = "pool/%s-%d.deb" % (gw.name, k)
                files[path] = os.urandom(3000 + k)
                st, _, raw = call(gw.port, "PUT", "/" + path, files[path], WRITER)
                self.assertEqual(st, 201, raw + gw.describe().encode())
        for path, body in files.items():
            self.assertEqual(self.holders_on_disk([n1, n2], path), ["n1", "n2"], path)
            for gw in (a, b):
                st, _, got = call(gw.port, "GET", "/" + path)
                self.assertEqual((st, got), (200, body), path)

    def test_a_chain_of_nine_gateways(self):
        node = self.start_node("n1")
        body = os.urandom(3000)
        st, _, _ = call(node.port, "PUT", "/_depot/v1/files/pool/deep.deb", body, "node-secret")
        self.assertEqual(st, 201)
        chain = [self.start_gateway([node], 1, name="c1")]
        for i in range(2, 10):
            chain.append(self.start_gateway([("c%d" % (i - 1), chain[-1].base)], 1,
                                            name="c%d" % i))
        # c8 reaches the node through 8 gateways; c9's request arrives at c1 with 8 names.
        st, _, got = call(chain[7].port, "GET", "/pool/deep.deb", timeout=30)
        self.assertEqual((st, got), (200, body))
        st, _, _ = call(chain[8].port, "GET", "/pool/deep.deb", timeout=30)
        self.assertNotEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
