"""Proves impossible: npm through `depot serve --upstream /npm=REGISTRY` fetching a tarball
around the cache (a packument's dist.tarball left on the upstream), a tarball downloaded from
upstream twice, `npm ci` failing once the upstream is gone, a tarball not matching its
packument's integrity being cached or served, a hostile name or path reaching the upstream, and
a hostile Host header reflected into a packument."""

import json
import os

from npm_harness import NpmTestCase, _project, mnr, node_modules_tree, npm_env, run_captured
from serve_harness import ServeMixin, fetch, media_type

ABBREV = "application/vnd.npm.install-v1+json"


class NpmThroughCacheRefetches(ServeMixin, NpmTestCase):
    def setUp(self):
        super().setUp()
        self.gen_registry()  # tarballs at UPSTREAM/tarballs/NAME/-/FILE: not NAME/-/FILE

    def start_cache(self):
        return self.start_serve(self.tmp / "served", "--upstream", "/npm=%s" % self.server.base,
                                "--index-ttl", "0")

    def npm(self, srv, command, lock_text=None):
        """`npm install` or `npm ci` (with `lock_text`) of a fresh project, fresh npm cache."""
        os.makedirs(self.tmp / "judge", exist_ok=True)
        d, home, proj = _project(self.tmp / "judge", mnr.JUDGE_DEPS, command)
        if lock_text is not None:
            with open(os.path.join(proj, "package-lock.json"), "w") as f:
                f.write(lock_text)
        flags = ["--registry", srv.base + "/npm/", "--no-audit", "--no-fund", "--loglevel", "warn"]
        env = npm_env(home, os.path.join(d, "cache"))
        rc, _, err = run_captured([mnr.npm_bin(), command] + flags, env, 120, cwd=proj)
        lock = os.path.join(proj, "package-lock.json")
        if os.path.exists(lock):
            with open(lock) as f:
                lock_text = f.read()
        return rc, err, proj, lock_text

    def upstream_gets(self, suffix=".tgz"):
        return [e["path"] for e in self.server.log() if e["path"].endswith(suffix)]

    def cached(self, name):
        return [os.path.join(d, f) for d, _, fs in os.walk(self.tmp / "served" / ".depot-cache")
                for f in fs if f == name]

    def test_npm_installs_through_the_cache_then_from_it_alone(self):
        srv = self.start_cache()
        rc, err, proj, lock_text = self.npm(srv, "install")
        self.assertEqual(rc, 0, "npm install through the cache failed:\n%s%s"
                         % (err[-4000:], self.serve_info()))
        self.assertEqual(node_modules_tree(proj), mnr.JUDGE_TREE)
        lock = json.loads(lock_text)
        resolved = sorted(p["resolved"] for k, p in lock["packages"].items() if k)
        self.assertEqual(len(resolved), len(mnr.JUDGE_TREE), resolved)
        for url in resolved:
            self.assertTrue(url.startswith(srv.base + "/npm/"), "resolved around the cache: " + url)
        got = self.upstream_gets()
        self.assertEqual(len(got), len(set(got)), "a tarball was fetched twice: %s" % got)
        self.assertEqual(len(got), len(mnr.JUDGE_TREE), got)
        self.assertTrue(all(p.startswith("/tarballs/") for p in got),
                        "not fetched from where the packument says: %s" % got)

        r = fetch(srv.base, "/npm/@fix%2futil", headers={"Accept": ABBREV})
        self.assertEqual((r.status, media_type(r.header("Content-Type"))), (200, ABBREV), r)
        tarball = json.loads(r.body)["versions"]["1.1.0"]["dist"]["tarball"]
        self.assertEqual(tarball, srv.base + "/npm/@fix/util/-/util-1.1.0.tgz")
        r = fetch(srv.base, "/npm/fix-app")
        self.assertEqual((r.status, media_type(r.header("Content-Type"))), (200, "application/json"), r)
        self.assertIn("readme", json.loads(r.body)["versions"]["1.1.0"])

        self.server.stop()
        rc, err, proj, _ = self.npm(srv, "ci", lock_text)
        self.assertEqual(rc, 0, "npm ci from the cache alone failed:\n%s%s"
                         % (err[-4000:], self.serve_info()))
        self.assertEqual(node_modules_tree(proj), mnr.JUDGE_TREE)
        r = fetch(srv.base, "/npm/fix-app", headers={"Accept": ABBREV})
        self.assertEqual((r.status, r.header("X-Depot-Cache")), (200, "STALE"), r)

    def test_a_tarball_not_matching_its_integrity_is_never_served(self):
        mnr.corrupt(str(self.up), "@fix/util", "1.1.0")
        srv = self.start_cache()
        rc, err, _, _ = self.npm(srv, "install")
        self.assertNotEqual(rc, 0, "npm installed a corrupt tarball")
        self.assertEqual(self.cached("util-1.1.0.tgz"), [], "the corrupt tarball was stored")
        r = fetch(srv.base, "/npm/@fix/util/-/util-1.1.0.tgz")
        self.assertTrue(r.status is None or r.status >= 500 or not r.complete, r)
        self.assertEqual(self.cached("util-1.1.0.tgz"), [], "the corrupt tarball was stored")

    def test_hostile_names_and_hosts_never_reach_upstream_or_the_answer(self):
        srv = self.start_cache()
        self.server.clear_log()
        for path in ("/npm/..%2fetc", "/npm/a/b", "/npm/-/v1/search?text=x", "/npm/fix-app/",
                     "/npm/@fix/util/index.json", "/npm/.depot-cache", "/npm/a%20b",
                     "/npm/fix-app/-/..%2f..%2fx.tgz", "/npm/@fix%2f..%2f..%2fx"):
            r = fetch(srv.base, path)
            self.assertIn(r.status, (400, 403, 404), "%s: %r" % (path, r))
        self.assertEqual(self.server.log(), [], "a hostile path reached upstream")
        for host in ('evil"},"x":"y', "a b", "x/y"):
            r = fetch(srv.base, "/npm/fix-app", headers={"Host": host})
            self.assertEqual(r.status, 400, "Host %r: %r" % (host, r))
        r = fetch(srv.base, "/npm/fix-app", headers={"Host": "mirror.example:8443"})
        doc = json.loads(r.body)
        self.assertEqual(doc["versions"]["1.1.0"]["dist"]["tarball"],
                         "http://mirror.example:8443/npm/fix-app/-/fix-app-1.1.0.tgz")


if __name__ == "__main__":
    import unittest
    unittest.main()
