"""The real apt-get must accept what depot mirrors: a signed by-hash archive mirrored with
--keyring, served by a plain static server, passes `apt-get update` + `apt-get download`
(signed-by the archive key) before and after an upstream update; apt fetches indexes by hash;
a no-op re-run asks upstream for the roots only; superseded by-hash files stay for the grace
period and go once it has passed."""

import time
import unittest

from apt_harness import AptTestCase, mar


class AptClientRejectsMirror(AptTestCase):
    def test_apt_get_update_and_download_from_mirror(self):
        self.build_upstream(self.packages(12))
        res = self.mirror_apt()
        self.assertExit(res, 0)
        self.assertPoolMatchesUpstream(mar.expected_pool(self.up).keys(), res)

        apt = self.client()
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update against the mirror failed:\n" + out)
        ok, out = apt.download("pkg0003", "pkg0011")
        self.assertTrue(ok, "apt-get download failed:\n" + out)
        self.assertEqual(apt.downloaded(), ["pkg0003_1.0_amd64.deb", "pkg0011_1.0_amd64.deb"])
        gets = [e["path"] for e in self.mirror_server.log() if e["method"] == "GET"]
        self.assertTrue(any("/by-hash/SHA512/" in p for p in gets),
                        "apt did not fetch the indexes by hash: %s" % gets)

        # No-op re-run: the roots only, never an index file listed unchanged, never a package.
        self.server.clear_log()
        res = self.mirror_apt()
        self.assertExit(res, 0)
        asked = sorted(e["path"] for e in self.server.log())
        self.assertEqual(asked, ["/dists/stable/InRelease", "/dists/stable/Release",
                                 "/dists/stable/Release.gpg"], res)

        # Upstream moves on: pkg0003 gets a new version, pkg0000 goes away.
        old_by_hash = {p for p in self.tree(self.mirror) if "/by-hash/" in p}
        pkgs = self.packages(12, start=0)[1:]
        pkgs = [(n, "2.0" if n == "pkg0003" else v, a) for n, v, a in pkgs]
        self.build_upstream(pkgs)
        res = self.mirror_apt()
        self.assertExit(res, 0)
        self.assertFalse((self.mirror / mar.pool_path("pkg0000", "1.0", "amd64")).exists(),
                         "stale pool file kept%s" % res)
        now = set(self.tree(self.mirror))
        self.assertTrue(old_by_hash <= now, "superseded by-hash files removed before the grace "
                        "period ended: %s%s" % (sorted(old_by_hash - now), res))
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update after the resync failed:\n" + out)
        ok, out = apt.download("pkg0003")
        self.assertTrue(ok, out)
        self.assertIn("pkg0003_2.0_amd64.deb", apt.downloaded())

        # The grace period runs from the first run that found them superseded, then they go.
        release = (self.mirror / "dists/stable/Release").read_text()
        superseded = {p for p in old_by_hash if p.rsplit("/", 1)[-1] not in release}
        self.assertTrue(superseded, "the update superseded no index file?")
        res = self.mirror_apt("--index-grace", "0.001")  # 3.6 s from the update run
        self.assertExit(res, 0)
        self.assertTrue(superseded <= set(self.tree(self.mirror)), res)
        time.sleep(4.0)
        res = self.mirror_apt("--index-grace", "0.001")
        self.assertExit(res, 0)
        left = superseded & set(self.tree(self.mirror))
        self.assertFalse(left, "superseded by-hash files kept after the grace period: %s%s"
                         % (sorted(left), res))
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update after the cleanup failed:\n" + out)
        self.assertTmpEmpty(res=res)


class DroppedSignatureOutlivesItsRoot(AptTestCase):
    def test_release_gpg_dropped_upstream_goes_with_the_old_root(self):
        """Upstream stops shipping Release.gpg: the old one must not stay beside the new
        Release (roots get no grace period), or Release-only clients see a bad signature."""
        self.build_upstream(self.packages(3))
        self.assertExit(self.mirror_apt(), 0)
        self.assertTrue((self.mirror / "dists/stable/Release.gpg").exists())
        self.build_upstream(self.packages(4))
        (self.up / "dists/stable/Release.gpg").unlink()
        res = self.mirror_apt()
        self.assertExit(res, 0)
        self.assertFalse((self.mirror / "dists/stable/Release.gpg").exists(),
                         "a Release.gpg of the previous generation beside the new Release%s" % res)
        ok, out = self.client().update()
        self.assertTrue(ok, out)


if __name__ == "__main__":
    unittest.main()
