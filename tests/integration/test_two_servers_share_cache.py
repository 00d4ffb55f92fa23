"""Two servers must never share one cache directory: a second `depot serve` (or one sharing it
through --cache-dir) pointed at a cache another live server uses refuses to start, exit 6,
naming the directory, and the first keeps serving what it cached, its downloads in progress
untouched. Once the first has stopped, the directory can be used again."""

import subprocess
import unittest

from depot_harness import DepotTestCase, depot_bin
from serve_harness import ServeMixin, fetch


class TwoServersShareCache(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        (self.up / "pool").mkdir(parents=True)
        (self.up / "pool" / "a.deb").write_bytes(b"a" * 5000)
        self.cache = self.tmp / "cache"

    def second(self, root):
        return subprocess.run([depot_bin(), "serve", str(root), "--listen", "127.0.0.1:0",
                               "--upstream", "/up=" + self.server.base,
                               "--cache-dir", str(self.cache)],
                              capture_output=True, text=True, timeout=30)

    def test_second_server_is_refused_and_the_first_keeps_serving(self):
        first = self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                                 "--cache-dir", str(self.cache))
        self.assertEqual(fetch(first.base, "/up/pool/a.deb").status, 200)
        other_root = self.tmp / "other-root"
        other_root.mkdir()
        res = self.second(other_root)
        self.assertEqual(res.returncode, 6, res.stderr)
        self.assertIn(str(self.cache), res.stderr)
        self.assertIn("another depot server", res.stderr)
        r = fetch(first.base, "/up/pool/a.deb")
        self.assertEqual((r.status, r.header("X-Depot-Cache")), (200, "HIT"), r)
        self.assertTrue(first.alive(), self.serve_info())
        first.stop()
        again = self.start_serve(other_root, "--upstream", "/up=" + self.server.base,
                                 "--cache-dir", str(self.cache), name="again")
        r = fetch(again.base, "/up/pool/a.deb")
        self.assertEqual((r.status, r.header("X-Depot-Cache")), (200, "HIT"), r)


if __name__ == "__main__":
    unittest.main()
