"""Proves impossible: a channel-root mirror (--subdir linux-64,noarch) mixing subdirs,
fetching subdirs that were not asked for, or re-downloading on a no-op run."""

import unittest

from depot_harness import DepotTestCase


class ChannelRootMixesSubdirs(DepotTestCase):
    SUBDIRS = ("--subdir", "linux-64,noarch")

    def setUp(self):
        super().setUp()
        self.gen("noarch", count=12, bz2_variant=True, current=True)
        self.gen("linux-64", count=12, bz2_variant=True, current=False)
        self.gen("osx-64", count=4)

    def run_root(self, *extra):
        return self.mirror_conda(*(self.SUBDIRS + extra), url=self.channel_url())

    def check_equal(self, res):
        for sd in ("linux-64", "noarch"):
            self.assertMirrorEqualsUpstream(sd, mirror=self.mirror / sd, res=res)
            self.assertConsistent(mirror=self.mirror / sd, res=res)
        top = sorted(p.name for p in self.mirror.iterdir() if p.name != ".depot")
        self.assertEqual(top, ["linux-64", "noarch"], "unexpected entries in the mirror root%s" % res)

    def test_two_subdirs_mirrored_separately(self):
        res = self.run_root()
        self.assertExit(res, 0)
        self.check_equal(res)
        osx = [e["path"] for e in self.server.log() if "/osx-64/" in e["path"]]
        self.assertEqual(osx, [], "fetched a subdir that was not asked for%s" % res)

    def test_noop_and_update_per_subdir(self):
        self.assertExit(self.run_root(), 0)
        self.server.clear_log()
        res = self.run_root()
        self.assertExit(res, 0)
        self.assertEqual(self.non_index_requests(), [], "no-op re-run fetched packages%s" % res)
        _, added, removed = self.next_gen("linux-64", add=3, remove=2)
        self.server.clear_log()
        res = self.run_root()
        self.assertExit(res, 0)
        fetched = sorted(e["path"] for e in self.package_gets())
        self.assertEqual(fetched, sorted("/%s/linux-64/%s" % (self.CHANNEL, fn) for fn in added), str(res))
        self.check_equal(res)


if __name__ == "__main__":
    unittest.main()
