"""Proves impossible: npm failing to install (or `npm ci` from a lock file) from an npm mirror
served by `depot serve` alone (the upstream stopped), a scoped dependency or a deprecated
version missing from it, a packument naming a tarball the mirror lacks; an upstream fault
(503, drop, truncation) leaving the mirror incomplete; a tarball whose integrity does not match
replacing the good mirror; a second generation upstream (new, removed, newly deprecated
versions) not reaching npm; a no-op re-run downloading tarballs again."""

import json
import os
import unittest

from npm_harness import NpmTestCase, mnr
from serve_harness import ServeMixin, fetch, media_type

ROOTS = ("fix-app",)
ABBREV = "application/vnd.npm.install-v1+json"


class NpmRejectsMirror(ServeMixin, NpmTestCase):
    def setUp(self):
        super().setUp()
        self.mirror.mkdir(parents=True)
        self.gen_registry()
        self.site = self.start_serve(self.mirror)  # depot serve in front of the mirror dir

    def mirror_npm(self, *extra, packages=ROOTS):
        return self.depot("mirror", "npm", self.server.base, self.mirror, "--base-url",
                          self.site.base, "--package", ",".join(packages), "--with-deps",
                          "--retries", "4", *extra)

    def packument(self, name, accept=None):
        r = fetch(self.site.base, "/" + name.replace("/", "%2f"),
                  headers={"Accept": accept} if accept else {})
        self.assertEqual(r.status, 200, "GET %s: %r%s" % (name, r, self.serve_info()))
        return r, json.loads(r.body)

    def assertMirrorHoldsUpstream(self, res=None):
        """Every listed tarball with upstream's bytes; packuments naming exactly those
        versions, at the mirror; nothing else but the upstream copies."""
        got = self.tree(self.mirror)
        want = self.expected()
        tarballs = {k: v for k, v in got.items() if k.endswith(".tgz")}
        self.assertEqual(tarballs, want, "tarballs differ from upstream%s" % (res or ""))
        for name in mnr.names(str(self.up)):
            up = mnr.read_packument(str(self.up), name)
            for form in ("index.json", "index.abbrev.json"):
                with open(self.mirror / name / form) as f:
                    doc = json.load(f)
                self.assertEqual(set(doc["versions"]), set(up["versions"]), name + form)
                self.assertEqual(doc["dist-tags"], up["dist-tags"])
                for v, meta in doc["versions"].items():
                    self.assertEqual(meta["dist"]["tarball"], "%s/%s/-/%s" % (
                        self.site.base, name, mnr.tarball_file(name, v)))
                    self.assertEqual(meta["dist"]["integrity"],
                                     up["versions"][v]["dist"]["integrity"])
                    self.assertEqual(meta.get("deprecated"), up["versions"][v].get("deprecated"))
            self.assertIn(".upstream/%s.json" % name, got)

    def establish(self):
        res = self.mirror_npm()
        self.assertExit(res, 0)
        self.assertMirrorHoldsUpstream(res)
        return res

    def test_npm_installs_from_the_mirror_alone(self):
        self.establish()
        r, full = self.packument("@fix/util")
        self.assertEqual(media_type(r.header("Content-Type")), "application/json")
        self.assertIn("readme", full)
        r, abbrev = self.packument("@fix/util", ABBREV + "; q=1.0, application/json; q=0.8, */*")
        self.assertEqual(media_type(r.header("Content-Type")), ABBREV)
        self.assertNotIn("readme", abbrev)
        r2 = fetch(self.site.base, "/@fix/util")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(json.loads(r2.body)["name"], "@fix/util")
        _, app = self.packument("fix-app", ABBREV)
        self.assertEqual(app["versions"]["1.0.0"]["deprecated"], "use fix-app 1.1.0")

        self.server.clear_log()
        noop = self.mirror_npm()
        self.assertExit(noop, 0)
        gets = [e for e in self.server.log() if e["path"].endswith(".tgz")]
        self.assertEqual(gets, [], "a no-op re-run downloaded tarballs%s" % noop)
        self.assertEqual({e["status"] for e in self.server.log()}, {304},
                         "a no-op re-run fetched packuments whole%s" % noop)

        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))
        old = self.judge(self.site.base, {"fix-app": "1.0.0"}, ci=False)
        self.assertJudgeOk(old, {"fix-app": "1.0.0", "@fix/util": "1.1.0"})
        self.assertIn("deprecated", old.err, "npm did not warn of the deprecated version%s" % old)

    def test_transient_faults_are_retried(self):
        self.server.set_rules([
            {"glob": "/tarballs/@fix/util/-/util-1.1.0.tgz", "action": "error", "status": 503,
             "times": 2},
            {"glob": "/tarballs/fix-leaf/*", "action": "drop", "times": 1},
            {"glob": "/tarballs/fix-app/-/fix-app-1.1.0.tgz", "action": "truncate", "times": 1},
            {"glob": "/fix-app", "action": "error", "status": 503, "times": 1}])
        self.establish()
        for r in self.server.rules():
            self.assertEqual(r["remaining"], 0, "fault never triggered: %s" % r)
        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))

    def test_wrong_integrity_fails_naming_the_file_and_keeps_the_previous_mirror(self):
        self.establish()
        before = self.tree(self.mirror)
        for breakage in (mnr.corrupt, mnr.wrong_integrity):
            with self.subTest(breakage=breakage.__name__):
                mnr.add_version(str(self.up), self.server.base, "@fix/util", "1.2.0")
                breakage(str(self.up), "@fix/util", "1.2.0")
                res = self.mirror_npm()
                self.assertExit(res, 1)
                self.assertIn("@fix/util/-/util-1.2.0.tgz", res.text)
                self.assertEqual(self.tree(self.mirror), before, "a failed run changed the "
                                 "mirror%s" % res)
                mnr.remove_version(str(self.up), "@fix/util", "1.2.0")
        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))

    def test_second_generation_reaches_npm(self):
        self.establish()
        mnr.add_version(str(self.up), self.server.base, "fix-app", "1.2.0")
        mnr.remove_version(str(self.up), "@fix/util", "1.0.0")
        mnr.deprecate(str(self.up), "fix-leaf", "1.0.0", "leaf is gone")
        res = self.mirror_npm()
        self.assertExit(res, 0)
        self.assertMirrorHoldsUpstream(res)
        self.assertFalse((self.mirror / "@fix/util/-/util-1.0.0.tgz").exists())
        _, leaf = self.packument("fix-leaf", ABBREV)
        self.assertEqual(leaf["versions"]["1.0.0"]["deprecated"], "leaf is gone")
        self.server.stop()
        res = self.judge(self.site.base)
        self.assertJudgeOk(res, {"fix-app": "1.2.0", "@fix/util": "1.1.0"})

    def test_latest_n_drops_older_versions_consistently(self):
        res = self.mirror_npm("--versions", "latest-1")
        self.assertExit(res, 0)
        tarballs = sorted(k for k in self.tree(self.mirror) if k.endswith(".tgz"))
        self.assertEqual(tarballs, ["@fix/util/-/util-1.1.0.tgz", "fix-app/-/fix-app-1.1.0.tgz",
                                    "fix-app/-/fix-app-2.0.0-beta.1.tgz",
                                    "fix-leaf/-/fix-leaf-1.0.0.tgz"])
        _, app = self.packument("fix-app")
        self.assertEqual(sorted(app["versions"]), ["1.1.0", "2.0.0-beta.1"])
        self.assertNotIn("1.0.0", app["time"])
        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))


if __name__ == "__main__":
    unittest.main()
