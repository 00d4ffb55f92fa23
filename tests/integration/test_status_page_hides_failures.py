"""Proves impossible: the status page of `depot run` (/_depot/) hiding a failed job, running
script from job data, or going stale without saying so. Headless Chromium opens the page with a
fixture status.json (a job with 12 runs, a failed job whose error carries markup, a syncing
job) and checks every job has a row, the failure is marked and its error shown literally with
no script run, the history plot has one point per run, the page picks up a changed status.json
by itself without a reload, and a failing fetch shows a banner while keeping the rows. A
screenshot goes to $DEPOT_TEST_ARTIFACTS (else <build>/test-artifacts) as status_page.png.
StatusPageOfDepotRun opens the page `depot run` itself serves, over real jobs (one fine with
several runs, one whose upstream fails, one syncing): status_page_depot_run.png."""

import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from browser import Browser, require_browser
from depot_harness import REPO
from site_harness import SiteCase, job_toml

PAGE = REPO / "src" / "site" / "status_page.html"
HOSTILE_ERROR = ('rsync: connection refused <script>window.__pwned = 1</script>'
                 '<img src=x onerror="window.__pwned = 2"> & "quoted"')
REFRESH_WAIT = 13  # the page re-fetches every 10 s
# The policy the page is served with (depot should send the same): nothing but its own inline
# script and style, and fetches of its own origin.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'")


def serve_status_page(root):
    """Serves `root`/_depot/{index.html,status.json} on 127.0.0.1 port 0 from a thread.
    Returns (page URL, stop). To be replaced by `depot run` serving the same paths."""
    site = Path(root) / "_depot"
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_bytes(PAGE.read_bytes())

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def end_headers(self):
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            super().end_headers()

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser hanging up
                super().handle_error(request, client_address)

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    return "http://127.0.0.1:%d/_depot/" % httpd.server_address[1], stop


# A time that never happened, as tunasync and depot write it: Go's zero time.
GO_ZERO, GO_ZERO_TS = "0001-01-01 00:00:00 +0000", -62135596800


def stamp(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(ts)) if ts > 0 else GO_ZERO


def job(name, status, registry, upstream, now, runs, error="", exit_code=0):
    last_ok = max([r["ended_ts"] for r in runs if r["result"] == "success"] or [GO_ZERO_TS])
    last = runs[-1] if runs else {}
    started = now - 95 if status == "syncing" else last.get("started_ts", GO_ZERO_TS)
    # While a job syncs tunasync (and depot) has no next run for it.
    next_run = GO_ZERO_TS if status == "syncing" else now + 3 * 3600 + 120
    j = {"name": name, "status": status, "is_master": True, "upstream": upstream,
         "size": "%.1fG" % (sum(r["bytes"] for r in runs) / 2**30) if runs else "0",
         "last_update_ts": last_ok, "last_started_ts": started,
         "last_ended_ts": last.get("ended_ts", GO_ZERO_TS), "next_schedule_ts": next_run,
         "registry": registry, "files": 1234 * len(runs), "bytes": sum(r["bytes"] for r in runs),
         "duration": last.get("duration", 0), "error": error, "exit_code": exit_code,
         "runs": runs}
    for k in ("last_update", "last_started", "last_ended", "next_schedule"):
        j[k] = stamp(j[k + "_ts"])
    return j


def runs(now, n, failed=(), every=6 * 3600):
    out = []
    for i in range(n):
        start = now - (n - i) * every
        ok = i not in failed
        dur = 40.0 + 25 * (i % 5) + (3 * i if ok else -30)
        out.append({"started_ts": start, "ended_ts": start + int(dur),
                    "result": "success" if ok else "failed", "files": 100 + 7 * i,
                    "bytes": (5 + (i * 37) % 60) * 2**20 if ok else 2**20, "duration": dur,
                    "exit_code": 0 if ok else 4, "error": "" if ok else "upstream timed out"})
    return out


def fixture(now, syncing_done=False):
    jobs = [
        job("debian", "success", "apt", "http://deb.example/debian", now,
            runs(now, 12, failed=(4, 9))),
        job("pypi-<b>bold</b>", "failed", "pypi", "javascript:window.__pwned = 3", now,
            runs(now, 5, failed=(4,)), error=HOSTILE_ERROR, exit_code=4),
        job("conda-forge", "success" if syncing_done else "syncing", "conda",
            "https://conda.example/conda-forge", now, runs(now, 3)),
    ]
    # Where the server serves each tree: plain relative paths become links, others stay text.
    for j, path in zip(jobs, ["debian/", "javascript:alert(1)//", "../../elsewhere/"]):
        j["path"] = path
    return jobs


_artifacts = None


def artifacts_dir():
    """$DEPOT_TEST_ARTIFACTS, else <dir of $DEPOT_BIN>/test-artifacts, else one temp dir that
    is kept (it holds what the test leaves to look at)."""
    global _artifacts
    if _artifacts is None:
        if os.environ.get("DEPOT_TEST_ARTIFACTS"):
            _artifacts = Path(os.environ["DEPOT_TEST_ARTIFACTS"])
        elif os.environ.get("DEPOT_BIN"):
            _artifacts = Path(os.environ["DEPOT_BIN"]).resolve().parent / "test-artifacts"
        else:
            _artifacts = Path(tempfile.mkdtemp(prefix="depot-artifacts-"))
        _artifacts.mkdir(parents=True, exist_ok=True)
    return _artifacts


class StatusPageHidesFailures(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        require_browser()
        self._tmp = tempfile.TemporaryDirectory(prefix="depot-it-")
        self.addCleanup(self._tmp.cleanup)
        self.root = Path(self._tmp.name)
        self.now = int(time.time())
        self.write_status(fixture(self.now))
        self.url, stop = serve_status_page(self.root)
        self.addCleanup(stop)
        self.b = Browser()
        self.addCleanup(self.b.quit)
        self.b.get(self.url)
        self.b.wait_for('body[data-state="loaded"]', timeout=15)

    def write_status(self, jobs):
        path = self.root / "_depot" / "status.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(jobs))
        os.replace(tmp, path)  # the page never reads half a file

    def row(self, name):
        return self.b.find('tr[data-job="%s"]' % name.replace('"', '\\"'))

    def statuses(self):
        return self.b.execute("return Object.fromEntries([...document.querySelectorAll("
                              "'tr[data-job]')].map(r => [r.dataset.job, r.dataset.status]))")

    def test_every_job_has_a_row_and_the_failure_shows_literally(self):
        self.assertEqual(self.statuses(), {"debian": "success", "pypi-<b>bold</b>": "failed",
                                           "conda-forge": "syncing"})
        failed = self.row("pypi-<b>bold</b>")
        text = self.b.text(failed)
        self.assertIn("pypi-<b>bold</b>", text, "the job name is shown as text")
        self.assertIn(HOSTILE_ERROR, text, "the error text is shown literally")
        self.assertIn("failed", self.b.attribute(failed, "class").split())
        bad, ok = self.b.execute(
            "const bg = n => getComputedStyle([...document.querySelectorAll('tr[data-job]')]"
            ".find(r => r.dataset.job === n).cells[0]).backgroundColor;"
            "return [bg(arguments[0]), bg(arguments[1])]", "pypi-<b>bold</b>", "debian")
        self.assertNotEqual(bad, ok, "the failed row does not stand out")
        self.assertIsNone(self.b.execute("return window.__pwned === undefined ? null : "
                                         "String(window.__pwned)"), "script from job data ran")
        self.assertEqual(self.b.find_all("script"), self.b.find_all("head script, body > script"),
                         "a <script> element was created from job data")
        self.assertEqual(self.b.find_all('a[href^="javascript:"]'), [],
                         "a javascript: upstream became a link")
        trees = self.b.execute("return [...document.querySelectorAll('.name a')].map(a => a.href)")
        self.assertEqual(trees, [self.url.replace("/_depot/", "/debian/")],
                         "only the plain relative path links the job to its tree")
        self.save_screenshot("status_page.png")

    def test_history_has_a_point_per_run_and_marks_failures(self):
        plot = '.history[data-job="debian"]'
        self.assertEqual(len(self.b.find_all(plot + " circle")), 12)
        self.assertEqual(len(self.b.find_all(plot + " circle.failed")), 2, "runs 4 and 9 failed")
        self.assertEqual(len(self.b.find_all('.history[data-job="conda-forge"] circle')), 3)

    def test_page_updates_itself_without_reload(self):
        self.b.set_window_size(1280, 300)  # short enough to scroll
        scrolled = self.b.execute("window.__marker = 'still here'; window.scrollTo(0, 60);"
                                  " return window.scrollY")
        self.assertEqual(scrolled, 60, "the fixture page is too short to test scrolling")
        self.write_status(fixture(self.now, syncing_done=True))
        t0 = time.monotonic()
        self.b.wait_until(lambda: self.statuses().get("conda-forge") == "success",
                          REFRESH_WAIT, "conda-forge to turn success without reload")
        print("page picked up the change after %.1fs" % (time.monotonic() - t0))
        self.assertEqual(self.b.execute("return window.__marker"), "still here", "page reloaded")
        self.assertEqual(self.b.execute("return window.scrollY"), 60, "scroll position lost")
        self.assertEqual(len(self.statuses()), 3)

    def test_failing_fetch_shows_banner_and_keeps_rows(self):
        banner = self.b.find("#banner")
        self.assertFalse(self.b.displayed(banner), "banner shown while fetches succeed")
        (self.root / "_depot" / "status.json").unlink()
        self.b.wait_until(lambda: self.b.displayed(banner), REFRESH_WAIT, "the error banner")
        self.assertIn("status.json", self.b.text(banner))
        self.assertIn("404", self.b.text(banner))
        self.assertEqual(len(self.statuses()), 3, "rows kept after a failed fetch")
        self.save_screenshot("status_page_fetch_failed.png")

    def test_fits_wide_and_narrow_windows(self):
        for width in (1280, 400):
            self.b.set_window_size(width, 900)
            page, view, table, box = self.b.execute(
                "const w = document.querySelector('.wrap'); return [document.documentElement"
                ".scrollWidth, window.innerWidth, w.scrollWidth, w.clientWidth]")
            self.assertLessEqual(page, view, "the page scrolls sideways at %dpx" % width)
            self.assertLessEqual(table, box, "the table scrolls sideways at %dpx" % width)
            self.assertIn(HOSTILE_ERROR, self.b.text(self.row("pypi-<b>bold</b>")))
        self.save_screenshot("status_page_narrow.png")

    def test_never_happened_times_read_never(self):
        fresh = job("fresh", "none", "apt", "http://deb.example/fresh", self.now, [])
        fresh["next_schedule_ts"], fresh["next_schedule"] = GO_ZERO_TS, GO_ZERO
        old_style = job("old-style", "none", "apt", "http://deb.example/old", self.now, [])
        for k in ("last_update", "last_started", "last_ended", "next_schedule"):
            old_style[k + "_ts"], old_style[k] = 0, ""  # depot before it wrote Go's zero time
        self.write_status(fixture(self.now) + [fresh, old_style])
        self.b.get(self.url)
        self.b.wait_for('tr[data-job="old-style"]', timeout=15)
        for name in ("fresh", "old-style"):
            text = self.b.text(self.row(name))
            self.assertIn("never", text, name)
            self.assertIn("not scheduled", text, name)
        self.assertIn("after this run", self.b.text(self.row("conda-forge")),
                      "a syncing job's next run")
        body = self.b.text(self.b.find("body"))
        self.assertNotRegex(body, r"\b(0*1|1970)-01-01\b",
                            "a never-happened time shown as a date")
        self.assertNotRegex(body, r"\d{4,}\s*d ago", "a never-happened time shown as an age")

    def test_long_upstream_and_error_keep_every_plot_at_its_width(self):
        long_url = ("https://mirrors.example.org/" + "/".join(
            "segment%02d-%s" % (i, "x" * 14) for i in range(8)) + "/" + "y" * 300)[:300]
        long_error = ("rsync: [receiver] failed to fetch %s/" % long_url +
                      "z" * 1200 + " " + "0123456789" * 40)[:2000]
        wide = job("wide", "failed", "apt", long_url, self.now, runs(self.now, 6, failed=(5,)),
                   error=long_error, exit_code=3)
        self.write_status(fixture(self.now) + [wide])
        self.b.get(self.url)
        self.b.wait_for('tr[data-job="wide"]', timeout=15)
        self.b.set_window_size(1280, 900)
        widths = self.b.execute(
            "return Object.fromEntries([...document.querySelectorAll('svg.history')]"
            ".map(s => [s.dataset.job, s.getBoundingClientRect().width]))")
        self.assertEqual(len(widths), 4)
        for name, w in widths.items():
            self.assertAlmostEqual(w, 200, delta=0.5,
                                   msg="%s's plot squeezed: %s" % (name, widths))
        page, view, table, box = self.b.execute(
            "const w = document.querySelector('.wrap'); return [document.documentElement"
            ".scrollWidth, window.innerWidth, w.scrollWidth, w.clientWidth]")
        self.assertLessEqual(page, view, "the page scrolls sideways")
        self.assertLessEqual(table, box, "the table scrolls sideways")
        text = self.b.text(self.row("wide"))
        self.assertIn(long_error[:60], text)
        self.save_screenshot("status_page_long_texts.png")

    def save_screenshot(self, name):
        png = self.b.screenshot()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG")
        self.assertGreater(len(png), 10_000, "screenshot of %d bytes looks blank" % len(png))
        path = artifacts_dir() / name
        path.write_bytes(png)
        print("screenshot: %s (%d bytes)" % (path, len(png)))
        return path


class StatusPageOfDepotRun(SiteCase):
    def test_the_page_depot_run_serves_shows_its_jobs(self):
        require_browser()
        self.server.set_rules([
            {"glob": "/broken/*", "action": "error", "status": 500},
            {"glob": "/slow/noarch/*.conda", "action": "slow", "bps": 500},
            {"glob": "/slow/noarch/*.tar.bz2", "action": "slow", "bps": 500},
        ])
        self.site_config([job_toml("good", self.upstream("good")),
                          job_toml("broken", self.upstream("broken")),
                          job_toml("slow", self.upstream("slow"))])
        self.start_site()
        self.wait_status({"good": "success", "broken": "failed", "slow": "syncing"})
        for n in range(2, 6):  # more runs of good, for its plot
            self.assertExit(self.ctl("start", "good"), 0)
            deadline = time.monotonic() + 30
            while len(self.status()["good"]["runs"]) < n:
                self.assertLess(time.monotonic(), deadline, "run %d of good never ended" % n)
                time.sleep(0.1)
        code, _ = self.get("/_depot/")
        self.assertEqual(code, 200)
        with Browser() as b:
            b.get("http://127.0.0.1:%d/_depot/" % self.port)
            b.wait_for('body[data-state="loaded"]', timeout=15)
            rows = b.execute("return Object.fromEntries([...document.querySelectorAll("
                             "'tr[data-job]')].map(r => [r.dataset.job, r.dataset.status]))")
            self.assertEqual(rows, {"good": "success", "broken": "failed", "slow": "syncing"})
            broken = b.find('tr[data-job="broken"]')
            self.assertIn("failed", b.attribute(broken, "class").split())
            self.assertIn("/broken/noarch/", b.text(broken), "the failure's reason is shown")
            self.assertEqual(len(b.find_all('.history[data-job="good"] circle')), 5)
            self.assertRegex(b.text(b.find('tr[data-job="good"]')), r"\b[1-9][0-9]* files",
                             "the mirror's file count")
            self.assertEqual(len(b.find_all('.history[data-job="broken"] circle.failed')), 1)
            trees = b.execute("return Object.fromEntries([...document.querySelectorAll("
                              "'tr[data-job] .name a')].map(a => [a.textContent, a.href]))")
            base = "http://127.0.0.1:%d/" % self.port
            self.assertEqual(trees, {n: base + n + "/" for n in ("good", "broken", "slow")},
                             "each job's name links to the tree the same server serves")
            code, listing = self.get("/good/")
            self.assertEqual(code, 200, "the linked tree is served beside the page")
            self.assertIn(b"repodata.json", listing, "a site lists its trees' directories")
            png = b.screenshot()
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            self.assertGreater(len(png), 10_000)
            path = artifacts_dir() / "status_page_depot_run.png"
            path.write_bytes(png)
            print("screenshot: %s (%d bytes)" % (path, len(png)))


if __name__ == "__main__":
    unittest.main()
