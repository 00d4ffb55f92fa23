"""Proves impossible: --no-delete removing any file; and a later normal run failing to clean up."""

import unittest

from depot_harness import DepotTestCase


class NoDeleteRemovesFiles(DepotTestCase):
    def test_no_delete_keeps_stale_files(self):
        self.gen(count=20, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        old = self.tree(self.mirror)
        _, added, removed = self.next_gen(add=3, remove=5)
        res = self.mirror_conda("--no-delete")
        self.assertExit(res, 0)
        now = self.tree(self.mirror)
        for fn in removed:
            self.assertEqual(now.get(fn), old[fn], "--no-delete removed/changed %s%s" % (fn, res))
        want = self.expected()
        for fn, sha in want.items():
            self.assertEqual(now.get(fn), sha, "%s missing or wrong%s" % (fn, res))
        self.assertConsistent(res=res)
        self.assertNoDebris(res=res)
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)


if __name__ == "__main__":
    unittest.main()
