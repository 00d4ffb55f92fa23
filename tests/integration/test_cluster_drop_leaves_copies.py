"""DELETE through a gateway must remove a path from every node, including copies its location
log does not know about (a stray copy written to a node directly); it answers 200 only when
every node confirmed, and with a node down 502 naming that node, the other copies gone; the path
stays deleted when that node returns with its copy (no repair brings it back), and the copy is
deleted then."""

import json
import os
import unittest

from cluster_harness import CLIENTS, NODE_TOKEN, ClusterMixin, call
from depot_harness import DepotTestCase

WRITER = CLIENTS["writer"][0]


class ClusterDropLeavesCopies(ClusterMixin, DepotTestCase):
    def test_drop_reaches_stray_copies_and_names_a_down_node(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 5)]
        gw = self.start_gateway(nodes, 2, check_interval="0.2")
        body = os.urandom(70000)
        st, _, raw = call(gw.port, "PUT", "/pool/a.deb", body, WRITER)
        self.assertEqual(st, 201, raw)
        holders = self.holders_on_disk(nodes, "pool/a.deb")
        stray = next(n for n in nodes if n.name not in holders)
        st, _, raw = call(stray.port, "PUT", "/_depot/v1/files/pool/a.deb", body, NODE_TOKEN)
        self.assertEqual(st, 201, raw)
        st, _, raw = call(gw.port, "DELETE", "/pool/a.deb", token=WRITER)
        self.assertEqual(st, 200, raw)
        rep = json.loads(raw)
        self.assertEqual(sorted(rep["removed"]), sorted(holders + [stray.name]))
        self.assertEqual(self.holders_on_disk(nodes, "pool/a.deb"), [])
        st, _, _ = call(gw.port, "GET", "/pool/a.deb")
        self.assertEqual(st, 404)

        st, _, raw = call(gw.port, "PUT", "/pool/b.deb", body, WRITER)
        self.assertEqual(st, 201, raw)
        holders = self.holders_on_disk(nodes, "pool/b.deb")
        down = next(n for n in nodes if n.name == holders[0])
        self.kill9(down)
        self.wait_for("the gateway to see the node down", lambda: not next(
            v for v in json.loads(call(gw.port, "GET", "/_depot/v1/cluster/status")[2])["nodes"]
            if v["name"] == down.name)["up"])
        st, _, raw = call(gw.port, "DELETE", "/pool/b.deb", token=WRITER)
        self.assertEqual(st, 502, raw)
        rep = json.loads(raw)
        self.assertEqual([f["node"] for f in rep["failed"]], [down.name])
        self.assertIn(down.name, rep["failed"][0]["error"])
        alive = [n for n in nodes if n is not down]
        self.assertEqual(self.holders_on_disk(alive, "pool/b.deb"), [])
        # The node comes back with its copy: the path stays deleted (404, never repaired back
        # to R copies) and the stale copy is deleted by the next pass.
        self.assertTrue((down.dir / "pool/b.deb").is_file())
        self.restart(down)
        self.assertEqual(call(gw.port, "GET", "/pool/b.deb")[0], 404)
        self.wait_for("the stale copy to be deleted", lambda: not (down.dir / "pool/b.deb").exists())
        self.assertEqual(self.holders_on_disk(nodes, "pool/b.deb"), [])
        self.assertEqual(call(gw.port, "GET", "/pool/b.deb")[0], 404)
        # A new upload brings the path back.
        st, _, raw = call(gw.port, "PUT", "/pool/b.deb", b"again", WRITER)
        self.assertEqual(st, 201, raw)
        self.assertEqual(call(gw.port, "GET", "/pool/b.deb")[2], b"again")


if __name__ == "__main__":
    unittest.main()
