"""Proves impossible: cargo failing to build from a crates mirror alone (the upstream stopped),
choosing a yanked version, or seeing an index that names a crate the mirror lacks; an upstream
fault (503, drop, truncation) leaving the mirror incomplete; a corrupt crate or a hostile index
line changing what is served; a second generation upstream (new, yanked, removed versions) not
reaching cargo."""

import os
import unittest

from crates_harness import CratesTestCase, mcr
from depot_harness import sha256_file as sha256

ROOTS = ("app-crate",)  # --with-deps brings the rest of the default registry


class CargoRejectsMirror(CratesTestCase):
    def setUp(self):
        super().setUp()
        self.mirror.mkdir(parents=True)
        self.gen_registry("plain")
        self.site = self.serve_mirror()  # a static server in front of the mirror dir

    def mirror_crates(self, *extra, crates=ROOTS):
        return self.depot("mirror", "crates", self.server.base + "/index", self.mirror,
                          "--base-url", self.site.base, "--crate", ",".join(crates),
                          "--with-deps", "--retries", "4", *extra)

    def assertMirrorHoldsUpstream(self, res=None):
        """Index files byte for byte, every listed version's .crate with its cksum, config.json
        pointing at the mirror, nothing else."""
        up_index = os.path.join(str(self.up), "index")
        want = {}
        for dirpath, _, files in os.walk(up_index):
            for fn in files:
                if fn != "config.json":
                    p = os.path.join(dirpath, fn)
                    want[os.path.relpath(p, str(self.up))] = sha256(p)
        for (name, vers), c in mcr.crates(str(self.up)).items():
            want["crates/%s/%s-%s.crate" % (name, name, vers)] = c["cksum"]
        got = self.tree(self.mirror)
        config = got.pop("index/config.json", None)
        self.assertIsNotNone(config, "no index/config.json%s" % (res or ""))
        self.assertEqual(got, want, "mirror differs from upstream%s" % (res or ""))
        with open(self.mirror / "index" / "config.json") as f:
            self.assertIn('"dl":"%s/crates/{crate}/{crate}-{version}.crate"' % self.site.base,
                          f.read())

    def establish(self):
        res = self.mirror_crates()
        self.assertExit(res, 0)
        self.assertMirrorHoldsUpstream(res)
        return res

    def test_cargo_builds_from_the_mirror_alone(self):
        self.establish()
        self.assertTrue((self.mirror / "crates/multi-ver/multi-ver-1.2.0.crate").exists(),
                        "a yanked version is mirrored (lock files may name it)")
        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))  # multi-ver 1.1.0: 1.2.0 is yanked
        noop = self.mirror_crates()
        self.assertExit(noop, 3, "upstream stopped: index unreachable, mirror untouched")
        self.assertJudgeOk(self.judge(self.site.base))

    def test_second_generation_reaches_cargo(self):
        self.establish()
        mcr.add_version(str(self.up), "multi-ver", "1.3.0")
        self.assertExit(self.mirror_crates(), 0)
        self.assertMirrorHoldsUpstream()
        res = self.judge(self.site.base, build=False)
        self.assertEqual(res.lock.get("multi-ver"), "1.3.0", res)
        mcr.yank(str(self.up), "multi-ver", "1.3.0")
        mcr.remove_version(str(self.up), "multi-ver", "1.0.0")
        self.assertExit(self.mirror_crates(), 0)
        self.assertMirrorHoldsUpstream()
        self.assertFalse((self.mirror / "crates/multi-ver/multi-ver-1.0.0.crate").exists())
        self.assertJudgeOk(self.judge(self.site.base))

    def test_transient_faults_are_retried(self):
        rules = [{"glob": "/api/v1/crates/multi-ver/*", "action": "error", "status": 503,
                  "times": 2},
                 {"glob": "/api/v1/crates/xy/*", "action": "drop", "times": 1},
                 {"glob": "/api/v1/crates/sub/*", "action": "truncate", "times": 1},
                 {"glob": "/index/ap/p-/app-crate", "action": "error", "status": 503,
                  "times": 1}]
        self.server.set_rules(rules)
        self.establish()
        for r in self.server.rules():
            self.assertEqual(r["remaining"], 0, "fault never triggered: %s" % r)
        self.assertJudgeOk(self.judge(self.site.base))

    def test_corrupt_crate_fails_naming_it_and_keeps_the_previous_index(self):
        self.establish()
        before = self.tree(self.mirror)
        mcr.add_version(str(self.up), "multi-ver", "1.3.0")
        mcr.corrupt(str(self.up), "multi-ver", "1.3.0")
        res = self.mirror_crates()
        self.assertExit(res, 1)
        self.assertIn("crates/multi-ver/multi-ver-1.3.0.crate", res.text)
        self.assertEqual(self.tree(self.mirror), before, "a failed run changed the mirror%s" % res)
        self.assertJudgeOk(self.judge(self.site.base))

    def test_hostile_index_lines_are_refused(self):
        self.establish()
        before = self.tree(self.mirror)
        for variant in sorted(mcr.HOSTILE):
            with self.subTest(variant=variant):
                self.gen_registry("plain")
                mcr.add_hostile(str(self.up), variant, outside=str(self.outside))
                res = self.mirror_crates()
                self.assertExit(res, 3, "hostile line %s must make the index unusable" % variant)
                self.assertIn("multi-ver", res.text)
                self.assertEqual(self.tree(self.mirror), before, "mirror changed%s" % res)
                self.assertEqual(list(self.outside.iterdir()), [], "wrote outside%s" % res)


if __name__ == "__main__":
    unittest.main()
