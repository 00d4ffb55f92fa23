"""An rpm whose bytes differ from primary.xml's checksum never gets published: the run fails
(exit 1) naming the file, the mirror keeps its previous generation exactly (repomd.xml, every
metadata file, every package), and dnf against the mirror still gets the previous packages.
Once upstream is repaired, the next run publishes the new generation."""

import unittest

from yum_harness import YumTestCase, myr


class YumBadRpmPublished(YumTestCase):
    def establish(self):
        self.build_upstream(self.packages(4))
        res = self.mirror_yum()
        self.assertExit(res, 0)
        self.baseline = self.tree(self.mirror)

    def update_pkg02(self):
        pkgs = [(n, "2.0" if n == "pkg02" else v) for n, v in self.packages(4)]
        self.build_upstream(pkgs)
        return "Packages/p/pkg02-2.0-1.noarch.rpm"

    def assertPreviousGeneration(self, res):
        self.assertEqual(self.tree(self.mirror), self.baseline,
                         "the mirror changed after a failed run%s" % res)
        dnf = self.dnf()
        ok, out = dnf.download("pkg02")
        self.assertTrue(ok, "dnf against the mirror after the failed run:\n" + out)
        self.assertEqual(dnf.downloaded(), ["pkg02-1.0-1.noarch.rpm"])

    def test_rpm_differs_from_primary_upstream(self):
        self.establish()
        bad = self.update_pkg02()
        # Upstream's file no longer matches what primary.xml says (same size, one byte flipped).
        path = self.up / bad
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

        res = self.mirror_yum("--retries", "1")
        self.assertExit(res, 1)
        self.assertIn(bad, res.text, "the failure does not name the file%s" % res)
        self.assertIn("digest", res.text.lower(), res)
        self.assertPreviousGeneration(res)

        # Upstream repaired: the next run publishes generation 2.
        path.unlink()
        self.build_upstream([(n, "2.0" if n == "pkg02" else v) for n, v in self.packages(4)])
        res = self.mirror_yum()
        self.assertExit(res, 0)
        self.assertEqual(myr.sha256_file(self.mirror / bad), self.upstream_files()[bad])
        dnf = self.dnf("dnf-gen2")
        ok, out = dnf.download("pkg02")
        self.assertTrue(ok, out)
        self.assertEqual(dnf.downloaded(), ["pkg02-2.0-1.noarch.rpm"])

    def test_rpm_corrupted_on_every_transfer(self):
        self.establish()
        bad = self.update_pkg02()
        self.server.set_rules([{"glob": "/" + bad, "action": "corrupt"}])
        res = self.mirror_yum("--retries", "2")
        self.assertExit(res, 1)
        self.assertIn(bad, res.text, "the failure does not name the file%s" % res)
        self.assertPreviousGeneration(res)

    def test_metadata_differs_from_repomd(self):
        self.establish()
        self.update_pkg02()
        self.server.set_rules([{"glob": "/repodata/*-filelists.xml.gz", "action": "corrupt"}])
        res = self.mirror_yum("--retries", "1")
        self.assertNotEqual(res.rc, 0, res)
        self.assertIn("filelists.xml.gz", res.text, res)
        self.assertPreviousGeneration(res)


if __name__ == "__main__":
    unittest.main()
