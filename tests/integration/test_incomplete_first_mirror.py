"""Proves impossible: a first mirror that ends "complete" while a file is missing, extra or
has a digest other than upstream's; a package fetched twice; temp debris after success."""

import collections
import json
import shutil
import unittest

from depot_harness import DepotTestCase, mcc


class IncompleteFirstMirror(DepotTestCase):
    def check_complete(self, res):
        self.assertExit(res, 0)
        self.assertSummary(res)
        self.assertMirrorEqualsUpstream(res=res)
        self.assertConsistent(res=res)
        self.assertTmpEmpty(res=res)
        self.assertTrue((self.mirror / ".depot" / "state.db").is_file(),
                        "no .depot/state.db%s" % res)
        self.assertEqual(sorted(p.name for p in self.ws.iterdir()), ["mirror", "outside"])
        self.assertEqual(list(self.outside.iterdir()), [])

    def test_first_mirror_complete_and_verified(self):
        self.gen(count=40, bz2_variant=True, current=True)
        res = self.mirror_conda()
        self.check_complete(res)
        gets = collections.Counter(e["path"] for e in self.package_gets() if e["status"] == 200)
        twice = {p: n for p, n in gets.items() if n > 1}
        self.assertFalse(twice, "packages downloaded more than once: %s" % twice)
        self.assertEqual(len(gets), 40)

    def test_first_mirror_with_high_concurrency(self):
        self.gen(count=150, min_size=200, max_size=4000, bz2_variant=True, current=False)
        res = self.mirror_conda("--concurrency", "64")
        self.check_complete(res)

    @unittest.skipIf(shutil.which("zstd") is None, "zstd program not installed")
    def test_zst_variant_mirrored(self):
        self.gen(count=10, bz2_variant=True, zst_variant=True, current=True)
        res = self.mirror_conda()
        self.check_complete(res)
        self.assertTrue((self.mirror / "repodata.json.zst").is_file())

    def test_md5_only_entries_verified(self):
        """Entries without sha256 are verified by md5 and still mirrored."""
        self.gen(count=12)
        d = self.updir()
        repodata = mcc.read_repodata(d)
        for e in repodata["packages.conda"].values():
            del e["sha256"]
        mcc.write_index(str(d), repodata)
        self._remember("noarch")
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)
        self.assertEqual(json.loads((self.mirror / "repodata.json").read_bytes()), repodata)


if __name__ == "__main__":
    unittest.main()
