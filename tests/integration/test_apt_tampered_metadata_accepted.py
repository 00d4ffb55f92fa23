"""Tampered apt metadata must never reach the mirror: a modified InRelease, a root signed by
a key outside the keyring, an unsigned root, a Packages file whose hash differs from Release,
a .deb whose sha256 differs from Packages, a hostile Filename and a replayed older root each
fail the run with a message naming the file, and the published generation stays exactly as it was."""

import lzma
import os
import shutil
import time
import unittest

from apt_harness import DIST, AptTestCase, mar


class AptTamperedMetadataAccepted(AptTestCase):
    def setUp(self):
        super().setUp()
        self.build_upstream(self.packages(6))
        res = self.mirror_apt()
        self.assertExit(res, 0)
        self.baseline = self.tree(self.mirror)
        self.dists = self.up / "dists" / DIST

    def assertGenerationKept(self, res):
        now = self.tree(self.mirror)
        changed = sorted(p for p, h in self.baseline.items() if now.get(p) != h)
        new_dists = sorted(p for p in set(now) - set(self.baseline) if p.startswith("dists/"))
        self.assertFalse(changed or new_dists,
                         "published generation changed: %s %s%s" % (changed, new_dists, res))
        self.assertTmpEmpty(res=res)

    def next_generation(self):
        self.build_upstream(self.packages(6) + [("newpkg", "1.0", "amd64")])

    def test_modified_inrelease(self):
        self.next_generation()
        p = self.dists / "InRelease"
        p.write_bytes(p.read_bytes().replace(b"Label: depot-test", b"Label: depot-evil"))
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("InRelease", res.text)
        self.assertIn("bad signature", res.text)
        self.assertGenerationKept(res)

    def test_root_signed_by_another_key(self):
        other_home = self.tmp / "other-gnupg"
        mar.make_key(other_home, self.tmp / "other.gpg", name="intruder <x@depot.test>")
        mar.add_packages(self.up, [("newpkg", "1.0", "amd64")])
        mar.publish(self.up, DIST, other_home)
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("not in the keyring", res.text)
        self.assertGenerationKept(res)

    def test_unsigned_root(self):
        mar.add_packages(self.up, [("newpkg", "1.0", "amd64")])
        mar.publish(self.up, DIST, self.gnupg, sign=False)
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("unsigned", res.text)
        self.assertGenerationKept(res)

    def test_packages_hash_differs_from_release(self):
        self.next_generation()
        p = self.dists / "main" / "binary-amd64" / "Packages.xz"
        p.write_bytes(lzma.compress(b"Package: sneaky\n"))
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("main/binary-amd64/Packages.xz", res.text)
        self.assertGenerationKept(res)

    def test_deb_differs_from_packages(self):
        self.next_generation()
        deb = self.up / mar.pool_path("newpkg", "1.0", "amd64")
        data = bytearray(deb.read_bytes())
        data[len(data) // 2] ^= 0xFF
        deb.write_bytes(bytes(data))
        res = self.mirror_apt("--retries", "1")
        self.assertExit(res, 1)
        self.assertIn(mar.pool_path("newpkg", "1.0", "amd64"), res.text)
        self.assertGenerationKept(res)
        self.assertFalse((self.mirror / mar.pool_path("newpkg", "1.0", "amd64")).exists())

    def test_hostile_filename(self):
        evil = ("Package: evil\nVersion: 1\nArchitecture: amd64\nFilename: ../../outside/x\n"
                "Size: 3\nSHA256: %s\n" % ("a" * 64))
        mar.publish(self.up, DIST, self.gnupg, extra=evil,
                    keep={mar.pool_path(n, v, a) for n, v, a in self.packages(6)})
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("../../outside/x", res.text)
        self.assertEqual(os.listdir(self.outside), [])
        self.assertGenerationKept(res)


    def test_replayed_older_root(self):
        """A validly signed but older generation (a lagging upstream, or a replay) must not
        take the mirror back in time; --force accepts it."""
        saved = self.tmp / "old-dists"
        shutil.copytree(self.dists, saved)
        time.sleep(1.1)  # Release dates have one-second resolution
        self.next_generation()
        self.assertExit(self.mirror_apt(), 0)
        self.baseline = self.tree(self.mirror)
        shutil.rmtree(self.dists)
        shutil.copytree(saved, self.dists)
        res = self.mirror_apt()
        self.assertExit(res, 3)
        self.assertIn("older than the mirrored", res.text)
        self.assertGenerationKept(res)
        res = self.mirror_apt("--force")
        self.assertExit(res, 0)
        self.assertFalse((self.mirror / mar.pool_path("newpkg", "1.0", "amd64")).exists())

if __name__ == "__main__":
    unittest.main()
