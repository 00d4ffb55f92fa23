"""Proves impossible: cargo through `depot serve --upstream /crates=SPARSE-INDEX` fetching a
.crate around the cache (config.json's dl left on the upstream's download host, or an "api"
left in it), failing once the index and download hosts are both gone, or a .crate that does
not match its index line's cksum being cached and served; a hostile Host header reflected
into config.json."""

import json
import os

from crates_harness import CratesTestCase, FaultServer, cargo_judge, mcr
from serve_harness import ServeMixin, fetch


class CargoThroughCacheRefetches(ServeMixin, CratesTestCase):
    def setUp(self):
        super().setUp()
        # The download host: a second server (static.crates.io's part), over the same tree.
        (self.tmp / "dl-host").mkdir()
        self.dl = FaultServer(self.up, self.tmp / "dl-host").start()
        self.addCleanup(self.dl.stop)

    def start_cache(self, form):
        self.registry = mcr.generate(str(self.up), mcr.dl_for(self.dl.base, form), api="x")
        return self.start_serve(self.tmp / "served", "--upstream",
                                "/crates=%s/index" % self.server.base, "--index-ttl", "0")

    def cargo(self, srv, **kw):
        return cargo_judge(srv.base + "/crates/", mcr.JUDGE_DEPS, self.tmp / "judge", **kw)

    def crate_gets(self, server):
        return [e["path"] for e in server.log() if e["path"].endswith((".crate", "/download"))
                or "/blobs/" in e["path"]]

    def test_cargo_builds_through_the_cache_then_from_it_alone(self):
        srv = self.start_cache("plain")
        r = fetch(srv.base, "/crates/config.json")
        self.assertEqual(r.status, 200, r)
        config = json.loads(r.body)
        self.assertEqual(config, {"dl": srv.base + "/crates/crates/{crate}/{crate}-{version}.crate"})
        res = self.cargo(srv)
        self.assertJudgeOk(res)
        self.assertEqual(self.crate_gets(self.server), [], "a crate came from the index host")
        got = self.crate_gets(self.dl)
        self.assertEqual(len(got), len(set(got)), "a crate was fetched twice: %s" % got)
        self.assertEqual(len(got), len(mcr.JUDGE_LOCK), got)
        self.server.stop()
        self.dl.stop()
        res = self.cargo(srv)  # fresh CARGO_HOME, the same cache, no upstream at all
        self.assertJudgeOk(res)
        r = fetch(srv.base, "/crates/config.json")
        self.assertEqual((r.status, r.header("X-Depot-Cache")), (200, "STALE"), r)

    def test_a_crate_not_matching_its_cksum_is_never_served(self):
        srv = self.start_cache("checksum")  # dl names {sha256-checksum}: read from the index
        mcr.corrupt(str(self.up), "multi-ver", "1.1.0")
        res = self.cargo(srv, build=False)
        self.assertNotEqual(res.rc, 0, "cargo accepted a corrupt crate%s" % res)
        self.assertEqual(res.phase, "fetch", res)
        path = "/crates/crates/multi-ver/multi-ver-1.1.0.crate"
        r = fetch(srv.base, path)  # streamed as it arrives: cut short when the digest fails
        self.assertTrue(r.status is None or r.status >= 500 or not r.complete, r)
        cached = [os.path.join(d, f) for d, _, fs in os.walk(self.tmp / "served" / ".depot-cache")
                  for f in fs if f == "multi-ver-1.1.0.crate"]
        self.assertEqual(cached, [], "the corrupt crate was stored")
        r = fetch(srv.base, "/crates/crates/xy/xy-0.1.0.crate")
        self.assertEqual(r.status, 200, r)

    def test_hostile_host_headers_are_never_reflected(self):
        srv = self.start_cache("plain")
        for host in ('evil"},"api":"x', "a b", "x/y", "h\\u0022"):
            r = fetch(srv.base, "/crates/config.json", headers={"Host": host})
            self.assertEqual(r.status, 400, "Host %r: %r" % (host, r))
        r = fetch(srv.base, "/crates/config.json", headers={"Host": "mirror.example:8443"})
        self.assertEqual(json.loads(r.body)["dl"],
                         "http://mirror.example:8443/crates/crates/{crate}/{crate}-{version}.crate")


if __name__ == "__main__":
    import unittest
    unittest.main()
