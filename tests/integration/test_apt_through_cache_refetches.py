"""The real apt-get through `depot serve --upstream` must not make upstream send any blob twice:
a signed by-hash archive upstream; two apt clients with their own state each run `apt-get
update` + `apt-get download` through the cache; over both runs every .deb and by-hash file
leaves upstream at most once and only the roots are asked again (conditionally). Then upstream
publishes a new generation: after --index-ttl the next update through the cache sees it, with
no hash-sum mismatch, and downloads the new version."""

import time
import unittest
from collections import Counter

from apt_harness import AptClient, AptTestCase, mar, sha256_file
from serve_harness import ServeMixin, fetch

ROOTS = ("InRelease", "Release", "Release.gpg")
WANT = ("pkg0001", "pkg0003", "pkg0007", "pkg0011")


def is_blob(path):
    return path.endswith(".deb") or "/by-hash/" in path


def is_root(path):
    return path.rsplit("/", 1)[-1] in ROOTS


class AptThroughCacheRefetches(ServeMixin, AptTestCase):
    def client_via(self, srv, name):
        return AptClient(self.tmp / name, srv.base + "/debian", self.keyring)

    def run_client(self, apt, *packages):
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update through depot failed:\n%s%s" % (out, self.serve_info()))
        self.assertNotIn("Hash Sum mismatch", out)
        ok, out = apt.download(*packages)
        self.assertTrue(ok, "apt-get download through depot failed:\n%s%s"
                        % (out, self.serve_info()))
        return out

    def test_two_clients_then_new_generation(self):
        self.build_upstream(self.packages(12))
        published = time.monotonic()
        srv = self.start_serve(self.mirror, "--upstream", "/debian=" + self.server.base,
                               "--index-ttl", "1")
        self.server.clear_log()

        first = self.client_via(srv, "client1")
        self.run_client(first, *WANT)
        self.assertEqual(first.downloaded(), sorted("%s_1.0_amd64.deb" % n for n in WANT))
        run1 = self.server.log()
        self.assertTrue(any("/by-hash/" in e["path"] for e in run1),
                        "apt did not fetch indexes by hash through depot: %s" % run1)

        # Fault server answers If-Modified-Since with 304 only for files older than 2 s.
        time.sleep(max(0.0, published + 2.2 - time.monotonic()))
        self.server.clear_log()
        second = self.client_via(srv, "client2")
        self.run_client(second, *WANT)
        self.assertEqual(second.downloaded(), first.downloaded())
        for deb in second.downloaded():
            self.assertEqual(
                sha256_file(self.tmp / "client2" / "download" / deb),
                sha256_file(self.tmp / "client1" / "download" / deb))
        run2 = self.server.log()

        both = run1 + run2
        blob_reqs = Counter(e["path"] for e in both if is_blob(e["path"]))
        twice = {p: n for p, n in blob_reqs.items() if n > 1}
        self.assertEqual(twice, {}, "blobs requested upstream more than once over both runs\n"
                         "run1: %s\nrun2: %s" % (run1, run2))
        others = [e for e in run2 if not is_root(e["path"])]
        self.assertEqual(others, [], "the second client made depot fetch more than the roots "
                         "(everything else was cached)\nrun2: %s" % run2)
        asked1 = {e["path"] for e in run1}
        unconditional = [e for e in run2 if e["status"] != 304 and e["path"] in asked1]
        self.assertEqual(unconditional, [], "unchanged roots were refetched, not revalidated "
                         "with a conditional request\nrun2: %s" % run2)

        # Upstream moves on: pkg0003 2.0, pkg0012 appears, pkg0000 goes.
        pkgs = [(n, "2.0" if n == "pkg0003" else v, a) for n, v, a in self.packages(13)[1:]]
        self.build_upstream(pkgs)
        time.sleep(1.5)  # past --index-ttl 1
        self.server.clear_log()
        self.run_client(first, "pkg0003", "pkg0012")
        got = first.downloaded()
        self.assertIn("pkg0003_2.0_amd64.deb", got, self.server.log())
        self.assertIn("pkg0012_1.0_amd64.deb", got, self.server.log())
        want = mar.expected_pool(self.up)
        for deb, pool in (("pkg0003_2.0_amd64.deb", mar.pool_path("pkg0003", "2.0", "amd64")),
                          ("pkg0012_1.0_amd64.deb", mar.pool_path("pkg0012", "1.0", "amd64"))):
            self.assertEqual(sha256_file(self.tmp / "client1" / "download" / deb), want[pool])
        run3 = self.server.log()
        again = [e for e in run3 if is_blob(e["path"]) and blob_reqs.get(e["path"])]
        self.assertEqual(again, [], "blobs cached before were asked upstream again: %s" % run3)

        # The fresh second client sees the same new generation.
        ok, out = second.update()
        self.assertTrue(ok, out)
        self.assertNotIn("Hash Sum mismatch", out)
        r = fetch(srv.base, "/debian/dists/stable/InRelease")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, (self.up / "dists/stable/InRelease").read_bytes(),
                         "depot serves an old InRelease after the TTL")
        self.assertEqual(srv.stop(), 0, "depot serve did not exit 0 on SIGTERM%s"
                         % self.serve_info())


if __name__ == "__main__":
    unittest.main()
