"""The real pip through `depot serve --upstream` must not make upstream send any file twice:
a PyPI fixture upstream; `pip download --no-deps --no-cache-dir` twice through the cache (fresh
destination each time): the wheels are right, no file (.whl, .metadata) leaves upstream twice,
and the second run, inside --index-ttl, asks upstream nothing at all.

HTML project pages link files relatively ("../../files/..."); the fixture's PEP 691 JSON pages
by absolute path ("/files/..."), which leaves a /pypi prefix unless depot rewrites the links;
pages may also link by absolute upstream URL (as pypi.org does), which pip would fetch around
the cache. A cached project page must keep matching what each client asked for (JSON for pip,
HTML for an HTML-only client), labelled as what it is."""

import json
import os
import unittest
from collections import Counter

from depot_harness import sha256_file
from pypi_harness import ALL_PROJECTS, PypiTestCase
from serve_harness import ServeMixin, fetch, media_type

WHEELS = ["tiny_alpha-1.0-py3-none-any.whl", "tiny_beta-2.0-py3-none-any.whl",
          "tiny_gamma-0.1-py3-none-any.whl"]
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class PipThroughCacheRefetches(ServeMixin, PypiTestCase):
    def pip_download(self, index_url, dest):
        ok, out = self.pip("download", "--no-deps", "--index-url", index_url, "-d",
                           self.tmp / dest, *ALL_PROJECTS)
        self.assertTrue(ok, "pip download through depot failed:\n%s%s" % (out, self.serve_info()))
        got = sorted(os.listdir(self.tmp / dest))
        self.assertEqual(got, WHEELS, out)
        want = {f["filename"]: f["sha256"] for files in self.index.values() for f in files}
        for fn in got:
            self.assertEqual(sha256_file(self.tmp / dest / fn), want[fn], fn)
        return out

    def check_two_runs(self, index_url):
        self.server.clear_log()
        out1 = self.pip_download(index_url, "dl1")
        run1 = self.server.log()
        self.assertTrue(any(e["path"].endswith(".whl") for e in run1),
                        "pip did not get the wheels through depot: %s\n%s" % (run1, out1))
        self.server.clear_log()
        out2 = self.pip_download(index_url, "dl2")
        run2 = self.server.log()
        files = Counter(e["path"] for e in run1 + run2 if e["path"].startswith("/files/"))
        twice = {p: n for p, n in files.items() if n > 1}
        self.assertEqual(twice, {}, "files requested upstream more than once\nrun1: %s\nrun2: %s"
                         % (run1, run2))
        self.assertEqual(run2, [], "the second pip run (inside --index-ttl) went upstream\n"
                         "run2: %s\n%s" % (run2, out2))
        return run1

    def test_html_pages_under_a_prefix(self):
        self.gen_index(json_pages=False)
        srv = self.start_serve(self.mirror, "--upstream", "/pypi=" + self.server.base)
        run1 = self.check_two_runs(srv.base + "/pypi/simple/")
        self.assertFalse([e for e in run1 if e["path"].startswith("/pypi")],
                         "the /pypi prefix was not stripped for upstream: %s" % run1)

    def test_json_pages_and_metadata(self):
        self.gen_index(json_pages=True)
        srv = self.start_serve(self.mirror, "--upstream", "/pypi=" + self.server.base)
        run1 = self.check_two_runs(srv.base + "/pypi/simple/")
        self.assertTrue(any(e["path"].endswith(".whl.metadata") for e in run1),
                        "pip did not read PEP 658 metadata through depot: %s" % run1)
        self.check_page_labels(srv, "/pypi/simple/tiny-alpha/", json_pages=True)

    def test_json_pages_at_the_root(self):
        self.gen_index(json_pages=True)
        srv = self.start_serve(self.mirror, "--upstream", "/simple=%s/simple" % self.server.base,
                               "--upstream", "/files=%s/files" % self.server.base)
        self.check_two_runs(srv.base + "/simple/")

    def test_absolute_upstream_urls_stay_in_the_cache(self):
        """Pages that link files by absolute upstream URL (as pypi.org does): pip must still
        get every file through depot (else the second run fetches them upstream again)."""
        self.gen_index(json_pages=True)
        for page in (self.up / "simple").rglob("index.*"):
            text = page.read_text()
            text = text.replace('"../../files/', '"%s/files/' % self.server.base)
            text = text.replace('"/files/', '"%s/files/' % self.server.base)
            page.write_text(text)
        self.assertIn(self.server.base, (self.up / "simple/tiny-alpha/index.json").read_text())
        srv = self.start_serve(self.mirror, "--upstream", "/pypi=" + self.server.base)
        self.check_two_runs(srv.base + "/pypi/simple/")

    def check_page_labels(self, srv, path, json_pages):
        """One cached page, several kinds of client, first and later requests: each answer's
        Content-Type says what its body is, and JSON goes only to clients that asked for it."""
        for accept in (PIP_ACCEPT, PIP_ACCEPT, "text/html", None, "text/html", PIP_ACCEPT):
            with self.subTest(accept=accept, json_pages=json_pages):
                r = fetch(srv.base, path, headers={"Accept": accept} if accept else {})
                self.assertEqual(r.status, 200, r)
                ctype = media_type(r.header("Content-Type"))
                is_json = r.body.lstrip().startswith(b"{")
                self.assertEqual(ctype == JSON_TYPE, is_json, "Content-Type %s on a %s body "
                                 "(X-Depot-Cache %s, Accept %r): %r"
                                 % (ctype, "JSON" if is_json else "HTML",
                                    r.header("X-Depot-Cache"), accept, r.body[:60]))
                if is_json:
                    self.assertEqual(accept, PIP_ACCEPT, "JSON page sent to a client that did "
                                     "not ask for JSON: %r" % r)
                    self.assertEqual(json.loads(r.body)["name"], "tiny-alpha")
                else:
                    self.assertIn(ctype, ("text/html", "application/vnd.pypi.simple.v1+html"), r)
                    self.assertIn(b"tiny_alpha-1.0-py3-none-any.whl", r.body)
                    if json_pages and accept == PIP_ACCEPT:
                        self.fail("upstream has JSON pages, pip asked for JSON, got HTML")

    def test_cached_pages_keep_their_type(self):
        for json_pages in (False, True):
            self.gen_index(json_pages=json_pages)
            srv = self.start_serve(self.ws / ("root-%s" % json_pages),
                                   "--upstream", "/pypi=" + self.server.base,
                                   name="serve-%s" % json_pages)
            self.check_page_labels(srv, "/pypi/simple/tiny-alpha/", json_pages)
            srv.stop()

if __name__ == "__main__":
    unittest.main()
