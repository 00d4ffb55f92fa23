"""Proves impossible: a full crates mirror (no --crate list) missing a crate the git index
names, or one added upstream since the last run (the second run fetching the git index anew
instead of its new commits only); an unreachable or malformed git index changing the mirror
instead of failing with exit 3 naming the URL or the path."""

import re
import subprocess

from crates_harness import CratesTestCase, mcr


class CratesFullMirrorMissesCrates(CratesTestCase):
    def setUp(self):
        super().setUp()
        self.mirror.mkdir(parents=True)
        self.gen_registry("plain")
        self.git = self.tmp / "git-index"
        mcr.write_git_index(str(self.up), str(self.git))
        self.site = self.serve_mirror()

    def git_url(self):
        return "file://%s" % self.git

    def mirror_all(self, git=None):
        return self.depot("mirror", "crates", self.server.base + "/index", self.mirror,
                          "--base-url", self.site.base, "--git-index", git or self.git_url(),
                          "--retries", "2")

    def assertMirrorHoldsUpstream(self, res=None):
        want = {p: sha for p, sha in mcr.expected_files(str(self.up), False).items()
                if p.startswith("index/")}
        for (name, vers), c in mcr.crates(str(self.up)).items():
            want["crates/%s/%s-%s.crate" % (name, name, vers)] = c["cksum"]
        got = self.tree(self.mirror)
        self.assertIn("index/config.json", got, "no index/config.json%s" % (res or ""))
        del got["index/config.json"]
        self.assertEqual(got, want, "mirror differs from upstream%s" % (res or ""))

    @staticmethod
    def objects_received(res):
        m = re.search(r"crates\.git_index\b.*?objects_received\W+(\d+)", res.err)
        return int(m.group(1)) if m else None

    def test_every_crate_of_the_git_index_reaches_cargo(self):
        res = self.mirror_all()
        self.assertExit(res, 0)
        self.assertMirrorHoldsUpstream(res)
        self.assertTrue((self.mirror / ".depot/state/crates-git-index").is_dir(), res)
        self.server.stop()
        self.assertJudgeOk(self.judge(self.site.base))

    def test_a_new_crate_reaches_the_next_run_by_new_commits_only(self):
        first = self.mirror_all()
        self.assertExit(first, 0)
        mcr.add_version(str(self.up), spec=mcr._spec("fresh-crate", "0.1.0", 7))
        mcr.add_version(str(self.up), "multi-ver", "1.3.0")
        mcr.write_git_index(str(self.up), str(self.git))
        res = self.mirror_all()
        self.assertExit(res, 0)
        self.assertMirrorHoldsUpstream(res)
        self.assertTrue((self.mirror / "crates/fresh-crate/fresh-crate-0.1.0.crate").exists())
        before, after = self.objects_received(first), self.objects_received(res)
        self.assertIsNotNone(after, res)
        self.assertLess(after, 12, "the second run fetched more than the new commit%s" % res)
        self.assertGreater(before, after, first)
        res = self.judge(self.site.base, deps={"fresh-crate": "0.1"}, build=False)
        self.assertEqual((res.rc, res.lock.get("fresh-crate")), (0, "0.1.0"), res)

    def test_an_unreachable_git_index_fails_naming_it(self):
        self.assertExit(self.mirror_all(), 0)
        before = self.tree(self.mirror)
        url = "file://%s/missing-index" % self.tmp
        res = self.mirror_all(git=url)
        self.assertExit(res, 3)
        self.assertIn(url, res.err)
        self.assertEqual(self.tree(self.mirror), before)

    def test_a_malformed_tree_path_fails_naming_it(self):
        self.assertExit(self.mirror_all(), 0)
        before = self.tree(self.mirror)
        bad = self.git / "ab" / "cd"
        bad.mkdir(parents=True)
        (bad / "not-abcd").write_text("{}\n")
        git = ["git", "-C", str(self.git), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-q", "-m", "bad"], check=True)
        res = self.mirror_all()
        self.assertExit(res, 3)
        self.assertIn("ab/cd/not-abcd", res.err)
        self.assertIn(self.git_url(), res.err)
        self.assertEqual(self.tree(self.mirror), before)


if __name__ == "__main__":
    import unittest
    unittest.main()
