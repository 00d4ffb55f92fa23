"""Proves impossible: a malformed or lying upstream index (bad JSON, wrong types, missing
fields, bad digests, declared size or md5 not matching the bytes, unreachable index) being
accepted or changing the mirror.  Whole-index defects exit 3; entries that fail
verification exit 1 naming the entry; the previous mirror stays byte-identical."""

import socket
import unittest

from depot_harness import DepotTestCase, INDEX_NAMES, mcc, read_bytes

FAST = ("--retries", "1")


class BadIndexAccepted(DepotTestCase):
    def setUp(self):
        super().setUp()
        self.establish_good_mirror()

    def restore(self):
        mcc.write_index(str(self.updir()), self.good)

    def check_unchanged(self, res):
        self.assertEqual(self.tree(self.mirror), self.baseline,
                         "mirror changed after a bad index%s" % res)

    def test_index_level_defects_exit_3(self):
        for variant in ("truncated-json", "not-object", "packages-not-object",
                        "entry-not-object", "missing-size", "size-string", "size-negative",
                        "sha256-bad-hex"):
            with self.subTest(variant=variant):
                try:
                    entry = mcc.make_malformed(str(self.up), variant, self.CHANNEL, "noarch")
                    res = self.mirror_conda(*FAST)
                    self.assertExit(res, 3, "index defect %s" % variant)
                    if entry:
                        self.assertIn(entry, res.text, "the bad entry must be named%s" % res)
                    self.check_unchanged(res)
                finally:
                    self.restore()

    def test_entry_without_any_digest_refused(self):
        entry = mcc.make_malformed(str(self.up), "missing-digests", self.CHANNEL, "noarch")
        res = self.mirror_conda(*FAST)
        self.assertExit(res, (1, 3), "an entry with neither sha256 nor md5 cannot be verified")
        self.assertIn(entry, res.text, "the bad entry must be named%s" % res)
        self.check_unchanged(res)

    def check_entry_fails_verification(self, variant):
        entry = mcc.make_malformed(str(self.up), variant, self.CHANNEL, "noarch")
        before = {n: read_bytes(self.mirror / n) for n in INDEX_NAMES if (self.mirror / n).exists()}
        res = self.mirror_conda(*FAST)
        self.assertExit(res, (1, 3), variant)
        self.assertIn(entry, res.text, "the failing entry must be named%s" % res)
        self.assertFalse((self.mirror / entry).exists(), "unverified %s published%s" % (entry, res))
        after = {n: read_bytes(self.mirror / n) for n in INDEX_NAMES if (self.mirror / n).exists()}
        self.assertEqual(after, before, "index replaced although %s failed%s" % (entry, res))
        self.check_unchanged(res)

    def test_declared_size_mismatch(self):
        self.check_entry_fails_verification("size-mismatch")

    def test_body_longer_than_declared_size(self):
        self.check_entry_fails_verification("size-too-small")

    def test_md5_only_entry_with_wrong_md5(self):
        self.check_entry_fails_verification("md5-mismatch")

    def test_index_404_exit_3(self):
        res = self.mirror_conda(*FAST, url=self.url("no-such-subdir"))
        self.assertExit(res, 3)
        self.check_unchanged(res)

    def test_index_always_503_exit_3(self):
        self.server.set_rules([{"glob": "*/repodata.json", "action": "error", "status": 503}])
        res = self.mirror_conda(*FAST)
        self.assertExit(res, 3)
        self.check_unchanged(res)

    def test_upstream_unreachable_exit_3(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        res = self.mirror_conda(*FAST, url="http://127.0.0.1:%d/%s/noarch" % (port, self.CHANNEL))
        self.assertExit(res, 3)
        self.check_unchanged(res)


if __name__ == "__main__":
    unittest.main()
