"""Helpers for yum scenarios: an upstream repository built with rpmbuild + createrepo_c
(tests/fixtures/make_yum_repo.py), served by fault_server.py; the mirror served by a second
fault_server.py (a plain static server with a request log); and an isolated dnf.

Every process is started on 127.0.0.1 port 0 in the test's temp dir and stopped by PID.
"""

import os
import subprocess
from pathlib import Path

from depot_harness import DepotTestCase, FaultServer  # noqa: F401

import make_yum_repo as myr  # noqa: E402  (depot_harness put FIXTURES on sys.path)

ROOT_FILES = ("/repodata/repomd.xml", "/repodata/repomd.xml.asc", "/repodata/repomd.xml.key")


class DnfClient:
    """dnf with everything private to one test: its own installroot, cache and repo list (no
    system repositories), one repository given by URL; `dnf download` comes from
    dnf-plugins-core and checks each rpm against primary's checksum."""

    def __init__(self, root, url, setopts=()):
        self.root = Path(root)
        for d in ("installroot", "reposdir", "out"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self.url = url
        self.setopts = ["--setopt=%s" % o for o in setopts]  # e.g. "proxy=http://..."

    def download(self, *packages, timeout=120):
        return self.run("download", "--destdir", str(self.root / "out"), *packages,
                        timeout=timeout)

    def makecache(self, timeout=120):
        """dnf makecache --refresh: reads the repository's metadata, downloads no package."""
        return self.run("makecache", timeout=timeout)

    def run(self, *args, timeout=120):
        cmd = ["dnf", "-y", "--refresh",
               "--installroot=%s" % (self.root / "installroot"),
               "--releasever=1",
               "--setopt=reposdir=%s" % (self.root / "reposdir"),
               "--setopt=cachedir=/var/cache/dnf",      # inside the installroot
               "--setopt=gpgcheck=0",
               "--setopt=retries=1",
               "--setopt=keepcache=0", *self.setopts,
               "--repofrompath=m,%s" % self.url, "--repo=m"] + list(args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        return p.returncode == 0, "$ %s\n%s" % (" ".join(cmd), p.stdout.decode("utf-8", "replace"))

    def downloaded(self):
        return sorted(p.name for p in (self.root / "out").glob("*.rpm"))


class YumTestCase(DepotTestCase):
    """A yum repository upstream in self.up (the repository root)."""

    def setUp(self):
        super().setUp()

    # -- upstream --------------------------------------------------------------------------
    @staticmethod
    def packages(count, version="1.0", start=0):
        return [("pkg%02d" % i, version) for i in range(start, start + count)]

    def build_upstream(self, pkgs, compress="gz", payload=1024, **kw):
        myr.add_packages(self.up, pkgs, payload=payload)
        keep = {myr.rpm_path(n, v) for n, v in pkgs}
        return myr.publish(self.up, keep=keep, compress=compress, **kw)

    def upstream_files(self):
        return myr.expected_files(self.up)

    # -- depot -----------------------------------------------------------------------------
    def mirror_yum(self, *extra, timeout=180):
        return self.depot("mirror", "yum", self.server.base + "/", self.mirror, *extra,
                          timeout=timeout)

    # -- the mirror as a repository -------------------------------------------------------
    def dnf(self, name="dnf"):
        return DnfClient(self.tmp / name, self.serve_mirror().base + "/")

    def assertMirrorIsUpstream(self, res=None):
        got = self.tree(self.mirror)
        want = self.upstream_files()
        self.assertEqual(got, want, "mirror differs from upstream%s" % (res or ""))
