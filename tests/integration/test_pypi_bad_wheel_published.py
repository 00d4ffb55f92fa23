"""A wheel whose bytes differ from the sha256 its index declares is never published: the run
fails naming the file, the mirror keeps its previous generation exactly (pages and files),
and once upstream is fixed the next run publishes the new generation."""

import unittest

from pypi_harness import PypiTestCase, mpi

BAD = "tiny_alpha-1.2-py3-none-any.whl"


class PypiBadWheelPublished(PypiTestCase):
    def test_bad_wheel_keeps_previous_generation(self):
        self.gen_index()
        res = self.mirror_pypi()
        self.assertExit(res, 0)
        baseline = self.tree(self.mirror)

        # Upstream adds tiny-alpha 1.2, but the wheel served differs from its listed sha256.
        self.gen_index(projects=mpi.PROJECTS + [("tiny-alpha", "1.2", None, None, "core")])
        bad = self.up / "files" / "tiny-alpha" / BAD
        data = bytearray(bad.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bad.write_bytes(bytes(data))
        res = self.mirror_pypi("--retries", "1")
        self.assertExit(res, 1)
        self.assertIn(BAD, res.text)
        # Every published page and file is the previous generation's; new files that did
        # verify may already sit in packages/ (blobs commit first), unnamed by any page.
        now = self.tree(self.mirror)
        self.assertEqual({p: s for p, s in now.items() if p in baseline}, baseline,
                         "the previous generation changed although a wheel failed%s" % res)
        new_files = {p: s for p, s in now.items() if p not in baseline}
        verified = mpi.expected_mirror_files(self.index)
        self.assertTrue(all(p.startswith("packages/") and verified.get(s) == p.rsplit("/", 1)[1]
                            for p, s in new_files.items()), (new_files, res))
        self.assertFalse([p for p in new_files if p.endswith("/" + BAD)], res)

        # Upstream fixed: the new generation is published.
        self.gen_index(projects=mpi.PROJECTS + [("tiny-alpha", "1.2", None, None, "core")])
        res = self.mirror_pypi()
        self.assertExit(res, 0)
        self.assertIn(BAD, (self.mirror / "simple" / "tiny-alpha" / "index.html").read_text())
        self.assertEqual(self.mirror_packages(), mpi.expected_mirror_files(self.index))

    def test_corrupt_transfer_on_first_mirror_publishes_no_index(self):
        self.gen_index()
        self.server.set_rules([{"glob": "/files/tiny-beta/*.whl", "action": "corrupt"}])
        res = self.mirror_pypi("--retries", "1")
        self.assertExit(res, 1)
        self.assertIn("tiny_beta-2.0-py3-none-any.whl", res.text)
        self.assertFalse((self.mirror / "simple").exists(),
                         "pages published although a wheel failed%s" % res)


if __name__ == "__main__":
    unittest.main()
