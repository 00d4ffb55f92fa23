"""Adding a node must move only what placement says: with 5 equal nodes, R=2 and 20,000 paths,
`depot cluster add-node` then `depot cluster rebalance` moves 1/6 of the copies (0.167 +- 0.02;
modulo placement would move 5/6), copying each to the new node before trimming the old one, so
no sampled path ever has fewer than R copies during the move, and afterwards every path has
exactly R copies, on the nodes placement picks. `depot cluster remove-node` drains a node
(its copies made again elsewhere first) and then removes it."""

import json
import os
import subprocess
import threading
import http.client
import unittest

from cluster_harness import CLIENTS, ClusterMixin, call
from depot_harness import DepotTestCase, depot_bin

# 20,000 paths; a sanitized build (3x slower) checks 5,000.
PATHS = int(os.environ.get("DEPOT_JOIN_PATHS",
                           "5000" if os.environ.get("DEPOT_SANITIZED") == "1" else "20000"))
CAPACITY = str(1 << 30)


class ClusterJoinMovesTooMuch(ClusterMixin, DepotTestCase):
    def cli(self, gw, *args):
        env = dict(os.environ, DEPOT_GATEWAY=gw.base, DEPOT_TOKEN=CLIENTS["writer"][0])
        out = subprocess.run([depot_bin(), "cluster", *args], env=env, capture_output=True,
                             text=True, timeout=600)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr + self.serve_info())
        return out.stdout

    def placements(self, gw, paths):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        out = {}
        for p in paths:
            conn.request("GET", "/_depot/v1/cluster/whereis?path=" + p)
            out[p] = json.loads(conn.getresponse().read())["placement"]
        conn.close()
        return out

    def status(self, gw):
        return json.loads(call(gw.port, "GET", "/_depot/v1/cluster/status")[2])

    def test_a_sixth_node_takes_a_sixth_of_the_copies(self):
        nodes = [self.start_node("n%d" % i, capacity=CAPACITY) for i in range(1, 6)]
        gw = self.start_gateway(nodes, 2, "--repair-interval", "0")
        paths = ["p/%02d/f%05d" % (i % 97, i) for i in range(PATHS)]
        where = self.placements(gw, paths)
        # Seeded straight into the nodes' directories, where placement puts them; the nodes
        # find them at start, a new gateway in their inventories.
        gw.stop()
        for n in nodes:
            n.stop()
        for p in paths:
            for name in where[p]:
                f = self.tmp / ("root-" + name) / p
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(p.encode())
        for n in nodes:
            self.restart(n)
        gw = self.start_gateway(nodes, 2, "--repair-interval", "0", name="gw2")
        self.wait_for("the gateway to read every inventory",
                      lambda: self.status(gw)["copies"] == 2 * PATHS, timeout=120)
        sixth = self.start_node("n6", capacity=CAPACITY)
        self.cli(gw, "add-node", "n6=" + sixth.base)
        self.wait_for("n6 to be up", lambda: any(
            v["name"] == "n6" and v["up"] for v in self.status(gw)["nodes"]))
        sample = paths[::max(1, PATHS // 200)]
        everyone = nodes + [sixth]
        low = []
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                for p in sample:
                    if len(self.holders_on_disk(everyone, p)) < 2:
                        low.append(p)

        t = threading.Thread(target=sampler)
        copied_before = self.status(gw)["repair"]["copied"]
        t.start()
        try:
            self.cli(gw, "rebalance")
        finally:
            stop.set()
            t.join()
        self.assertEqual(low, [])
        self.assertEqual(copied_before, 0)  # no pass copied anything while inventories were read
        moved = self.status(gw)["repair"]["copied"] - copied_before
        fraction = moved / (2.0 * PATHS)
        print("\njoin 5->6: moved %d of %d copies (%.4f, ideal 0.1667)" % (moved, 2 * PATHS,
                                                                           fraction))
        self.assertAlmostEqual(fraction, 1 / 6, delta=0.02)
        after = self.placements(gw, sample)
        for p in sample:
            self.assertEqual(self.holders_on_disk(everyone, p), sorted(after[p]), p)
        self.assertEqual(self.status(gw)["copies"], 2 * PATHS)

    def test_remove_node_drains_before_it_removes(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 5)]
        gw = self.start_gateway(nodes, 2, "--repair-interval", "0")
        files = {"pool/d%02d.deb" % i: os.urandom(5000 + i) for i in range(40)}
        for path, body in files.items():
            st, _, raw = call(gw.port, "PUT", "/" + path, body, CLIENTS["writer"][0])
            self.assertEqual(st, 201, raw)
        gone = nodes[0]
        held = [p for p in files if (gone.dir / p).is_file()]
        self.assertTrue(held)
        self.cli(gw, "remove-node", gone.name)
        self.assertEqual([p for p in files if (gone.dir / p).is_file()], [])
        rest = nodes[1:]
        for path, body in files.items():
            self.assertEqual(len(self.holders_on_disk(rest, path)), 2, path)
            st, _, got = call(gw.port, "GET", "/" + path)
            self.assertEqual((st, got), (200, body))
        self.assertNotIn(gone.name, [v["name"] for v in self.status(gw)["nodes"]])
        out = self.cli(gw, "fsck")
        report = json.loads(out)
        self.assertEqual((report["short_paths"], report["lost_paths"], report["extra_copies"]),
                         (0, 0, 0), report)


if __name__ == "__main__":
    unittest.main()
