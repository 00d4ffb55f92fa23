"""A bad upstream body must never be delivered whole nor cached: an apt index whose bytes do not
match the sha256 the cached InRelease names, a by-hash file whose bytes do not match its name,
and blobs cut short (truncated, reset, stalled then closed) each give every client an error
(502 before headers, or a connection closed before Content-Length bytes), including clients
that joined the failing download; after the fault is gone the next request is a MISS that
gets the right bytes."""

import hashlib
import os
import re
import threading
import time
import unittest

from apt_harness import AptTestCase, mar
from serve_harness import ServeMixin, fetch

DIST_DIR = "dists/stable"
PACKAGES = DIST_DIR + "/main/binary-amd64/Packages"
BIG = "pool/main/b/big/big_1.0_amd64.deb"


class CorruptUpstreamBodyCached(ServeMixin, AptTestCase):
    def setUp(self):
        super().setUp()
        self.build_upstream(self.packages(4))
        big = self.up / BIG
        big.parent.mkdir(parents=True, exist_ok=True)
        big.write_bytes(os.urandom(4 << 20))
        # A short cooldown: the recovery checks wait it out (a circuit opened by the failures
        # is not what these tests are about).
        self.srv = self.start_serve(self.mirror, "--upstream", "/debian=" + self.server.base,
                                    "--circuit-cooldown", "1")

    def get(self, rel, **kw):
        return fetch(self.srv.base, "/debian/" + rel, **kw)

    def assertFailed(self, r, rel, what):
        right = (self.up / rel).read_bytes()
        if r.status == 200 and r.complete:
            self.fail("%s: %s delivered complete (%s bytes)%s"
                      % (rel, what, "the right" if r.body == right else "WRONG",
                         self.serve_info()))
        self.assertTrue(r.status in (None, 502) or (r.status == 200 and not r.complete),
                        "%s: %s: expected 502 or a short body, got %r" % (rel, what, r))
        if r.status == 200:
            self.assertLess(len(r.body), len(right), r)

    def by_hash_paths(self, rel):
        """The by-hash paths upstream holds for the content of index `rel`."""
        data = (self.up / rel).read_bytes()
        d = rel.rsplit("/", 1)[0] + "/by-hash/"
        return {"/" + d + "SHA256/" + hashlib.sha256(data).hexdigest(),
                "/" + d + "SHA512/" + hashlib.sha512(data).hexdigest()}

    def assertRecovered(self, rel, aliases=()):
        """The fault is gone: the next request fetches again (nothing was stored). `aliases`:
        other upstream paths of the same content (by-hash) depot may fetch instead."""
        self.server.clear_rules()
        time.sleep(1.2)
        self.server.clear_log()
        r = self.get(rel)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, r)
        self.assertEqual(r.body, (self.up / rel).read_bytes(), rel)
        self.assertCacheHeader(r, "MISS", "%s after a failed download" % rel)
        fetched = [e for e in self.server.log() if e["path"] in {"/" + rel, *aliases}]
        self.assertEqual(len(fetched), 1, self.server.log())
        self.assertCacheHeader(self.get(rel), "HIT", rel)

    def check_corrupt_index(self, name, rules_for):
        rel = DIST_DIR + "/main/binary-amd64/" + name
        aliases = self.by_hash_paths(rel)
        self.server.set_rules([{"glob": g, "action": "corrupt", "flips": 3}
                               for g in rules_for(rel, aliases)])
        for attempt in range(2):
            self.assertFailed(self.get(rel), rel, "corrupt body #%d" % attempt)
        asked = {e["path"] for e in self.server.log()}
        self.assertTrue(asked & ({"/" + rel} | aliases), "depot never fetched %s: %s"
                        % (rel, self.server.log()))
        self.assertRecovered(rel, aliases)

    def test_index_not_matching_inrelease(self):
        """Acquire-By-Hash: no: depot fetches the index by name and knows its sha256 only
        from the cached InRelease."""
        self.build_upstream(self.packages(4), by_hash=False)
        r = self.get(DIST_DIR + "/InRelease")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("Acquire-By-Hash: yes", r.body.decode())
        self.assertIn(" main/binary-amd64/Packages\n", r.body.decode())
        for name in ("Packages", "Packages.xz"):
            with self.subTest(index=name):
                self.check_corrupt_index(name, lambda rel, aliases: ["/" + rel])

    def test_index_named_by_a_by_hash_root(self):
        """Acquire-By-Hash: yes: depot may fetch the index by name or by hash; both corrupt."""
        r = self.get(DIST_DIR + "/InRelease")
        self.assertEqual(r.status, 200, r)
        for name in ("Packages", "Packages.gz"):
            with self.subTest(index=name):
                self.check_corrupt_index(name, lambda rel, aliases: ["/" + rel, *aliases])

    def test_by_hash_not_matching_its_name(self):
        release = (self.up / DIST_DIR / "Release").read_text()
        m = re.search(r"^ ([0-9a-f]{64}) +\d+ main/binary-amd64/Packages\.gz$", release, re.M)
        self.assertTrue(m, release)
        rel = DIST_DIR + "/main/binary-amd64/by-hash/SHA256/" + m.group(1)
        self.assertTrue((self.up / rel).is_file())
        self.server.set_rules([{"glob": "/" + rel, "action": "corrupt"}])
        self.assertFailed(self.get(rel), rel, "corrupt by-hash body")
        self.assertRecovered(rel)

    def test_truncated_and_reset_blobs(self):
        debs = sorted(mar.expected_pool(self.up))
        cases = [("truncate", {}), ("drop", {"after": 0.5}), ("truncate", {"missing": 1})]
        for (action, extra), rel in zip(cases, [d for d in debs if d != BIG]):
            with self.subTest(action=action, **extra):
                rule = dict({"glob": "/" + rel, "action": action}, **extra)
                self.server.set_rules([rule])
                self.assertFailed(self.get(rel), rel, action)
                self.assertRecovered(rel)

    def test_every_coalesced_client_sees_the_failure(self):
        self.server.set_rules([{"glob": "/" + BIG, "action": "stall", "after": 0.25,
                                "seconds": 2}])
        results = {}

        def client(i):
            results[i] = self.get(BIG)

        threads = [threading.Thread(target=client, args=(0,))]
        threads[0].start()
        deadline = time.monotonic() + 10
        while not self.server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the leader's download is under way, stalled at a quarter
        for i in range(1, 4):
            threads.append(threading.Thread(target=client, args=(i,)))
            threads[-1].start()
        for t in threads:
            t.join(timeout=60)
        for i in range(4):
            self.assertFailed(results[i], BIG, "client %d of a download that was cut" % i)
        self.assertRecovered(BIG)
        want = hashlib.sha256((self.up / BIG).read_bytes()).hexdigest()
        self.assertEqual(hashlib.sha256(self.get(BIG).body).hexdigest(), want)


if __name__ == "__main__":
    unittest.main()
