"""The real dnf through `depot serve --upstream` (an empty directory in front of a yum
repository built with rpmbuild and createrepo_c): two dnf clients with their own state download
through the cache, and upstream sends each rpm and each metadata file at most once. An rpm that
differs from what primary.xml says is refused by the cache itself: 502 or a cut-short body, and
nothing is cached."""

import unittest

from serve_harness import ServeMixin, fetch
from yum_harness import DnfClient, YumTestCase, myr


class DnfThroughCacheRefetches(ServeMixin, YumTestCase):
    def test_two_dnf_clients_one_upstream_fetch_per_file(self):
        self.build_upstream(self.packages(4), compress="xz")
        srv = self.start_serve(self.tmp / "empty", "--upstream", "/el=" + self.server.base)
        self.server.clear_log()
        want = self.upstream_files()
        for name in ("dnf-a", "dnf-b"):
            dnf = DnfClient(self.tmp / name, srv.base + "/el/")
            ok, out = dnf.download("pkg01", "pkg02")
            self.assertTrue(ok, "dnf through the cache failed:\n%s%s" % (out, self.serve_info()))
            self.assertEqual(dnf.downloaded(), ["pkg01-1.0-1.noarch.rpm",
                                                "pkg02-1.0-1.noarch.rpm"])
            for rpm in dnf.downloaded():
                self.assertEqual(myr.sha256_file(dnf.root / "out" / rpm), want["Packages/p/" + rpm])
        paths = [e["path"] for e in self.server.log() if e["method"] == "GET"]
        fetched_twice = sorted({p for p in paths if paths.count(p) > 1 and
                                not p.endswith("repomd.xml") and not p.endswith(".asc") and
                                not p.endswith(".key")})
        self.assertEqual(fetched_twice, [], "fetched upstream more than once: %s" % paths)

    def test_rpm_that_differs_from_primary_is_refused(self):
        self.build_upstream(self.packages(2), compress="gz")
        srv = self.start_serve(self.tmp / "empty", "--upstream", "/el=" + self.server.base)
        dnf = DnfClient(self.tmp / "dnf", srv.base + "/el/")
        ok, out = dnf.download("pkg00")  # primary.xml passes through the cache
        self.assertTrue(ok, out)
        rpm = "Packages/p/pkg01-1.0-1.noarch.rpm"
        self.server.set_rules([{"glob": "/" + rpm, "action": "corrupt", "times": 1}])
        r = fetch(srv.base, "/el/" + rpm)
        self.assertFalse(r.status == 200 and r.complete,
                         "a corrupted rpm was served whole: %r%s" % (r, self.serve_info()))
        self.assertFalse((self.tmp / "empty" / ".depot-cache" / "files" / "el" / rpm).exists())
        r = fetch(srv.base, "/el/" + rpm)
        self.assertEqual((r.status, r.complete), (200, True), r)
        self.assertEqual(r.body, (self.up / rpm).read_bytes())


if __name__ == "__main__":
    unittest.main()
