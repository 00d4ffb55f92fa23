"""Proves impossible: legal-but-unusual conda filenames ('+' local versions, '!' epochs,
UTF-8) being fetched from the wrong URL or stored under the wrong name; and URL-special
characters (space, '%', '#', '?') silently fetching a different resource."""

import shutil
import unittest

from depot_harness import DepotTestCase, mcc

LEGAL = ["torch-2.1.0+cpu-py_0.tar.bz2", "epoch-1!2.0-py_0.conda", "under_score-1.0-py_0.conda",
         "many.dots.name-1.0.0.post1-py_0.tar.bz2", "tilde-1.0~rc1-py_0.conda"]
ODD = ["space name-1.0-py_0.conda", "percent%41-1.0-py_0.conda", "hash#frag-1.0-py_0.conda",
       "query?x=1-1.0-py_0.conda", "unicode-\u00fc\u00f1\u00ee-1.0-py_0.conda"]


class SpecialFilenameBreaksFetch(DepotTestCase):
    def test_legal_unusual_names_mirrored(self):
        self.gen(count=3)
        for i, name in enumerate(LEGAL):
            mcc.add_package(str(self.up), name, ("payload %d\n" % i).encode() * 300, self.CHANNEL)
        self._remember("noarch")
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)

    def test_url_special_names_fetched_exactly_or_refused(self):
        for i, name in enumerate(ODD):
            with self.subTest(name=name):
                try:
                    self.check_odd(i, name)
                finally:
                    shutil.rmtree(self.mirror, ignore_errors=True)
                    shutil.rmtree(self.up / self.CHANNEL, ignore_errors=True)

    def check_odd(self, i, name):
        self.gen(count=2)
        # decoy: if the name is not percent-encoded, the URL is cut at '#'/'?' or
        # '%41' decodes to 'A': serve different bytes there so a wrong fetch shows.
        d = self.updir()
        for decoy in (name.split("#")[0], name.split("?")[0], name.replace("%41", "A")):
            if decoy != name:
                (d / decoy).write_bytes(b"decoy bytes, not the package\n" * 50)
        mcc.add_package(str(self.up), name, ("odd %d\n" % i).encode() * 300, self.CHANNEL)
        self._remember("noarch")
        res = self.mirror_conda()
        self.assertExit(res, (0, 3), "either mirror %r exactly or refuse the index" % name)
        if res.rc == 0:
            self.assertMirrorEqualsUpstream(res=res)
        else:
            self.assertFalse(self.mirror.exists() and any(
                p.name != ".depot" for p in self.mirror.iterdir()), str(res))


if __name__ == "__main__":
    unittest.main()
