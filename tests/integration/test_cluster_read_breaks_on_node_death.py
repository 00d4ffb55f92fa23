"""Clients reading through a gateway must never notice a node die: 16 clients (4 real apt-get
on a signed archive, 4 real pip, 4 curl, 4 ranged GETs) reading while a holder is killed with -9
and restarted see zero errors and every body's sha256 right; a node killed in the middle of a
256 MiB download is replaced by the next holder, which resumes with Range, so the client gets
one complete, correct body; a holder whose copy vanished (404) is dropped from the location
log (and repaired)."""

import hashlib
import http.client
import os
import re
import subprocess
import threading
import time
import unittest

import cluster_clients as cc
from cluster_clients import WRITER, put_file
from cluster_harness import ClusterMixin, call
from depot_harness import DepotTestCase
from serve_harness import metric, parse_prometheus


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
        apt_root, keyring, debs = cc.build_apt(self.tmp)
        cc.upload_tree(gw, apt_root, cc.APT_PREFIX)
        pypi_root, wheels = cc.build_pypi(self.tmp)
        cc.upload_tree(gw, pypi_root, cc.PYPI_PREFIX)

        stop = threading.Event()
        steps = [("apt-get", cc.apt_step(gw, self.tmp / ("apt%d" % k), keyring, debs))
                 for k in range(4)]
        steps += [("pip", cc.pip_step(gw, self.tmp / ("pip%d" % k), wheels)) for k in range(4)]
        steps += [("curl", cc.curl_step(gw, files, k)) for k in range(4)]
        steps += [("ranged", cc.ranged_step(gw, files, k)) for k in range(4)]
        # The fast readers pause so that apt-get and pip get CPU for rounds of a few seconds.
        clients = [cc.Client(kind, step, stop, 0.0 if kind in ("apt-get", "pip") else 0.05)
                   for kind, step in steps]
        self.addCleanup(lambda: [stop.set(), [c.thread.join(150) for c in clients]])
        for c in clients:
            c.thread.start()
        # The InRelease's first holder: every apt-get update reads it from there.
        w = self.whereis(gw, cc.APT_PREFIX + "/dists/stable/InRelease")
        first = next(n for n in w["placement"] if n in [c["node"] for c in w["copies"]])
        victim = next(n for n in nodes if n.name == first)
        self.wait_rounds(clients, float("-inf"), "a first round", gw)
        killed = time.monotonic()
        self.kill9(victim)
        time.sleep(1.5)
        self.wait_rounds(clients, killed, "a round with the node dead", gw)
        self.restart(victim)
        back = time.monotonic()
        time.sleep(1.0)
        self.wait_rounds(clients, back, "a round after the restart", gw)
        stop.set()
        for c in clients:
            c.thread.join(150)
        errors = [e for c in clients for e in c.errors()]
        self.assertEqual(errors, [], gw.describe())
        rounds = {}
        for c in clients:
            rounds[c.kind] = rounds.get(c.kind, 0) + len(c.rounds)
            self.assertGreaterEqual(len(c.rounds), 3, c.kind)
        self.assertGreater(rounds["curl"] + rounds["ranged"], 100, rounds)
        self.assertIn("cluster_read_failover", gw.stderr())  # the death was met mid-read

    def wait_rounds(self, clients, since, what, gw, timeout=60):
        """Waits until every client ended a round it started at or after `since`; a client
        that errs ends the wait (the test then fails on its errors)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c.errors() for c in clients) or all(c.done_since(since) for c in clients):
                return
            time.sleep(0.1)
        late = [c.kind for c in clients if not c.done_since(since)]
        self.fail("timed out waiting for %s of %s%s" % (what, late, gw.describe()))

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
        if first in after:
            # The repair pass this miss started already copied it back, which it does only
            # for a path the log counted short: the row was dropped.
            repaired = r"cluster_pass_done mode=repair paths=\d+ copied=[1-9]"
            self.wait_for("the repair pass", lambda: re.search(repaired, gw.stderr()))
            self.assertEqual((node.dir / "pool/gone.deb").read_bytes(), body)


if __name__ == "__main__":
    unittest.main()
