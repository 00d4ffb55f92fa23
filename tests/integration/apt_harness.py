"""Helpers for apt scenarios: a signed upstream archive built with real Debian tools
(tests/fixtures/make_apt_repo.py), served by fault_server.py; the mirror served by a second
fault_server.py (a plain static server with a request log); and an isolated apt-get.

Every process is started on 127.0.0.1 port 0 in the test's temp dir and stopped by PID.
"""

import os
import subprocess
from pathlib import Path

from depot_harness import FIXTURES, DepotTestCase, FaultServer, depot_bin, sha256_file  # noqa: F401

import make_apt_repo as mar  # noqa: E402  (depot_harness put FIXTURES on sys.path)

DIST = "stable"


class AptClient:
    """apt-get with every directory private to one test: no system sources, keys or state.

    install() really installs: apt runs dpkg with --root=<root> (instdir <root>, admindir
    <root>/var/lib/dpkg, the status file apt reads) and --log inside <root>, so package files
    land under <root> and the system's dpkg database and log stay untouched. Maintainer scripts
    would run chrooted into <root>, which holds no shell: only packages without them install
    (those of make_apt_repo.build_deb)."""

    def __init__(self, root, url, keyring, dist=DIST, component="main", arch="amd64"):
        self.root = Path(root)
        for d in ("etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d",
                  "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial",
                  "var/cache/apt/archives/partial", "var/lib/dpkg", "log", "download"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "var/lib/dpkg/status").touch()
        (self.root / "etc/apt/sources.list").write_text(
            "deb [signed-by=%s] %s %s %s\n" % (keyring, url, dist, component))
        r = str(self.root)
        self.conf = self.root / "apt.conf"
        self.conf.write_text("\n".join([
            'Dir "%s/";' % r,
            'Dir::State::status "%s/var/lib/dpkg/status";' % r,
            'Dir::Etc::main "%s/etc/apt/apt.conf";' % r,
            'Dir::Etc::Parts "%s/etc/apt/apt.conf.d";' % r,
            'Dir::Etc::TrustedParts "%s/etc/apt/trusted.gpg.d";' % r,
            'Dir::Log "%s/log";' % r,
            'APT::Architecture "%s";' % arch,
            'APT::Sandbox::User "root";',
            'Debug::NoLocking "true";',
            'Acquire::Languages "none";',
            'Acquire::Retries "0";',
            'Acquire::http::Pipeline-Depth "0";',
            'DPkg::Options { "--root=%s"; "--log=%s/log/dpkg.log"; };' % (r, r),
            # No binary cache: apt trusts it while the lists keep their size and mtime (second
            # resolution), and a test publishes same-size indexes within one second.
            'Dir::Cache::pkgcache "";',
            'Dir::Cache::srcpkgcache "";',
            ""]))

    def run(self, *args, timeout=60):
        env = dict(os.environ, APT_CONFIG=str(self.conf), LC_ALL="C")
        p = subprocess.run(["apt-get", "-q"] + list(args), cwd=str(self.root / "download"),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def update(self):
        """apt-get update; apt reports some failures only as W:/E: lines with exit 0."""
        rc, out = self.run("update")
        bad = [l for l in out.splitlines() if l.startswith(("E:", "W:", "Err:"))]
        return (rc == 0 and not bad), out

    def download(self, *packages):
        rc, out = self.run("download", *packages)
        return rc == 0, out

    def install(self, *specs, downgrade=False):
        """apt-get install -y SPECS (e.g. "app=1.0") into the private root."""
        args = ["install", "-y", "--no-install-recommends"]
        if downgrade:
            args.append("--allow-downgrades")
        rc, out = self.run(*args, *specs, timeout=120)
        return rc == 0, out

    def installed(self):
        """{package: version} of every package the private dpkg status lists as installed."""
        out = {}
        for stanza in (self.root / "var/lib/dpkg/status").read_text().split("\n\n"):
            f = dict(l.split(": ", 1) for l in stanza.splitlines() if ": " in l and l[0] != " ")
            if f.get("Status") == "install ok installed":
                out[f["Package"]] = f["Version"]
        return out

    def payload(self, name):
        """The bytes of /usr/share/<name>/data.bin as installed, or None."""
        p = self.root / "usr" / "share" / name / "data.bin"
        return p.read_bytes() if p.is_file() else None

    def downloaded(self):
        return sorted(p.name for p in (self.root / "download").glob("*.deb"))


class AptTestCase(DepotTestCase):
    """An apt archive upstream in self.up with a throwaway signing key."""

    def setUp(self):
        super().setUp()
        self.gnupg = self.tmp / "gnupg"
        self.keyring = self.tmp / "archive-key.gpg"
        mar.make_key(self.gnupg, self.keyring)

    # -- upstream --------------------------------------------------------------------------
    def packages(self, count, version="1.0", start=0):
        return [("pkg%04d" % i, version, "amd64") for i in range(start, start + count)]

    def build_upstream(self, pkgs, by_hash=True, keep=None, payload=1024, **kw):
        mar.add_packages(self.up, pkgs, payload=payload)
        if keep is None:
            keep = {mar.pool_path(n, v, a) for n, v, a in pkgs}
        return mar.publish(self.up, DIST, self.gnupg, by_hash=by_hash, keep=keep, **kw)

    def apt_url(self):
        return self.server.base

    # -- depot -----------------------------------------------------------------------------
    def mirror_apt_args(self, *extra):
        """The depot command line mirroring the upstream (main, amd64, checked signatures)."""
        return [depot_bin(), "mirror", "apt", self.apt_url(), str(self.mirror), "--dist", DIST,
                "--component", "main", "--arch", "amd64", "--keyring", str(self.keyring),
                *map(str, extra)]

    def mirror_apt(self, *extra, timeout=180):
        return self.depot(*self.mirror_apt_args(*extra)[1:], timeout=timeout)

    # -- the mirror as a repository -------------------------------------------------------
    def client(self, name="client"):
        srv = self.serve_mirror()
        return AptClient(self.tmp / name, srv.base, self.keyring)

    def published_tree(self):
        return self.tree(self.mirror)

    def assertPoolMatchesUpstream(self, names, res=None):
        """Every pool file named in `names` (pool paths) is in the mirror with upstream bytes."""
        want = mar.expected_pool(self.up)
        problems = []
        for n in names:
            p = self.mirror / n
            if not p.is_file():
                problems.append("missing " + n)
            elif sha256_file(p) != want.get(n):
                problems.append("wrong " + n)
        self.assertFalse(problems, "%s%s" % (problems[:20], res or ""))


def serve_demo_archive(tmp):
    """The demos' upstream: a signed archive of DEMO_APT_PACKAGES (default 40) .debs
    demo000... under tmp/upstream (dist "stable"), its key in tmp/archive-key.gpg, served by a
    started FaultServer. Returns (server, keyring, package count); the caller stops the server."""
    tmp = Path(tmp)
    up, keyring = tmp / "upstream", tmp / "archive-key.gpg"
    count = int(os.environ.get("DEMO_APT_PACKAGES", "40"))
    mar.make_key(tmp / "gnupg", keyring)
    mar.add_packages(up, [("demo%03d" % i, "1.0", "amd64") for i in range(count)], payload=4096)
    mar.publish(up, "stable", tmp / "gnupg")
    (tmp / "up-srv").mkdir()
    return FaultServer(up, tmp / "up-srv").start(), keyring, count
