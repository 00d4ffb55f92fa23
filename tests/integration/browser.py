"""A small W3C WebDriver client for browser tests (Python 3 stdlib only).

Browser() starts /usr/bin/chromedriver on a free loopback port, opens a headless Chromium
session with a fresh profile, and on quit() (or leaving its `with` block, or a failed start)
ends the session and stops chromedriver by the PID it started, with the process group that PID
leads (Chromium and its helpers). Missing chromium or chromedriver raises unittest.SkipTest.
Not thread-safe: one Browser per test.

    with Browser() as b:
        b.get(url)
        b.wait_for('body[data-state="loaded"]')
        rows = b.find_all("tr[data-job]")
        b.attribute(rows[0], "data-status"); b.text(rows[0]); b.execute("return 1+1")
        png = b.screenshot()
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("DEPOT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DEPOT_CHROMEDRIVER", "/usr/bin/chromedriver")
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"  # W3C web element identifier
CHROME_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]

# Talks to chromedriver directly, whatever http_proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WebDriverError(RuntimeError):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_browser():
    """Raises unittest.SkipTest naming what is missing."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            raise unittest.SkipTest("%s not found at %s (Debian package %s; "
                                    "scripts/install-deps.sh installs it)" % (pkg, path, pkg))


class Browser:
    def __init__(self, width=1280, height=900, timeout=30):
        require_browser()
        self.proc = None
        self.session = None
        self.tmp = tempfile.mkdtemp(prefix="depot-browser-")
        try:
            self._start_driver(timeout)
            self._start_session(width, height)
        except BaseException:
            self.quit()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    # -- process and session ----------------------------------------------------------------
    def _start_driver(self, timeout):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.tmp, "chromedriver.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port, "--log-path=" + self.log_path],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: Chromium is stopped with it
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise WebDriverError("chromedriver exited with %s at start; log %s:\n%s"
                                     % (self.proc.returncode, self.log_path, self.log_tail()))
            try:
                if self._call("GET", "/status", timeout=2).get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline:
                raise WebDriverError("chromedriver on port %d not ready after %ds; log %s:\n%s"
                                     % (self.port, timeout, self.log_path, self.log_tail()))
            time.sleep(0.1)

    def _start_session(self, width, height):
        profile = os.path.join(self.tmp, "profile")
        args = CHROME_ARGS + ["--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height)]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        value = self._call("POST", "/session", caps, timeout=60)
        self.session = value["sessionId"]

    def quit(self):
        """Ends the session and stops chromedriver (its PID and process group). Idempotent."""
        if self.session is not None:
            try:
                self._call("DELETE", "/session/" + self.session, timeout=10)
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc is not None:
            self._stop_group(self.proc)
            self.proc = None
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def _stop_group(proc):
        """SIGTERM to the group proc leads (start_new_session), SIGKILL after 5 s; returns when
        the group is empty. The kernel does not reuse a PID still naming a process group."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    try:
                        os.killpg(proc.pid, 0)
                    except ProcessLookupError:
                        return
                time.sleep(0.05)
        proc.wait(timeout=5)

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError as e:
            return "(no log: %s)" % e

    # -- the wire protocol ------------------------------------------------------------------
    def _call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with _OPENER.open(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                v = json.loads(raw)["value"]
                msg = "%s: %s" % (v.get("error"), v.get("message", "").split("\n")[0])
            except (ValueError, KeyError, TypeError, AttributeError):
                msg = raw[:500].decode("utf-8", "replace")
            raise WebDriverError("%s %s -> HTTP %d: %s" % (method, path, e.code, msg)) from None

    def _s(self, method, path, body=None, timeout=30):
        return self._call(method, "/session/%s%s" % (self.session, path), body, timeout)

    # -- commands ---------------------------------------------------------------------------
    def get(self, url):
        self._s("POST", "/url", {"url": url}, timeout=60)

    def find_all(self, css):
        """Element ids matching `css` (possibly none)."""
        return [e[ELEMENT_KEY] for e in self._s("POST", "/elements",
                                                {"using": "css selector", "value": css})]

    def find(self, css):
        found = self.find_all(css)
        if not found:
            raise WebDriverError("no element matches %r" % css)
        return found[0]

    def attribute(self, element, name):
        return self._s("GET", "/element/%s/attribute/%s" % (element, name))

    def text(self, element):
        """Rendered (visible) text of an element."""
        return self._s("GET", "/element/%s/text" % element)

    def displayed(self, element):
        return self._s("GET", "/element/%s/displayed" % element)

    def execute(self, script, *args):
        """Runs `script` as a function body in the page; returns its JSON result."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def set_window_size(self, width, height):
        self._s("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self):
        """The viewport as PNG bytes."""
        return base64.b64decode(self._s("GET", "/screenshot"))

    def wait_until(self, condition, timeout=10, what="condition", interval=0.1):
        """Polls condition() until it returns a truthy value, which is returned. On timeout
        raises AssertionError naming `what`, the last value or error, and the page URL."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = condition()
                if last:
                    return last
            except WebDriverError as e:
                last = e
            if time.monotonic() > deadline:
                try:
                    url = self._s("GET", "/url")
                except (OSError, WebDriverError) as e:
                    url = "(unknown: %s)" % e
                raise AssertionError("timed out after %.1fs waiting for %s (last: %r) on %s"
                                     % (timeout, what, last, url))
            time.sleep(interval)

    def wait_for(self, css, timeout=10):
        """Waits until `css` matches an element; returns the first."""
        return self.wait_until(lambda: self.find_all(css), timeout, "selector %r" % css)[0]
