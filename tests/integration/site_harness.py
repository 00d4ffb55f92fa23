"""Helpers for scenarios of `depot run` (a site from one config file): writing depot.toml,
starting and stopping the process by PID, reading /_depot/status.json."""

import json
import os
import subprocess
import time
import urllib.request

from depot_harness import DepotTestCase, depot_bin, mcc, terminate


def job_toml(name, upstream, dir_=None, interval="1h", extra=""):
    text = ('[[mirror]]\nname = "%s"\nregistry = "conda"\nupstream = "%s"\ninterval = "%s"\n'
            % (name, upstream, interval))
    if dir_:
        text += 'dir = "%s"\n' % dir_
    return text + extra + "\n"


class SiteCase(DepotTestCase):
    """A conda fixture upstream with channels good, broken, slow and later, and `depot run` on
    a site config written by site_config(); stopped by PID."""
    def setUp(self):
        super().setUp()
        for channel in ("good", "broken", "slow", "later"):
            mcc.generate(str(self.up), channel, "noarch", count=6, min_size=2048,
                         max_size=8192)
        self.data = self.tmp / "data"
        self.config = self.tmp / "depot.toml"
        self.proc = None
        self.port = None

    def site_config(self, jobs, top=""):
        """Writes depot.toml: the test's top-level settings, `top` (more of them), then `jobs`
        (the text of [[mirror]] and other tables)."""
        head = ('listen = "127.0.0.1:0"\ndata_root = "%s"\nmax_concurrent = 3\nretry = 0\n'
                'log_format = "json"\n%s\n' % (self.data, top))
        self.config.write_text(head + "".join(jobs))

    def upstream(self, channel):
        return "%s/%s/noarch" % (self.server.base, channel)

    def start_site(self, env=None):
        """Starts `depot run` (with `env` added to the environment) and waits for its port."""
        port_file = self.tmp / "site.port"
        if port_file.exists():
            port_file.unlink()
        self.log = open(self.tmp / "site.stderr", "ab")
        self.proc = subprocess.Popen([depot_bin(), "run", "--config", str(self.config),
                                      "--port-file", str(port_file)],
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        self.addCleanup(self.stop_site)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            self.assertIsNone(self.proc.poll(), "depot run exited: " + self.stderr())
            self.assertLess(time.monotonic(), deadline, "no port file")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def stop_site(self):
        if self.proc is not None:
            terminate(self.proc, timeout=30)
            self.proc = None
            self.log.close()

    def stderr(self):
        return (self.tmp / "site.stderr").read_text(errors="replace")[-4000:]

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=10) as r:
            return r.status, r.read()

    def status(self):
        return {j["name"]: j for j in json.loads(self.get("/_depot/status.json")[1])}

    def wait_status(self, want, timeout=60):
        """Polls status.json until every job named in `want` has that status."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if all(name in st and st[name]["status"] == s for name, s in want.items()):
                return st
            if time.monotonic() > deadline:
                self.fail("status never reached %s: %s\n%s" % (
                    want, {n: j["status"] for n, j in st.items()}, self.stderr()))
            time.sleep(0.2)

    def ctl(self, *args):
        return self.depot("ctl", "--config", self.config, *args)
