"""Proves impossible: opam (Debian's 2.1) failing to install a package with a dependency from
an opam mirror alone (the repository and the archives' source host both stopped); an archive
missing from the upstream cache left out instead of fetched from its src; an upstream fault
(503, drop, truncation) or a corrupt archive changing what is served or failing without naming
the package and archive; index.tar.gz switching before the archives it names; a hostile src
URL or tar entry being followed; a no-op re-run downloading anything."""

import os
import tarfile
import unittest

from opam_harness import OpamTestCase, mor


def archive_gets(log):
    return [e["path"] for e in log if e["method"] == "GET" and e["path"].startswith("/cache/")]


class OpamRejectsMirror(OpamTestCase):
    def setUp(self):
        super().setUp()
        self.gen_repo()

    def establish(self):
        res = self.mirror_opam()
        self.assertExit(res, 0)
        self.assertEqual(self.tree(self.mirror), self.expected(), "mirror differs%s" % res)
        return res

    def test_opam_installs_from_the_mirror_alone(self):
        self.establish()
        src_only = self.packages["hello.1.0"]
        self.assertFalse(src_only["cached"])
        self.assertIn("GET /" + src_only["file"],
                      ["%s %s" % (e["method"], e["path"]) for e in self.srchost.log()],
                      "the archive missing from the upstream cache came from its src")
        self.assertTrue((self.mirror / src_only["cache"]).is_file())
        # A no-op re-run: nothing downloaded from either host.
        self.server.clear_log()
        self.srchost.clear_log()
        noop = self.mirror_opam()
        self.assertExit(noop, 0)
        self.assertEqual(archive_gets(self.server.log()), [], "no-op re-run fetched archives")
        self.assertEqual(self.srchost.log(), [], "no-op re-run asked the source host")
        self.assertIn("downloaded 0 files", noop.out)
        self.server.stop()
        self.srchost.stop()
        site = self.serve_mirror()
        res = self.judge(site.base)
        self.assertJudgeOk(res)
        gets = archive_gets(site.log())
        self.assertEqual(sorted(gets), sorted("/" + p["cache"] for p in self.packages.values()),
                         "opam fetched the archives from the mirror's cache")

    def test_upstream_faults_keep_the_previous_mirror(self):
        self.establish()
        baseline = self.tree(self.mirror)
        self.next_gen()
        new = self.packages["hello.1.1"]
        self.assertTrue(new["cached"])
        faults = [
            {"action": "error", "status": 503},
            {"action": "drop", "after": 0.5},
            {"action": "truncate"},
            {"action": "corrupt"},
        ]
        for fault in faults:
            with self.subTest(fault=fault["action"]):
                self.server.set_rules([dict(fault, glob="/" + new["cache"])])
                res = self.mirror_opam()
                self.assertNotEqual(res.rc, 0, "a fault passed unnoticed%s" % res)
                self.assertIn('package "hello.1.1"', res.text, res)
                self.assertIn('archive "hello-1.1.tar.gz"', res.text, res)
                self.assertEqual(self.tree(self.mirror), baseline,
                                 "the previous good mirror changed%s" % res)
        # Transient faults are retried.
        self.server.set_rules([{"glob": "/" + new["cache"], "action": "error", "status": 503,
                                "times": 1},
                               {"glob": "/index.tar.gz", "action": "drop", "times": 1}])
        res = self.mirror_opam()
        self.assertExit(res, 0)
        self.assertEqual(self.tree(self.mirror), self.expected(), "second generation%s" % res)

    def test_second_generation_switches_index_after_its_archives(self):
        self.establish()
        old_index = (self.mirror / "index.tar.gz").read_bytes()
        self.next_gen()
        new = self.packages["hello.1.1"]
        # The new archive is unreachable: index.tar.gz must not switch.
        self.server.set_rules([{"glob": "/" + new["cache"], "action": "not_found"}])
        os.remove(os.path.join(str(self.srcdir), new["file"]))
        res = self.mirror_opam()
        self.assertNotEqual(res.rc, 0, res)
        self.assertIn('package "hello.1.1"', res.text, res)
        self.assertEqual((self.mirror / "index.tar.gz").read_bytes(), old_index,
                         "index.tar.gz switched before the archive it names%s" % res)
        self.assertFalse((self.mirror / new["cache"]).exists())
        self.server.clear_rules()
        res = self.mirror_opam()
        self.assertExit(res, 0)
        self.assertEqual(self.tree(self.mirror), self.expected(), res)
        self.server.stop()
        self.srchost.stop()
        judged = self.judge(self.serve_mirror().base)
        self.assertJudgeOk(judged, want="v1.1")

    def test_hostile_src_and_tar_entries_are_refused(self):
        self.establish()
        baseline = self.tree(self.mirror)
        # hello.1.1's archive is in no cache, and its src is a local file.
        packages = [p if p[1] != "1.1" else p[:4] + (False,) + p[5:] for p in mor.GEN2]
        self.gen_repo(packages)
        opam = self.up / "packages" / "hello" / "hello.1.1" / "opam"
        opam.write_text(opam.read_text().replace(self.packages["hello.1.1"]["src"],
                                                 "file:///etc/passwd"))
        mor.build_index(str(self.up))
        res = self.mirror_opam()
        self.assertNotEqual(res.rc, 0, res)
        self.assertIn('package "hello.1.1"', res.text, res)
        self.assertIn("file:///etc/passwd", res.text, res)
        self.assertEqual(self.tree(self.mirror), baseline, res)
        # A tar entry climbing out of the repository.
        index = self.up / "index.tar.gz"
        with tarfile.open(str(index), "w:gz") as t:
            t.add(str(self.up / "repo"), arcname="repo")
            t.add(str(opam), arcname="packages/evil/evil.1/../../../../outside/opam")
        res = self.mirror_opam()
        self.assertNotEqual(res.rc, 0, res)
        self.assertIn("evil.1", res.text, res)
        self.assertIn("unsafe path", res.text, res)
        self.assertEqual(self.tree(self.mirror), baseline, res)
        self.assertEqual(os.listdir(str(self.outside)), [])


if __name__ == "__main__":
    unittest.main()
