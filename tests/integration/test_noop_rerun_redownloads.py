"""Proves impossible: a re-run against an unchanged upstream downloading (or rewriting) any
package; only index files may be requested."""

import os
import shutil
import unittest

from depot_harness import DepotTestCase, mcc


class NoopRerunRedownloads(DepotTestCase):
    def stamps(self):
        out = {}
        for p in self.mirror.iterdir():
            if p.is_file():
                st = p.stat()
                out[p.name] = (st.st_ino, st.st_mtime_ns, st.st_size)
        return out

    def test_noop_rerun_requests_only_the_index(self):
        self.gen(count=30, bz2_variant=True, current=True)
        self.assertExit(self.mirror_conda(), 0)
        before = self.stamps()
        tree = self.tree(self.mirror)
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertSummary(res)
        log = self.server.log()
        self.assertEqual(self.non_index_requests(log), [],
                         "a no-op re-run requested non-index files%s" % res)
        self.assertEqual(self.tree(self.mirror), tree)
        after = self.stamps()
        rewritten = sorted(n for n in before if n.endswith((".conda", ".tar.bz2"))
                           and before[n] != after.get(n))
        self.assertEqual(rewritten, [], "package files rewritten by a no-op run")

    def test_rewritten_identical_index_downloads_nothing(self):
        """Upstream republishes byte-identical repodata (new mtime/ETag): still no package GET."""
        self.gen(count=20)
        self.assertExit(self.mirror_conda(), 0)
        d = self.updir()
        mcc.write_index(str(d), mcc.read_repodata(d))
        os.utime(d / "repodata.json", None)
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertEqual(self.package_gets(), [], "packages re-downloaded%s" % res)
        self.assertMirrorEqualsUpstream(res=res)

    def test_locally_deleted_package_restored(self):
        """A package removed from the mirror behind depot's back is fetched again: otherwise
        the published index would name a file the mirror lacks."""
        self.gen(count=10)
        self.assertExit(self.mirror_conda(), 0)
        victim = sorted(mcc.read_repodata(self.updir())["packages"])[0]
        (self.mirror / victim).unlink()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)
        self.assertConsistent(res=res)

    def test_lost_state_adopts_verified_files_only(self):
        """.depot/ deleted: files already on disk are re-verified by digest and kept, not
        downloaded again; a file that no longer matches its digest is fetched again."""
        self.gen(count=12)
        self.assertExit(self.mirror_conda(), 0)
        repodata = mcc.read_repodata(self.updir())
        tampered = sorted(repodata["packages"])[0]
        p = self.mirror / tampered
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
        shutil.rmtree(self.mirror / ".depot")
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 0)
        self.assertMirrorEqualsUpstream(res=res)
        fetched = sorted({e["path"].rsplit("/", 1)[-1] for e in self.package_gets()})
        self.assertEqual(fetched, [tampered], "after losing state, only the damaged file "
                         "should be downloaded again%s" % res)


if __name__ == "__main__":
    unittest.main()
