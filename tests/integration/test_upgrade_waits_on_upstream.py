"""Usage-driven prefetch (`depot serve --prefetch-budget`): after upstream publishes a new
version of a package clients use, the first client to upgrade must not wait on upstream. The
real apt-get and dnf read the new indexes through the cache; depot fetches the new versions of
the packages they had fetched (and only those) in the background, within the byte budget; the
upgrade that follows is a cache hit, upstream sees one request per new file, and /metrics counts
the prefetches and their hits. The same for pip: a PyPI page read again that links a new
wheel of a project pip fetched. Clients on allowed networks may also report what they have
installed (POST /_depot/v1/usage); others are refused."""

import http.client
import json
import time
import unittest

from apt_harness import AptClient, AptTestCase, mar
from pypi_harness import PypiTestCase
from serve_harness import ServeMixin, fetch, metric, parse_prometheus
from yum_harness import DnfClient, YumTestCase, myr


def samples(srv):
    return parse_prometheus(fetch(srv.base, "/metrics").body.decode())


def post_usage(srv, body, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request("POST", "/_depot/v1/usage", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


class Waits:
    def wait_for(self, what, predicate, timeout=30):
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                self.fail("timed out waiting for %s\nupstream log: %s%s"
                          % (what, self.server.log(), self.serve_info()))
            time.sleep(0.1)

    def wait_prefetched(self, srv, n):
        self.wait_for("%d prefetches done" % n,
                      lambda: (metric(samples(srv), "depot_serve_prefetches_total",
                                      result="done") or 0) >= n, timeout=30)

    def upstream_gets(self, path_end):
        return [e for e in self.server.log() if e["path"].endswith(path_end)]


class AptUpgradeWaitsOnUpstream(Waits, ServeMixin, AptTestCase):
    def serve(self, *extra):
        return self.start_serve(self.mirror, "--upstream", "/debian=" + self.server.base,
                                "--index-ttl", "1", *extra)

    def client(self, srv, name="client"):
        return AptClient(self.tmp / name, srv.base + "/debian", self.keyring)

    def new_generation(self):
        # pkg0003, pkg0005 and pkg0007 move to 2.0; pkg0012 appears.
        moved = ("pkg0003", "pkg0005", "pkg0007")
        time.sleep(1.1)  # a Release Date (seconds) later than the last one: apt wants it newer
        self.build_upstream([(n, "2.0" if n in moved else v, a) for n, v, a in self.packages(13)])
        time.sleep(1.5)  # past --index-ttl

    def test_upgrade_of_used_packages_is_a_hit(self):
        self.build_upstream(self.packages(12))
        srv = self.serve("--prefetch-budget", "10M")
        apt = self.client(srv)
        ok, out = apt.update()
        self.assertTrue(ok, out + self.serve_info())
        ok, out = apt.install("pkg0003", "pkg0007")
        self.assertTrue(ok, out + self.serve_info())
        self.new_generation()
        self.server.clear_log()
        ok, out = apt.update()
        self.assertTrue(ok, out + self.serve_info())
        self.wait_prefetched(srv, 2)
        new = [mar.pool_path(n, "2.0", "amd64") for n in ("pkg0003", "pkg0007")]
        for path in new:
            self.assertEqual(len(self.upstream_gets(path)), 1, self.server.log())
        self.assertEqual(self.upstream_gets(mar.pool_path("pkg0005", "2.0", "amd64")), [],
                         "a package no client used was prefetched")
        self.assertEqual(self.upstream_gets(mar.pool_path("pkg0012", "1.0", "amd64")), [])
        rc, out = apt.run("upgrade", "-y", timeout=120)
        self.assertEqual(rc, 0, out + self.serve_info())
        self.assertEqual(apt.installed(), {"pkg0003": "2.0", "pkg0007": "2.0"})
        for path in new:
            self.assertEqual(len(self.upstream_gets(path)), 1,
                             "the upgrade asked upstream again: %s" % self.server.log())
        m = samples(srv)
        self.assertEqual(metric(m, "depot_serve_prefetch_hits_total"), 2)
        self.assertEqual(metric(m, "depot_serve_prefetches_total", result="failed"), 0)
        self.assertGreater(metric(m, "depot_serve_prefetched_bytes_total"), 0)

    def test_the_budget_is_respected(self):
        self.build_upstream(self.packages(12))
        pool = self.up / mar.pool_path("pkg0003", "1.0", "amd64")
        budget = pool.stat().st_size * 3 // 2  # one new .deb fits in an hour, two do not
        srv = self.serve("--prefetch-budget", str(budget))
        apt = self.client(srv)
        self.assertTrue(apt.update()[0])
        ok, out = apt.install("pkg0003", "pkg0007")
        self.assertTrue(ok, out + self.serve_info())
        self.new_generation()
        self.server.clear_log()
        self.assertTrue(apt.update()[0])
        self.wait_prefetched(srv, 1)
        time.sleep(2)  # a second would start now if the budget let it
        m = samples(srv)
        self.assertEqual(metric(m, "depot_serve_prefetches_total", result="done"), 1)
        self.assertEqual(metric(m, "depot_serve_prefetch_waiting"), 1)
        self.assertLessEqual(metric(m, "depot_serve_prefetched_bytes_total"), budget)
        rc, out = apt.run("upgrade", "-y", timeout=120)
        self.assertEqual(rc, 0, out + self.serve_info())
        self.assertEqual(apt.installed(), {"pkg0003": "2.0", "pkg0007": "2.0"})
        for n in ("pkg0003", "pkg0007"):
            self.assertEqual(len(self.upstream_gets(mar.pool_path(n, "2.0", "amd64"))), 1,
                             self.server.log())
        self.assertEqual(metric(samples(srv), "depot_serve_prefetch_hits_total"), 1)

    def test_installed_packages_reported_by_allowed_clients_count(self):
        self.build_upstream(self.packages(12))
        srv = self.serve("--prefetch-budget", "10M", "--usage-from", "127.0.0.1/32")
        apt = self.client(srv)
        self.assertTrue(apt.update()[0])
        st, body = post_usage(srv, {"prefix": "debian", "packages": ["pkg0005"]})
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(body)["recorded"], 1)
        st, body = post_usage(srv, {"prefix": "debian", "packages": ["pkg0007"]},
                              source="127.0.0.2")
        self.assertEqual(st, 403, body)
        self.assertIn("127.0.0.2", body)
        for bad in ({"prefix": "debian"}, {"prefix": "nope", "packages": []}, [1, 2]):
            st, body = post_usage(srv, bad)
            self.assertIn(st, (400, 404), body)
        self.new_generation()
        self.server.clear_log()
        self.assertTrue(apt.update()[0])
        self.wait_prefetched(srv, 1)
        self.assertEqual(len(self.upstream_gets(mar.pool_path("pkg0005", "2.0", "amd64"))), 1)
        self.assertEqual(self.upstream_gets(mar.pool_path("pkg0007", "2.0", "amd64")), [])
        self.assertEqual(srv.stop(), 0, self.serve_info())


class DnfUpgradeWaitsOnUpstream(Waits, ServeMixin, YumTestCase):
    def test_new_rpm_of_a_used_package_is_a_hit(self):
        self.build_upstream(self.packages(4), compress="xz")
        srv = self.start_serve(self.tmp / "empty", "--upstream", "/el=" + self.server.base,
                               "--index-ttl", "1", "--prefetch-budget", "10M")
        dnf = DnfClient(self.tmp / "dnf", srv.base + "/el/")
        ok, out = dnf.download("pkg01")
        self.assertTrue(ok, out + self.serve_info())
        self.build_upstream(self.packages(4) + [("pkg01", "2.0"), ("pkg02", "2.0")],
                            compress="xz")
        time.sleep(1.5)
        self.server.clear_log()
        ok, out = dnf.makecache()
        self.assertTrue(ok, out + self.serve_info())
        self.wait_prefetched(srv, 1)
        new = myr.rpm_path("pkg01", "2.0")
        self.assertEqual(len(self.upstream_gets(new)), 1, self.server.log())
        self.assertEqual(self.upstream_gets(myr.rpm_path("pkg02", "2.0")), [])
        ok, out = dnf.download("pkg01-2.0")
        self.assertTrue(ok, out + self.serve_info())
        self.assertIn("pkg01-2.0-1.noarch.rpm", dnf.downloaded())
        self.assertEqual(len(self.upstream_gets(new)), 1, self.server.log())
        self.assertEqual(metric(samples(srv), "depot_serve_prefetch_hits_total"), 1)


JSON = "application/vnd.pypi.simple.v1+json"


class PipUpgradeWaitsOnUpstream(Waits, ServeMixin, PypiTestCase):
    def test_new_wheel_of_a_used_project_is_a_hit(self):
        v1 = [("tiny-alpha", "1.0", None, None, None), ("tiny.gamma", "0.1", None, None, None)]
        self.gen_index(projects=v1)
        srv = self.start_serve(self.mirror, "--upstream", "/pypi=" + self.server.base,
                               "--index-ttl", "1", "--prefetch-budget", "10M")
        index = srv.base + "/pypi/simple/"
        ok, out = self.pip("download", "--no-deps", "--index-url", index, "-d", self.tmp / "d1",
                           "tiny-alpha")
        self.assertTrue(ok, out + self.serve_info())
        for project in ("tiny-alpha", "tiny-gamma"):  # pages read once: the baseline
            self.assertEqual(fetch(srv.base, "/pypi/simple/%s/" % project,
                                   headers={"Accept": JSON}).status, 200)
        self.gen_index(projects=v1 + [("tiny-alpha", "2.0", None, None, None),
                                      ("tiny.gamma", "0.2", None, None, None)])
        time.sleep(1.5)
        self.server.clear_log()
        for project in ("tiny-alpha", "tiny-gamma"):  # what `pip index versions` reads
            self.assertEqual(fetch(srv.base, "/pypi/simple/%s/" % project,
                                   headers={"Accept": JSON}).status, 200)
        self.wait_prefetched(srv, 1)
        new = "tiny_alpha-2.0-py3-none-any.whl"
        self.assertEqual(len(self.upstream_gets(new)), 1, self.server.log())
        self.assertEqual(self.upstream_gets("tiny_gamma-0.2-py3-none-any.whl"), [])
        ok, out = self.pip("download", "--no-deps", "--index-url", index, "-d", self.tmp / "d2",
                           "tiny-alpha==2.0")
        self.assertTrue(ok, out + self.serve_info())
        self.assertTrue((self.tmp / "d2" / new).is_file(), out)
        self.assertEqual(len(self.upstream_gets(new)), 1, self.server.log())
        self.assertEqual(metric(samples(srv), "depot_serve_prefetch_hits_total"), 1)


if __name__ == "__main__":
    unittest.main()
