"""`depot serve` on a mirror tree must get HTTP right where package clients rely on it: Range
(206 + Content-Range, clipped ends, 416, If-Range, several ranges -> the whole body),
If-None-Match / If-Modified-Since -> 304, HEAD without a body but with the real length,
pipelined requests on one connection answered in order, Content-Type per registry file,
X-Depot-Cache: MIRROR, /metrics that parses and moves, --autoindex listings that list every
file and escape hostile names (and nothing without --autoindex), and the PyPI directory
negotiation (index.v1_json for clients preferring PEP 691 JSON, else index.html)."""

import email.utils
import html.parser
import json
import os
import time
import unittest
import urllib.parse

from depot_harness import DepotTestCase
from serve_harness import (ServeMixin, fetch, media_type, metric, parse_prometheus,
                           raw_exchange, read_responses)

DEB = "pool/main/p/pkg/pkg_1.0_amd64.deb"
WHL = "packages/x/x-1.0-py3-none-any.whl"
INRELEASE = "dists/stable/InRelease"
JSONF = "noarch/repodata.json"
BIG = "big.bin"
HOSTILE = ['<img src=x onerror=alert(1)>.txt', 'a&b "q" \'x\'.txt', "sp ace.txt", "%41.txt",
           "\u00fcml\u00e4ut.txt", "x#y?z.txt"]
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")
PAST = time.time() - 7 * 86400


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


class ServeRangeAndConditionalWrong(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        d = self.mirror
        self.files = {
            DEB: os.urandom(100 * 1024 + 7),
            WHL: os.urandom(50 * 1024),
            INRELEASE: b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: t\n",
            JSONF: b'{"info": {}, "packages": {}}\n',
            BIG: os.urandom(1 << 20),
            "simple/proj/index.html": b"<!DOCTYPE html><html><body>"
                                      b'<a href="../../packages/x/x-1.0-py3-none-any.whl">x</a>'
                                      b"</body></html>\n",
            "simple/proj/index.v1_json": b'{"meta": {"api-version": "1.1"}, "name": "proj", '
                                         b'"files": []}\n',
            "simple/htmlonly/index.html": b"<!DOCTYPE html><html><body>h</body></html>\n",
            "list/sub/inner.txt": b"inner\n",
        }
        for name in HOSTILE:
            self.files["list/" + name] = ("file %s\n" % name).encode()
        for rel, data in self.files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.utime(p, (PAST, PAST))
        (d / ".depot").mkdir()
        (d / ".depot" / "state.db").write_bytes(b"state")
        self.srv = self.start_serve(d)

    def get(self, rel, srv=None, **kw):
        return fetch((srv or self.srv).base, "/" + urllib.parse.quote(rel), **kw)

    # -- Range ------------------------------------------------------------------------------
    def test_range(self):
        data = self.files[DEB]
        n = len(data)
        for rng, first, last in (("bytes=0-99", 0, 99), ("bytes=100-", 100, n - 1),
                                 ("bytes=-50", n - 50, n - 1),
                                 ("bytes=%d-%d" % (n - 10, n + 100), n - 10, n - 1),
                                 ("bytes=0-0", 0, 0), ("bytes=%d-" % (n - 1), n - 1, n - 1)):
            with self.subTest(range=rng):
                r = self.get(DEB, headers={"Range": rng})
                self.assertEqual(r.status, 206, r)
                self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (first, last, n))
                self.assertEqual(r.header("Content-Length"), str(last - first + 1))
                self.assertEqual(r.body, data[first:last + 1])
                self.assertCacheHeader(r, "MIRROR")
        for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 5, n + 10), "bytes=-0"):
            with self.subTest(range=rng):
                r = self.get(DEB, headers={"Range": rng})
                self.assertEqual(r.status, 416, r)
                self.assertEqual(r.header("Content-Range"), "bytes */%d" % n, r)
        for rng in ("bytes=0-1,5-6", "bytes=0-9,-5"):
            with self.subTest(range=rng):
                r = self.get(DEB, headers={"Range": rng})
                self.assertEqual((r.status, r.body), (200, data), r)
        etag = self.get(DEB, method="HEAD").header("ETag")
        self.assertTrue(etag, "no ETag on a file answer")
        r = self.get(DEB, headers={"Range": "bytes=10-19", "If-Range": etag})
        self.assertEqual((r.status, r.body), (206, data[10:20]), r)
        r = self.get(DEB, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
        self.assertEqual((r.status, r.body), (200, data), r)

    # -- conditional requests and HEAD -------------------------------------------------------
    def test_conditional_and_head(self):
        r = self.get(DEB)
        etag, lm = r.header("ETag"), r.header("Last-Modified")
        self.assertTrue(etag and lm, r)
        self.assertEqual(email.utils.parsedate_to_datetime(lm).timestamp(), int(PAST))
        for hdrs in ({"If-None-Match": etag}, {"If-None-Match": '"x", ' + etag},
                     {"If-None-Match": "*"}, {"If-Modified-Since": lm},
                     {"If-Modified-Since": email.utils.formatdate(time.time(), usegmt=True)}):
            with self.subTest(headers=hdrs):
                r = self.get(DEB, headers=hdrs)
                self.assertEqual(r.status, 304, r)
                self.assertEqual(r.body, b"")
                self.assertEqual(r.header("ETag"), etag, r)
        for hdrs in ({"If-None-Match": '"other"'},
                     {"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"},
                     {"If-None-Match": '"other"', "If-Modified-Since": lm},
                     {"If-Modified-Since": "not a date"}):
            with self.subTest(headers=hdrs):
                r = self.get(DEB, headers=hdrs)
                self.assertEqual((r.status, len(r.body)), (200, len(self.files[DEB])), r)

        # HEAD: real length, no body: the next pipelined response must parse cleanly.
        req = ("HEAD /%s HTTP/1.1\r\nHost: x\r\n\r\nGET /%s HTTP/1.1\r\nHost: x\r\n"
               "Connection: close\r\n\r\n" % (DEB, JSONF)).encode()
        got, err = raw_exchange(self.srv.port, req)
        (head, body), rest = read_responses(got, ["HEAD", "GET"])
        self.assertEqual(head.status, 200, got[:300])
        self.assertEqual(head.header("content-length"), str(len(self.files[DEB])))
        self.assertEqual(body.status, 200, got[:600])
        self.assertEqual(body.body, self.files[JSONF])
        self.assertEqual(rest, b"", "bytes after the last response (a HEAD body?)")

    def test_pipelined_requests_answered_in_order(self):
        order = [("GET", BIG), ("GET", INRELEASE), ("HEAD", WHL), ("GET", "nope/missing"),
                 ("GET", JSONF), ("GET", BIG)]
        req = b"".join(("%s /%s HTTP/1.1\r\nHost: x\r\n\r\n" % (m, p)).encode()
                       for m, p in order[:-1])
        req += ("GET /%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % BIG).encode()
        got, err = raw_exchange(self.srv.port, req, timeout=20)
        resps, rest = read_responses(got, [m for m, _ in order])
        self.assertEqual(len(resps), len(order), "%d responses to %d pipelined requests "
                         "(error %r)" % (len(resps), len(order), err))
        for (m, p), r in zip(order, resps):
            with self.subTest(request=p, method=m):
                if p == "nope/missing":
                    self.assertEqual(r.status, 404, r)
                    continue
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, b"" if m == "HEAD" else self.files[p])
        self.assertEqual(rest, b"")

    def test_content_types_and_cache_header(self):
        want = {DEB: "application/vnd.debian.binary-package", WHL: "application/zip",
                INRELEASE: "text/plain", JSONF: "application/json"}
        for rel, ctype in want.items():
            with self.subTest(file=rel):
                r = self.get(rel)
                self.assertEqual((r.status, r.body), (200, self.files[rel]), r)
                self.assertEqual(media_type(r.header("Content-Type")), ctype, r)
                self.assertCacheHeader(r, "MIRROR", rel)
                self.assertIsNone(r.header("X-Depot-Stale"))

    # -- /metrics ----------------------------------------------------------------------------
    def metrics(self):
        r = fetch(self.srv.base, "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(media_type(r.header("Content-Type")), "text/plain", r)
        try:
            return parse_prometheus(r.body.decode())
        except ValueError as e:
            self.fail("/metrics does not parse: %s\n%s" % (e, r.body.decode()[:3000]))

    def test_metrics_move(self):
        before = self.metrics()
        names = {n for n, _ in before}
        self.assertTrue(names and all(n.startswith("depot_serve_") for n in names), names)
        for name in ("depot_serve_requests_total", "depot_serve_cache_requests_total",
                     "depot_serve_upstream_requests_total", "depot_serve_upstream_inflight",
                     "depot_serve_cache_size_bytes"):
            self.assertIn(name, names)
        sent = 0
        for rel in (DEB, WHL, JSONF):
            r = self.get(rel)
            self.assertEqual(r.status, 200)
            sent += len(r.body)
        self.assertEqual(self.get("nope/missing").status, 404)

        def delta(name, **labels):
            return (metric(after, name, **labels) or 0) - (metric(before, name, **labels) or 0)

        # A request is counted once its answer is sent, which the client may see a moment
        # earlier: poll briefly until the counters settle.
        deadline = time.monotonic() + 5
        while True:
            after = self.metrics()
            if (delta("depot_serve_cache_requests_total", outcome="mirror") >= 3
                    and delta("depot_serve_requests_total", code="4xx") >= 1) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)

        self.assertGreaterEqual(delta("depot_serve_requests_total", code="2xx"), 3)
        self.assertGreaterEqual(delta("depot_serve_requests_total", code="4xx"), 1)
        self.assertGreaterEqual(delta("depot_serve_cache_requests_total", outcome="mirror"), 3)
        if metric(after, "depot_serve_sent_bytes_total") is not None:
            self.assertGreaterEqual(delta("depot_serve_sent_bytes_total"), sent)
        self.assertEqual(delta("depot_serve_upstream_requests_total"), 0)

    # -- directory listings ------------------------------------------------------------------
    def test_no_listing_without_autoindex(self):
        for rel in ("list/", "pool/", ""):
            with self.subTest(dir=rel):
                r = fetch(self.srv.base, "/" + rel)
                self.assertEqual(r.status, 404, r)

    def test_autoindex_lists_and_escapes(self):
        srv = self.start_serve(self.mirror, "--autoindex", name="serve-autoindex")
        r = fetch(srv.base, "/list/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(media_type(r.header("Content-Type")), "text/html", r)
        text = r.body.decode("utf-8")
        self.assertNotIn("<img", text, "a file name was written into the page unescaped")
        self.assertNotIn('"q"', text.replace("&quot;", ""), "a quote unescaped")
        p = Links()
        p.feed(text)
        targets = {urllib.parse.unquote(urllib.parse.urljoin("/list/", h)) for h in p.hrefs}
        for name in HOSTILE + ["sub/"]:
            with self.subTest(name=name):
                self.assertIn("/list/" + name, targets, "listing lacks a working link to %r: %s"
                              % (name, sorted(targets)))
        for h in p.hrefs:
            url = urllib.parse.urljoin("/list/", h)
            path = urllib.parse.urlsplit(url).path
            if not path.startswith("/list/") or path.endswith("/"):
                continue
            with self.subTest(href=h):
                got = fetch(srv.base, path)
                rel = urllib.parse.unquote(path)[1:]
                self.assertEqual((got.status, got.body), (200, self.files.get(rel)), got)
        root = fetch(srv.base, "/")
        self.assertEqual(root.status, 200, root)
        self.assertNotIn(b".depot", root.body, "the listing shows depot's private state")
        for d in (b"pool/", b"list/", b"simple/"):
            self.assertIn(d, root.body)

    # -- PyPI simple-index negotiation ---------------------------------------------------------
    def test_pypi_directory_negotiation(self):
        html_page = self.files["simple/proj/index.html"]
        json_page = self.files["simple/proj/index.v1_json"]
        for accept, want in ((JSON_ACCEPT, "json"), (PIP_ACCEPT, "json"),
                             ("text/html", "html"), (None, "html"), ("*/*", "html"),
                             (JSON_ACCEPT + ";q=0.1, text/html", "html"),
                             ("application/vnd.pypi.simple.v1+html", "html")):
            with self.subTest(accept=accept):
                r = fetch(self.srv.base, "/simple/proj/",
                          headers={"Accept": accept} if accept is not None else {})
                self.assertEqual(r.status, 200, r)
                self.assertCacheHeader(r, "MIRROR")
                if want == "json":
                    self.assertEqual(media_type(r.header("Content-Type")),
                                     "application/vnd.pypi.simple.v1+json", r)
                    self.assertEqual(r.body, json_page)
                    json.loads(r.body)
                else:
                    self.assertIn(media_type(r.header("Content-Type")),
                                  ("text/html", "application/vnd.pypi.simple.v1+html"), r)
                    self.assertEqual(r.body, html_page)
        r = fetch(self.srv.base, "/simple/htmlonly/", headers={"Accept": JSON_ACCEPT})
        self.assertEqual((r.status, r.body), (200, self.files["simple/htmlonly/index.html"]), r)
        self.assertIn(media_type(r.header("Content-Type")),
                      ("text/html", "application/vnd.pypi.simple.v1+html"), r)


if __name__ == "__main__":
    unittest.main()
