"""Proves impossible: an upstream that suddenly shrinks (broken or truncated upstream)
wiping most of the mirror without --force.  The new index is committed, deletions are
skipped, exit 4; --force (or a higher --delete-limit) deletes; small deletions pass."""

import unittest

from depot_harness import DepotTestCase, read_bytes


class MassDeletionWithoutForce(DepotTestCase):
    def shrink(self, count, keep):
        self.gen(count=count, min_size=500, max_size=3000, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        old = self.tree(self.mirror)
        _, _, removed = self.next_gen(add=0, keep=keep)
        return old, removed

    def test_guard_refuses_then_force_deletes(self):
        old, removed = self.shrink(40, 4)
        res = self.mirror_conda()
        self.assertExit(res, 4, "deleting 36 of 40 files must be refused")
        self.assertEqual(read_bytes(self.mirror / "repodata.json"),
                         read_bytes(self.updir() / "repodata.json"),
                         "the new index must still be committed%s" % res)
        gone = [fn for fn in removed if not (self.mirror / fn).exists()]
        self.assertEqual(gone, [], "files deleted despite the guard%s" % res)
        self.assertConsistent(res=res)
        res = self.mirror_conda("--force")
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_guard_refuses_again_on_plain_rerun(self):
        self.shrink(40, 4)
        self.assertExit(self.mirror_conda(), 4)
        res = self.mirror_conda()
        self.assertExit(res, 4, "the guard must not be bypassed by simply re-running")

    def test_raised_delete_limit_allows(self):
        self.shrink(40, 4)
        res = self.mirror_conda("--delete-limit", "0.95")
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_upstream_emptied_refused(self):
        """An upstream index that suddenly lists nothing (12 files would go: 100%)."""
        old, removed = self.shrink(12, 0)
        res = self.mirror_conda()
        self.assertExit(res, 4)
        self.assertEqual([fn for fn in removed if not (self.mirror / fn).exists()], [], str(res))

    def test_few_deletions_always_allowed(self):
        self.shrink(12, 4)  # 8 files (<= 10) go, although that is 2/3 of the mirror
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)


if __name__ == "__main__":
    unittest.main()
