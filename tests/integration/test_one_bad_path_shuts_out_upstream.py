"""One bad path must not shut out a whole upstream: an anonymous client asking for a path the
upstream answers 500 (or one that stalls) gets its error, and the error is remembered for that
path only (--path-error-ttl: upstream is not asked again for it meanwhile); every other path of
the upstream is still fetched and served. The circuit opens on the upstream's health instead:
when it cannot be reached at all, or when many different paths fail (--circuit-paths within
--circuit-window), and then nothing is asked upstream until --circuit-cooldown."""

import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, fetch


class OneBadPathShutsOutUpstream(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        pool = self.up / "pool"
        pool.mkdir(parents=True)
        for name in ["bad.deb", "stalled.deb"] + ["good-%d.deb" % i for i in range(8)]:
            (pool / name).write_bytes(name.encode() * 100)

    def serve(self, *extra):
        return self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                                "--circuit-cooldown", "30", *extra)

    def gets(self, path):
        return sum(1 for e in self.server.log() if e["path"] == path)

    def assertGood(self, srv, name):
        r = fetch(srv.base, "/up/pool/" + name)
        self.assertEqual(r.status, 200, "%s after another path failed: %r%s"
                         % (name, r, self.serve_info()))
        self.assertEqual(r.body, name.encode() * 100)

    def test_a_500_on_one_path_is_remembered_for_that_path_only(self):
        srv = self.serve("--path-error-ttl", "30", "--retries", "0")
        self.server.set_rules([{"glob": "/pool/bad.deb", "action": "error", "status": 500}])
        for _ in range(3):  # an attacker repeating the bad request
            r = fetch(srv.base, "/up/pool/bad.deb")
            self.assertEqual(r.status, 502, r)
        self.assertEqual(self.gets("/pool/bad.deb"), 1, "upstream asked again for the bad path")
        for i in range(4):
            self.assertGood(srv, "good-%d.deb" % i)

    def test_a_stalled_path_does_not_shut_out_the_others(self):
        srv = self.serve("--stall-timeout", "2", "--upstream-min-rate", "1k")
        self.server.set_rules([{"glob": "/pool/stalled.deb", "action": "stall", "after": 0,
                                "seconds": 60}])
        r = fetch(srv.base, "/up/pool/stalled.deb", timeout=30)
        self.assertFalse(r.status == 200 and r.complete, r)
        for i in range(4):
            self.assertGood(srv, "good-%d.deb" % i)

    def test_many_failing_paths_open_the_circuit(self):
        srv = self.serve("--circuit-paths", "3", "--circuit-window", "30")
        self.server.set_rules([{"glob": "/*", "action": "error", "status": 500}])
        for i in range(3):
            r = fetch(srv.base, "/up/pool/good-%d.deb" % i)
            self.assertEqual(r.status, 502, r)
        self.server.clear_rules()
        self.server.clear_log()
        r = fetch(srv.base, "/up/pool/good-7.deb")
        self.assertEqual(r.status, 502, "circuit not open after 3 failing paths: %r" % r)
        self.assertEqual(self.server.log(), [], "upstream asked while the circuit was open")

    def test_an_unreachable_upstream_opens_the_circuit_at_once(self):
        self.server.stop()  # nothing listens on its port any more
        srv = self.serve()
        r = fetch(srv.base, "/up/pool/good-0.deb")
        self.assertIn(r.status, (502, 504), r)
        t0 = time.monotonic()
        r = fetch(srv.base, "/up/pool/good-1.deb")
        self.assertEqual(r.status, 502, r)
        self.assertIn(b"is failing", r.body, r)
        self.assertLess(time.monotonic() - t0, 1.0, "the open circuit still tried upstream")


if __name__ == "__main__":
    unittest.main()
