"""Proves impossible: a usage error (exit 2) touching the disk or the network, and a local
storage failure being reported as anything but exit 5."""

import shutil
import unittest

from depot_harness import DepotTestCase


class UsageErrorTouchesDisk(DepotTestCase):
    def test_usage_errors_exit_2(self):
        self.gen(count=3)
        u, m = self.url(), str(self.mirror)
        cases = [
            ["mirror", "conda"],
            ["mirror", "conda", u],
            ["mirror", "no-such-kind", u, m],
            ["mirror", "conda", u, m, "--bogus-flag"],
            ["mirror", "conda", u, m, "--log-format", "xml"],
            ["mirror", "conda", u, m, "--log-level", "loud"],
            ["mirror", "conda", u, m, "--concurrency", "abc"],
            ["mirror", "conda", u, m, "--retries", "-x"],
            ["mirror", "conda", u, m, "--delete-limit", "lots"],
            ["mirror", "conda", u, m, "--dist", "stable"],  # another registry's option
            ["mirror", "npm", u, m],  # a registry served and cached, not mirrored yet
        ]
        for args in cases:
            with self.subTest(args=args[1:]):
                self.server.clear_log()
                res = self.depot(*args)
                self.assertExit(res, 2)
                self.assertFalse(self.mirror.exists(), "usage error created the mirror dir%s" % res)
                self.assertEqual(self.server.log(), [], "usage error contacted upstream%s" % res)
            shutil.rmtree(self.mirror, ignore_errors=True)  # one failure must not cascade

    def test_option_of_another_registry_is_named(self):
        res = self.depot("mirror", "conda", self.url(), self.mirror, "--keyring", __file__)
        self.assertExit(res, 2)
        self.assertIn("--keyring is not an option of conda (apt: verify", res.err)

    def test_url_that_is_not_a_url_changes_nothing(self):
        res = self.depot("mirror", "conda", "not a url", self.mirror)
        self.assertExit(res, (2, 3))
        self.assertEqual(self.tree(self.mirror) if self.mirror.exists() else {}, {}, str(res))

    def test_unwritable_destination_exit_5(self):
        self.gen(count=3)
        blocker = self.ws / "afile"
        blocker.write_bytes(b"a regular file, not a directory\n")
        res = self.mirror_conda(dest=blocker / "mirror")
        self.assertExit(res, 5, "destination below a regular file is a local storage error")
        self.assertEqual(blocker.read_bytes(), b"a regular file, not a directory\n")


if __name__ == "__main__":
    unittest.main()
