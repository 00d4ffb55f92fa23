"""The real dnf must accept what depot mirrors: a yum repository built with rpmbuild and
createrepo_c, mirrored through the fault-injecting upstream (dropped, failed, truncated and
corrupted transfers retried) and served by a plain static server, is a repository dnf
downloads from (checksums checked against primary) before and after an upstream update; a no-op re-run asks upstream for repomd.xml only; superseded metadata stays
for the grace period and goes after it; gz, xz, bz2 (sqlite) and zstd metadata all work."""

import unittest

from yum_harness import ROOT_FILES, YumTestCase, myr


class DnfRejectsMirror(YumTestCase):
    def test_dnf_downloads_from_mirror_across_generations(self):
        self.build_upstream(self.packages(5), compress="gz")
        # Transient upstream faults on the way: retried, never published half-done.
        self.server.set_rules([
            {"glob": "/repodata/*-primary.xml.gz", "action": "drop", "times": 1},
            {"glob": "/Packages/p/pkg01-*", "action": "error", "status": 503, "times": 1},
            {"glob": "/Packages/p/pkg02-*", "action": "truncate", "times": 1},
            {"glob": "/Packages/p/pkg03-*", "action": "corrupt", "times": 1}])
        res = self.mirror_yum()
        self.assertExit(res, 0)
        self.assertMirrorIsUpstream(res)
        self.assertFalse([r for r in self.server.rules() if r["remaining"]],
                         "a fault was never hit%s" % res)
        self.server.clear_rules()

        dnf = self.dnf()
        ok, out = dnf.download("pkg01", "pkg03")
        self.assertTrue(ok, "dnf against the mirror failed:\n" + out)
        self.assertEqual(dnf.downloaded(), ["pkg01-1.0-1.noarch.rpm", "pkg03-1.0-1.noarch.rpm"])
        want = self.upstream_files()
        for name in dnf.downloaded():
            self.assertEqual(myr.sha256_file(dnf.root / "out" / name),
                             want["Packages/p/" + name])

        # No-op re-run: repomd.xml (and its optional companions), nothing else.
        self.server.clear_log()
        res = self.mirror_yum()
        self.assertExit(res, 0)
        asked = sorted({e["path"] for e in self.server.log()})
        self.assertIn("/repodata/repomd.xml", asked, res)
        self.assertTrue(set(asked) <= set(ROOT_FILES), "re-run asked for %s%s" % (asked, res))

        # Upstream moves on: pkg03 updated, pkg00 removed, plain createrepo_c defaults (sqlite
        # databases in bz2 too).
        old_repodata = {p for p in self.tree(self.mirror) if p.startswith("repodata/")}
        pkgs = [(n, "2.0" if n == "pkg03" else v) for n, v in self.packages(5)[1:]]
        self.build_upstream(pkgs, compress=None)
        res = self.mirror_yum()
        self.assertExit(res, 0)
        now = set(self.tree(self.mirror))
        self.assertNotIn("Packages/p/pkg00-1.0-1.noarch.rpm", now, res)
        self.assertNotIn("Packages/p/pkg03-1.0-1.noarch.rpm", now, res)
        self.assertTrue(old_repodata <= now, "superseded metadata removed before the grace "
                        "period ended: %s%s" % (sorted(old_repodata - now), res))
        self.assertTrue(any(p.endswith("primary.sqlite.bz2") for p in now), res)
        ok, out = dnf.download("pkg03")
        self.assertTrue(ok, "dnf after the update failed:\n" + out)
        self.assertIn("pkg03-2.0-1.noarch.rpm", dnf.downloaded())

        # With a zero grace period the superseded metadata goes; the mirror is upstream.
        res = self.mirror_yum("--index-grace", "0")
        self.assertExit(res, 0)
        self.assertMirrorIsUpstream(res)
        self.assertTmpEmpty(res=res)

    def test_xz_and_zstd_metadata(self):
        self.build_upstream(self.packages(4), compress="xz")
        primary = myr.recompress(self.up, "primary", "zstd")
        self.assertTrue(primary.endswith(".zst"))
        res = self.mirror_yum()
        self.assertExit(res, 0)
        self.assertMirrorIsUpstream(res)
        self.assertIn("packages=4", res.err, res)
        ok, out = self.dnf().download("pkg02")
        self.assertTrue(ok, "dnf against the zstd/xz mirror failed:\n" + out)

    def test_signed_repomd_verified_with_keyring(self):
        gnupg = self.tmp / "gnupg"
        keyring = self.tmp / "repo-key.gpg"
        myr.make_key(gnupg, keyring)
        self.build_upstream(self.packages(3), sign=gnupg)
        res = self.mirror_yum("--keyring", keyring)
        self.assertExit(res, 0)
        self.assertMirrorIsUpstream(res)
        self.assertIn("signed=verified", res.err, res)

        # A repomd.xml changed after signing is refused; nothing published changes.
        before = self.tree(self.mirror)
        repomd = self.up / "repodata" / "repomd.xml"
        repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9"))
        res = self.mirror_yum("--keyring", keyring)
        self.assertNotEqual(res.rc, 0, res)
        self.assertIn("repomd.xml.asc", res.text, res)
        self.assertEqual(self.tree(self.mirror), before, res)


if __name__ == "__main__":
    unittest.main()
