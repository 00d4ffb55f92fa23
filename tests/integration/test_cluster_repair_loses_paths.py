"""A cluster must heal itself: when a node dies with its directory deleted, every path it held
is copied again from a live holder to its next placement node once --down-grace has passed —
zero paths lost, and the bytes copied no more than 1.05x what was lost (only what the dead node
held moves, never through a client); when a node that was given up comes back with its files,
the copies it brings are extra and are trimmed only after R others are confirmed, leaving
exactly R; an upload stored with fewer than R copies (202) is completed by repair."""

import json
import os
import shutil
import time
import unittest

from cluster_harness import CLIENTS, ClusterMixin, call
from depot_harness import DepotTestCase

WRITER = CLIENTS["writer"][0]
GATEWAY_ARGS = ("--down-grace", "1", "--repair-interval", "0")


class ClusterRepairLosesPaths(ClusterMixin, DepotTestCase):
    def status(self, gw):
        st, _, raw = call(gw.port, "GET", "/_depot/v1/cluster/status")
        self.assertEqual(st, 200, raw)
        return json.loads(raw)

    def upload(self, gw, files):
        for path, body in files.items():
            st, _, raw = call(gw.port, "PUT", "/" + path, body, WRITER)
            self.assertIn(st, (201, 202), raw)

    def copies_on_disk(self, nodes, files):
        return {p: self.holders_on_disk(nodes, p) for p in files}

    def node_down(self, gw, name):
        return not next(n for n in self.status(gw)["nodes"] if n["name"] == name)["up"]

    def test_a_dead_node_with_its_directory_deleted_loses_nothing(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 5)]
        gw = self.start_gateway(nodes, 2, *GATEWAY_ARGS, check_interval="0.2")
        files = {"pool/r%03d.deb" % i: os.urandom(20000 + 1009 * i) for i in range(120)}
        self.upload(gw, files)
        victim = nodes[0]
        lost = sum(len(b) for p, b in files.items() if (victim.dir / p).is_file())
        self.assertGreater(lost, 0)
        self.kill9(victim)
        shutil.rmtree(victim.dir)
        alive = nodes[1:]
        self.wait_for("repair to restore 2 copies of every path", lambda: all(
            len(h) >= 2 for h in self.copies_on_disk(alive, files).values()), timeout=60)
        self.wait_for("the pass to finish", lambda: self.status(gw)["repair"]["passes"] >= 1 and
                      self.status(gw)["repair"]["short_paths"] == 0)
        repair = self.status(gw)["repair"]
        self.assertLessEqual(repair["copied_bytes"], 1.05 * lost, repair)
        self.assertGreaterEqual(repair["copied_bytes"], lost, repair)
        self.assertEqual(repair["lost_paths"], 0)
        for path, body in files.items():
            st, _, got = call(gw.port, "GET", "/" + path)
            self.assertEqual((st, got), (200, body), path)
        # It returns empty: its inventory is new, nothing of it counts, nothing is trimmed.
        victim.dir.mkdir()
        self.restart(victim)
        self.wait_for("the node to be back", lambda: not self.node_down(gw, victim.name))
        self.assertTrue(all(len(h) == 2 for h in self.copies_on_disk(nodes, files).values()))

    def test_a_node_back_with_its_files_has_its_extra_copies_trimmed(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        gw = self.start_gateway(nodes, 2, *GATEWAY_ARGS, check_interval="0.2")
        files = {"pool/t%02d.deb" % i: os.urandom(30000 + 7 * i) for i in range(30)}
        self.upload(gw, files)
        victim = nodes[0]
        held = [p for p in files if (victim.dir / p).is_file()]
        self.assertTrue(held)
        self.kill9(victim)
        alive = nodes[1:]
        self.wait_for("repair", lambda: all(
            len(h) == 2 for h in self.copies_on_disk(alive, files).values()), timeout=60)
        self.restart(victim)
        self.wait_for("extra copies to be trimmed", lambda: all(
            len(h) == 2 for h in self.copies_on_disk(nodes, files).values()), timeout=60)
        self.assertGreaterEqual(self.status(gw)["repair"]["trimmed"], len(held))
        for path, body in files.items():
            st, _, got = call(gw.port, "GET", "/" + path)
            self.assertEqual((st, got), (200, body), path)

    def test_an_upload_short_of_copies_is_completed_when_the_node_returns(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        gw = self.start_gateway(nodes, 3, *GATEWAY_ARGS, check_interval="0.2")
        victim = nodes[2]
        self.kill9(victim)
        self.wait_for("the node to be seen down", lambda: self.node_down(gw, victim.name))
        body = os.urandom(40000)
        st, _, raw = call(gw.port, "PUT", "/pool/short.deb", body, WRITER)
        self.assertEqual(st, 202, raw)
        self.assertEqual(len(json.loads(raw)["stored"]), 2)
        self.restart(victim)
        self.wait_for("the third copy", lambda: (victim.dir / "pool/short.deb").is_file(),
                      timeout=30)
        self.assertEqual((victim.dir / "pool/short.deb").read_bytes(), body)


if __name__ == "__main__":
    unittest.main()
