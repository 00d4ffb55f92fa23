"""Proves impossible: an incremental update re-downloading unchanged packages, missing new
ones, or leaving packages the new index no longer names."""

import hashlib
import json
import os
import unittest

from depot_harness import DepotTestCase, mcc


class UpdateRefetchesOrLeavesStale(DepotTestCase):
    def test_next_generation_fetches_only_new_and_removes_stale(self):
        self.gen(count=40, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        _, added, removed = self.next_gen(add=6, remove=5)
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        fetched = sorted({e["path"].rsplit("/", 1)[-1] for e in self.package_gets()})
        self.assertEqual(fetched, added, "an update must fetch exactly the new packages%s" % res)
        self.assertMirrorEqualsUpstream(res=res)
        for fn in removed:
            self.assertFalse((self.mirror / fn).exists(), "stale %s kept%s" % (fn, res))
        self.assertConsistent(res=res)
        self.assertTmpEmpty(res=res)

    def test_changed_package_bytes_refetched(self):
        """Same filename, new bytes and digests upstream: the mirror must end with the new bytes."""
        self.gen(count=10)
        self.assertExit(self.mirror_conda(), 0)
        d = self.updir()
        repodata = mcc.read_repodata(d)
        fn = sorted(repodata["packages"])[0]
        data = os.urandom(5000)
        (d / fn).write_bytes(data)
        repodata["packages"][fn].update(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                        md5=hashlib.md5(data).hexdigest())
        mcc.write_index(str(d), repodata)
        self._remember("noarch")
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)
        self.assertEqual(json.loads((self.mirror / "repodata.json").read_bytes()), repodata)

    def test_dropped_variant_not_left_stale(self):
        """Upstream stops offering repodata.json.bz2 / current_repodata.json: the mirror must
        not keep serving the old generation's copies next to the new repodata.json."""
        self.gen(count=10, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        self.next_gen(add=2, remove=1)
        d = self.updir()
        mcc.write_index(str(d), mcc.read_repodata(d), bz2_variant=False, current=False)
        self._remember("noarch")
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_new_variant_published(self):
        """Upstream starts offering repodata.json.bz2: the mirror publishes it too."""
        self.gen(count=10, bz2_variant=False, current=False)
        self.assertExit(self.mirror_conda(), 0)
        self.next_gen(add=1, remove=0)
        d = self.updir()
        mcc.write_index(str(d), mcc.read_repodata(d), bz2_variant=True, current=True)
        self._remember("noarch")
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_metadata_only_change_publishes_index_without_downloads(self):
        """A repodata patch (dependency metadata only) is published without any package GET."""
        self.gen(count=12, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        d = self.updir()
        repodata = mcc.read_repodata(d)
        for e in repodata["packages"].values():
            e["depends"] = e["depends"] + ["patched-dep >=1"]
        mcc.write_index(str(d), repodata)
        self._remember("noarch")
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertEqual(self.package_gets(), [], str(res))
        self.assertMirrorEqualsUpstream(res=res)


if __name__ == "__main__":
    unittest.main()
