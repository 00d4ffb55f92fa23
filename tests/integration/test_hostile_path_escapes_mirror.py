"""Proves impossible: an index entry whose filename is hostile ("../x", "/abs/x", "a/../../b",
"sub/..", NUL or control characters, "", ".") making depot write outside the mirror, touch
its state, or change what the mirror publishes.  Each variant: exit 3, nothing written
outside <dir>, mirror byte-identical to before."""

import os
import unittest

from depot_harness import DepotTestCase, INDEX_NAMES, mcc, read_bytes

DEEP_TARGET = "/tmp/escape-deep-1.0-0.tar.bz2"


class HostilePathEscapesMirror(DepotTestCase):
    def setUp(self):
        super().setUp()
        self.establish_good_mirror()
        self.ws_paths = self.all_paths(self.ws) - {p for p in self.all_paths(self.ws)
                                                   if p.startswith("mirror" + os.sep + ".depot")}
        self.up_paths = self.all_paths(self.up)

    def restore_upstream(self):
        mcc.write_index(str(self.updir()), self.good)

    def check_refused(self, variant, key="packages"):
        deep_existed = os.path.exists(DEEP_TARGET)
        name = mcc.add_hostile(str(self.up), variant, self.CHANNEL, "noarch",
                               outside=str(self.outside), key=key)
        self.server.clear_log()
        res = self.mirror_conda()
        self.assertExit(res, 3, "hostile filename %r must make the index unusable" % name)
        ws_now = {p for p in self.all_paths(self.ws)
                  if not p.startswith("mirror" + os.sep + ".depot")}
        self.assertEqual(sorted(ws_now - self.ws_paths), [],
                         "paths appeared next to / inside the mirror for %r%s" % (name, res))
        self.assertEqual(list(self.outside.iterdir()), [], "wrote outside the mirror%s" % res)
        if not deep_existed:
            self.assertFalse(os.path.exists(DEEP_TARGET), "wrote %s%s" % (DEEP_TARGET, res))
        self.assertEqual(self.tree(self.mirror), self.baseline,
                         "mirror changed after a refused index%s" % res)
        self.assertTrue((self.mirror / ".depot" / "state.db").is_file())
        fetched = [e["path"] for e in self.server.log() if "escape" in e["path"]]
        self.assertEqual(fetched, [], "the hostile entry was fetched%s" % res)
        # upstream tree must be untouched too (the mirror must not write into what it mirrors)
        self.restore_upstream()

    def test_each_hostile_variant_refused(self):
        for variant in sorted(mcc.HOSTILE):
            with self.subTest(variant=variant):
                try:
                    self.check_refused(variant)
                finally:
                    self.restore_upstream()

    def test_hostile_name_in_packages_conda_refused(self):
        for variant in ("dotdot", "absolute", "inner-dotdot"):
            with self.subTest(variant=variant):
                try:
                    self.check_refused(variant, key="packages.conda")
                finally:
                    self.restore_upstream()

    def test_name_inside_state_dir_refused(self):
        """Beyond the listed variants: a filename aiming at .depot/ (a conda filename never
        contains '/'), which would let upstream overwrite the state database."""
        d = self.updir()
        repodata = mcc.read_repodata(d)
        data = b"not a database\n" * 64
        for name in (".depot/state.db", ".depot/tmp/x.conda"):
            with self.subTest(name=name):
                r = dict(repodata)
                r["packages"] = dict(repodata["packages"])
                r["packages"][name] = mcc._entry("escape", "1", "0", "noarch", data, 1)
                (d / ".depot" / "tmp").mkdir(parents=True, exist_ok=True)
                (d / name).write_bytes(data)
                mcc.write_index(str(d), r)
                res = self.mirror_conda()
                self.assertExit(res, 3, "filename %r must make the index unusable" % name)
                self.assertNotEqual(read_bytes(self.mirror / ".depot" / "state.db"), data)
                self.assertEqual(self.tree(self.mirror), self.baseline, str(res))
                self.restore_upstream()

    def test_refused_index_leaves_previous_index_files(self):
        before = {n: read_bytes(self.mirror / n) for n in INDEX_NAMES if (self.mirror / n).exists()}
        self.next_gen(add=2, remove=2)  # a real new generation, plus a hostile entry
        mcc.add_hostile(str(self.up), "dotdot", self.CHANNEL, "noarch")
        res = self.mirror_conda()
        self.assertExit(res, 3)
        after = {n: read_bytes(self.mirror / n) for n in INDEX_NAMES if (self.mirror / n).exists()}
        self.assertEqual(after, before, "index files changed%s" % res)
        self.assertConsistent(res=res)

    def test_redirect_to_file_url_never_followed(self):
        """A hostile upstream redirecting to file:///etc/passwd must not get local files
        copied into the mirror (nor published as an index)."""
        _, added, _ = self.next_gen(add=1, remove=0)
        self.server.set_rules([{"glob": "*/" + added[0], "action": "redirect",
                                "location": "file:///etc/passwd"}])
        res = self.mirror_conda("--retries", "1")
        self.assertExit(res, 1)
        self.assertIn(added[0], res.text)
        self.assertFalse((self.mirror / added[0]).exists(), str(res))
        self.server.set_rules([{"glob": "*/repodata.json", "action": "redirect",
                                "location": "file:///etc/passwd"}])
        res = self.mirror_conda("--retries", "1")
        self.assertExit(res, 3)
        self.assertEqual(self.tree(self.mirror), self.baseline, str(res))

    def test_planted_symlink_not_followed(self):
        """A symlink sitting in the mirror where a new package will land must be replaced,
        never written through (the file it points at stays untouched)."""
        _, added, _ = self.next_gen(add=2, remove=0)
        precious = self.outside / "precious.txt"
        precious.write_bytes(b"precious\n")
        os.symlink(precious, self.mirror / added[0])
        try:
            res = self.mirror_conda()
            self.assertEqual(precious.read_bytes(), b"precious\n",
                             "depot wrote through a symlink%s" % res)
            self.assertEqual(sorted(p.name for p in self.outside.iterdir()), ["precious.txt"])
            self.assertExit(res, 0)
            self.assertFalse((self.mirror / added[0]).is_symlink(), str(res))
            self.assertMirrorEqualsUpstream(res=res)
        finally:
            precious.unlink()


if __name__ == "__main__":
    unittest.main()
