"""The real pip must accept what depot mirrors: a PEP 691 JSON (and a PEP 503 HTML-only)
upstream of tiny wheels, mirrored, then served by a plain static server, passes
`pip download --no-deps` and `pip install` into a fresh venv; the yanked release is not
chosen; PEP 658 metadata files are served; a no-op re-run downloads nothing."""

import os
import subprocess
import sys
import unittest

from pypi_harness import ALL_PROJECTS, PypiTestCase, mpi


class PipRejectsMirror(PypiTestCase):
    def check_mirror_holds_index(self, res):
        want = mpi.expected_mirror_files(self.index)
        got = self.mirror_packages()
        self.assertEqual(got, want, "mirror packages differ from upstream%s" % res)
        for norm in ("tiny-alpha", "tiny-beta", "tiny-gamma"):
            for name in ("index.html", "index.v1_html", "index.v1_json"):
                self.assertTrue((self.mirror / "simple" / norm / name).is_file(),
                                "simple/%s/%s missing%s" % (norm, name, res))
        for name in ("index.html", "index.v1_html", "index.v1_json"):
            self.assertTrue((self.mirror / "simple" / name).is_file(), res)
        page = (self.mirror / "simple" / "tiny-alpha" / "index.html").read_text()
        self.assertIn('data-yanked="broken build"', page)
        self.assertNotIn(self.server.base, page, "mirror page links to the upstream")
        self.assertNotIn("upstream-page", "".join(self.tree(self.mirror)),
                         "the upstream page itself was published")

    def pip_download(self, srv, *projects):
        dest = self.tmp / ("dl-%d" % len(os.listdir(self.tmp)))
        ok, out = self.pip("download", "--no-deps", "--index-url", srv.base + "/simple/",
                           "-d", dest, *projects)
        self.assertTrue(ok, "pip download from the mirror failed:\n" + out)
        return sorted(os.listdir(dest)), out

    def test_pip_download_and_install_from_mirror(self):
        self.gen_index()
        res = self.mirror_pypi()
        self.assertExit(res, 0)
        self.check_mirror_holds_index(res)
        up_log = self.server.log()
        self.assertTrue(all(e["status"] == 200 for e in up_log), up_log)

        # Negotiating server: pip reads the mirror's PEP 691 JSON pages and .metadata files.
        srv = self.serve_mirror()
        got, out = self.pip_download(srv, *ALL_PROJECTS)
        self.assertEqual(got, ["tiny_alpha-1.0-py3-none-any.whl", "tiny_beta-2.0-py3-none-any.whl",
                               "tiny_gamma-0.1-py3-none-any.whl"], out)
        asked = [e["path"] for e in srv.log()]
        self.assertTrue(any(p.endswith(".whl.metadata") for p in asked), asked)

        # Plain static server: index.html only (PEP 503 HTML).
        plain = self.serve_mirror(plain=True)
        got, out = self.pip_download(plain, "TINY_ALPHA", "tiny-beta")
        self.assertEqual(got, ["tiny_alpha-1.0-py3-none-any.whl",
                               "tiny_beta-2.0-py3-none-any.whl"], out)

        venv = self.tmp / "venv"
        p = subprocess.run([sys.executable, "-m", "venv", str(venv)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))
        vpy = str(venv / "bin" / "python")
        ok, out = self.pip("install", "--index-url", plain.base + "/simple/", "tiny-alpha",
                           "tiny.gamma", python=vpy)
        self.assertTrue(ok, "pip install from the mirror failed:\n" + out)
        p = subprocess.run([vpy, "-c", "import tiny_alpha, tiny_gamma; print(tiny_alpha.VERSION)"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.stdout.decode().strip(), "1.0", p.stdout)

        # No-op re-run: project pages only, no file downloaded, nothing rewritten.
        before = self.tree(self.mirror)
        self.server.clear_log()
        res = self.mirror_pypi()
        self.assertExit(res, 0)
        asked = sorted(e["path"] for e in self.server.log())
        self.assertEqual(asked, ["/simple/tiny-alpha/", "/simple/tiny-beta/",
                                 "/simple/tiny-gamma/"], res)
        self.assertIn("downloaded 0 files", res.out, res)
        self.assertIn("0 indexes written", res.out, res)
        self.assertEqual(self.tree(self.mirror), before)
        self.assertTmpEmpty(res=res)

    def test_html_only_upstream(self):
        self.gen_index(json_pages=False)
        res = self.mirror_pypi()
        self.assertExit(res, 0)
        self.assertIn("format=html", res.err, res)
        self.check_mirror_holds_index(res)
        got, out = self.pip_download(self.serve_mirror(plain=True), *ALL_PROJECTS)
        self.assertEqual(len(got), 3, out)

    def test_projects_from_file_and_unknown_project(self):
        self.gen_index()
        lst = self.tmp / "projects.txt"
        lst.write_text("# wanted\ntiny-alpha\n\n  Tiny.Beta   # comment\n")
        res = self.depot("mirror", "pypi", self.server.base + "/simple/", self.mirror,
                         "--projects-from", lst)
        self.assertExit(res, 0)
        self.assertEqual(sorted(os.listdir(self.mirror / "simple")),
                         ["index.html", "index.v1_html", "index.v1_json", "tiny-alpha",
                          "tiny-beta"])
        before = self.tree(self.mirror)
        res = self.mirror_pypi(projects=("tiny-alpha", "no-such-project"))
        self.assertExit(res, 3)
        self.assertIn("no-such-project", res.text)
        self.assertEqual(self.tree(self.mirror), before)
        res = self.depot("mirror", "pypi", self.server.base, self.mirror)
        self.assertExit(res, 2)
        self.assertIn("--project", res.text)


if __name__ == "__main__":
    unittest.main()
