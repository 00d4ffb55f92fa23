"""Proves impossible: publishing an index whose packages are not all in place and verified.
A package that stays corrupt (or unavailable) after retries must leave the previous
repodata.json byte-identical, keep the stale files, name the failed file, and exit 1."""

import unittest

from depot_harness import DepotTestCase, INDEX_NAMES, mcc, read_bytes

FAST = ("--retries", "2")


class CorruptPackagePublished(DepotTestCase):
    def path(self, fn):
        return "/%s/noarch/%s" % (self.CHANNEL, fn)

    def index_bytes(self):
        return {n: read_bytes(self.mirror / n) for n in INDEX_NAMES if (self.mirror / n).exists()}

    def check_update_fails(self, rule):
        self.gen(count=20, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        old_index = self.index_bytes()
        self.assertIn("repodata.json", old_index)
        _, added, removed = self.next_gen(add=5, remove=3)
        victim = added[0]
        rule = dict(rule, glob=self.path(victim))
        self.server.set_rules([rule])
        res = self.mirror_conda(*FAST)
        self.assertExit(res, 1)
        self.assertIn(victim, res.text, "the failed file must be named%s" % res)
        self.assertEqual(self.index_bytes(), old_index,
                         "index files changed although a package failed%s" % res)
        self.assertFalse((self.mirror / victim).exists(), "bad %s visible%s" % (victim, res))
        for fn in removed:
            self.assertTrue((self.mirror / fn).exists(),
                            "%s deleted before a new index was committed%s" % (fn, res))
        self.assertConsistent(res=res)
        self.assertNoDebris(res=res)
        # Upstream heals: the next run converges.
        self.server.clear_rules()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_persistent_corruption_keeps_previous_index(self):
        self.check_update_fails({"action": "corrupt"})

    def test_persistent_503_keeps_previous_index(self):
        self.check_update_fails({"action": "error", "status": 503})

    def test_persistent_404_keeps_previous_index(self):
        self.check_update_fails({"action": "not_found"})

    def test_persistent_truncation_keeps_previous_index(self):
        self.check_update_fails({"action": "truncate", "missing": 1})

    def test_persistent_corruption_on_first_mirror_publishes_nothing(self):
        self.gen(count=10, bz2_variant=True, current=True)
        repodata = mcc.read_repodata(self.updir())
        victim = sorted(repodata["packages.conda"] or repodata["packages"])[0]
        self.server.set_rules([{"glob": self.path(victim), "action": "corrupt"}])
        res = self.mirror_conda(*FAST)
        self.assertExit(res, 1)
        self.assertIn(victim, res.text, "the failed file must be named%s" % res)
        self.assertEqual(self.index_bytes(), {}, "index published for an incomplete mirror%s" % res)
        self.assertFalse((self.mirror / victim).exists())
        self.assertNoDebris(res=res)


if __name__ == "__main__":
    unittest.main()
