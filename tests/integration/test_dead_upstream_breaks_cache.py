"""An upstream that dies or fails must not take cached files down with it: with the upstream
killed (or answering 503) and --index-ttl passed, a cached index is still served, marked stale
(X-Depot-Cache: STALE, X-Depot-Stale: 1, Warning 110), a cached blob is a plain HIT, and a path
never cached gets 502/504. A path upstream answered 503 is served stale without asking upstream
again for --path-error-ttl (the circuit stays closed for other paths). An upstream
404 for a cached index evicts it: 404 from then on (remembered for --negative-ttl), and the
evicted copy is not resurrected as a stale answer once the upstream is dead."""

import os
import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, fetch

INDEX = "conda/noarch/repodata.json"
GONE = "conda/noarch/channeldata.json"
BLOB = "conda/noarch/pkg-1.0-0.tar.bz2"


class DeadUpstreamBreaksCache(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        self.content = {}
        for rel, data in ((INDEX, b'{"packages": {"pkg-1.0-0.tar.bz2": {}}}\n'),
                          (GONE, b'{"channeldata_version": 1, "packages": {}}\n'),
                          (BLOB, os.urandom(300 * 1024))):
            p = self.up / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            self.content[rel] = data

    def get(self, srv, rel, **kw):
        return fetch(srv.base, "/up/" + rel, **kw)

    def assertServed(self, r, rel, outcome):
        self.assertEqual(r.status, 200, "%s: %r%s" % (rel, r, self.serve_info()))
        self.assertTrue(r.complete, r)
        self.assertEqual(r.body, self.content[rel], rel)
        self.assertCacheHeader(r, outcome, rel)

    def assertStale(self, r, rel):
        self.assertServed(r, rel, "STALE")
        self.assertEqual(r.header("X-Depot-Stale"), "1", r)
        self.assertIn("110", r.header("Warning", ""), r)

    def assertNotStale(self, r):
        self.assertIsNone(r.header("X-Depot-Stale"), r)

    def test_killed_upstream(self):
        srv = self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                               "--index-ttl", "1", "--negative-ttl", "1")
        for rel in (INDEX, GONE, BLOB):
            self.assertServed(self.get(srv, rel), rel, "MISS")
        self.assertServed(self.get(srv, BLOB), BLOB, "HIT")

        # Upstream 404 for a cached index: evicted.
        (self.up / GONE).unlink()
        time.sleep(1.3)
        r = self.get(srv, GONE)
        self.assertEqual(r.status, 404, "index deleted upstream still served: %r" % r)

        self.server.stop()
        time.sleep(1.3)  # past --index-ttl and --negative-ttl
        r = self.get(srv, INDEX)
        self.assertStale(r, INDEX)
        r = self.get(srv, BLOB)
        self.assertServed(r, BLOB, "HIT")
        self.assertNotStale(r)
        r = self.get(srv, BLOB, method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), str(len(self.content[BLOB])), r)

        for rel in ("conda/noarch/never-cached.json", "conda/noarch/new-2.0-0.tar.bz2"):
            r = self.get(srv, rel)
            self.assertIn(r.status, (502, 504), "%s with upstream dead: %r" % (rel, r))
        r = self.get(srv, GONE)
        self.assertNotEqual(r.status, 200, "an index evicted on upstream 404 came back as a "
                            "stale copy: %r" % r)
        self.assertIn(r.status, (404, 502, 504), r)

        # Stale answers keep coming (circuit open or not), never a hang or an error.
        r = self.get(srv, INDEX)
        self.assertStale(r, INDEX)
        self.assertTrue(srv.alive(), self.serve_info())

    def test_upstream_503_is_not_asked_again_for_that_path(self):
        srv = self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                               "--index-ttl", "1", "--path-error-ttl", "30")
        self.assertServed(self.get(srv, INDEX), INDEX, "MISS")
        self.server.set_rules([{"glob": "/*", "action": "error", "status": 503}])
        time.sleep(1.3)
        self.server.clear_log()
        self.assertStale(self.get(srv, INDEX), INDEX)
        first = self.server.log()
        self.assertTrue(first and all(e["status"] == 503 for e in first), first)

        time.sleep(1.3)  # past --index-ttl again, inside --path-error-ttl
        self.assertStale(self.get(srv, INDEX), INDEX)
        self.assertEqual(self.server.log(), first, "upstream asked again for a path that had "
                         "just failed")

    def test_upstream_404_evicts_and_is_remembered(self):
        srv = self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                               "--index-ttl", "1", "--negative-ttl", "4")
        self.assertServed(self.get(srv, GONE), GONE, "MISS")
        (self.up / GONE).unlink()
        time.sleep(1.3)
        self.server.clear_log()
        r = self.get(srv, GONE)
        self.assertEqual(r.status, 404, "index deleted upstream: %r" % r)
        self.assertEqual([(e["path"], e["status"]) for e in self.server.log()],
                         [("/" + GONE, 404)])

        # Back upstream, but inside --negative-ttl: still 404, without asking upstream.
        self.content[GONE] = b'{"channeldata_version": 2, "packages": {}}\n'
        (self.up / GONE).write_bytes(self.content[GONE])
        r = self.get(srv, GONE)
        self.assertEqual(r.status, 404, "negative answer not remembered: %r" % r)
        self.assertEqual(len(self.server.log()), 1, self.server.log())

        time.sleep(4.3)
        r = self.get(srv, GONE)
        self.assertServed(r, GONE, "MISS")


if __name__ == "__main__":
    unittest.main()
