"""A hosted repository of thousands of packages where one package changes must not cost every
apt client the whole Packages index on its next `apt-get update`: after a publication the daemon
builds index deltas in the background (Packages.diff/Index and chained ed patches, K =
--pdiff-generations links at most) and publishes them in a follow-up publication. apt (pdiffs on
by default) then fetches only the patches and applies them with rred; its Packages list is the
same, byte for byte, as a fresh full download. A client two generations behind applies a
2-link chain; K bounds the chain; a damaged stored link is never published (it is dropped with
the links older than it)."""

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
import time
import unittest
from pathlib import Path

from publish_harness import PublishTestCase, paragraphs

COUNT = 3000  # packages: about 2 MB of Packages
K = 3
_debs_dir = None


def setUpModule():
    global _debs_dir
    _debs_dir = tempfile.TemporaryDirectory(prefix="depot-it-pdiff-")


def tearDownModule():
    _debs_dir.cleanup()


def _tar_gz(files):
    """A gzip'd tar of {name: bytes}, root-owned, mtime 0."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)


def _ar(members):
    out = b"!<arch>\n"
    for name, data in members:
        out += b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 0, 0, 0, b"100644", len(data))
        out += data + (b"\n" if len(data) % 2 else b"")
    return out


def fast_deb(name, version):
    """A small .deb written directly (ar of debian-binary, control.tar.gz, data.tar.gz) with a
    control paragraph of realistic size; far cheaper than dpkg-deb for thousands of packages."""
    path = Path(_debs_dir.name) / ("%s_%s_amd64.deb" % (name, version))
    if path.exists():
        return str(path)
    words = hashlib.sha256(("%s %s" % (name, version)).encode()).hexdigest()
    control = ("Package: %s\nVersion: %s\nArchitecture: amd64\n"
               "Maintainer: depot tests <t@depot.test>\nInstalled-Size: %d\n"
               "Depends: libc6 (>= 2.36), libfoo%s (>= 1.%s)\nSection: misc\nPriority: optional\n"
               "Homepage: https://example.org/%s\n"
               "Description: synthetic package %s for the pdiff test\n"
               " This package exists so that the Packages index is large: %s.\n"
               " .\n Another paragraph of the long description, %s.\n"
               % (name, version, len(name) * 7, words[:3], words[3:5], name, name, words,
                  words[::-1])).encode()
    data = ("%s %s\n" % (name, version)).encode()
    path.write_bytes(_ar([("debian-binary", b"2.0\n"),
                          ("control.tar.gz", _tar_gz({"./control": control})),
                          ("data.tar.gz", _tar_gz({"./usr/share/%s/version" % name: data}))]))
    return str(path)


class AptUpdateDownloadsWholeIndex(PublishTestCase):
    def daemon_args(self):
        return ["--pdiff-generations", str(K)]

    def setUp(self):
        super().setUp()
        self.access = self.tmp / "access.log"
        self.www = self.start_serve(self.root / "public", "--access-log", str(self.access),
                                    "--access-log-format", "json", name="www")
        self.dists = self.root / "public" / "big" / "dists" / "big"
        self.bin = self.dists / "main" / "binary-amd64"

    def client(self, repo, name=None):
        c = super().client(repo, name)
        (c.root / "etc/apt/sources.list").write_text(
            "deb [signed-by=%s] %s/%s %s main\n" % (self.keyring, self.www.base, repo, repo))
        return c

    def idle(self, timeout=300):
        """Waits until no job is queued or running (the pdiff job and its publication)."""
        deadline = time.monotonic() + timeout
        while True:
            rc, jobs = self.daemon.repo("jobs")
            busy = [j for j in jobs if j["state"] in ("queued", "running")]
            if not busy:
                failed = [j for j in jobs if j["state"] == "failed"]
                self.assertEqual(failed, [], "failed jobs")
                return jobs
            self.assertLess(time.monotonic(), deadline, "jobs still busy: %s" % busy)
            time.sleep(0.1)

    def change(self, name, version):
        rc, out = self.daemon.repo("import", "big", fast_deb(name, version))
        self.assertEqual(out["state"], "done", out)
        self.idle()

    def index(self):
        """The published Packages.diff/Index as {field: [lines]}, or None."""
        p = self.bin / "Packages.diff" / "Index"
        if not p.is_file():
            return None
        out, key = {}, None
        for line in p.read_text().splitlines():
            if line.startswith(" "):
                out[key].append(line.split())
            else:
                key, _, value = line.partition(":")
                out[key] = [value.split()] if value.strip() else []
        return out

    def fetched(self, since):
        """Bytes the logging server sent for the amd64 Packages (full files and pdiffs) after
        byte offset `since` of its access log: (total, [targets])."""
        time.sleep(0.3)  # the access log is flushed within 100 ms
        lines = self.access.read_bytes()[since:].decode().splitlines()
        total, targets = 0, []
        for line in lines:
            r = json.loads(line)
            if "/main/binary-amd64/" in r["target"]:
                total += r["bytes"]
                targets.append((r["target"], r["status"], r["bytes"]))
        return total, targets

    def update(self, apt, debug=True):
        since = self.access.stat().st_size if self.access.exists() else 0
        extra = ["-o", "Debug::pkgAcquire::Diffs=true"] if debug else []
        rc, out = apt.run(*extra, "update")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("Err:", out)
        return out, self.fetched(since)

    def lists_packages(self, apt):
        (p,) = list((apt.root / "var/lib/apt/lists").glob("*_main_binary-amd64_Packages"))
        return p.read_bytes()

    def test_update_fetches_deltas(self):
        d = self.daemon
        d.repo("create", "big")
        t = time.monotonic()
        files = [fast_deb("pkg%04d" % i, "1.0") for i in range(COUNT)]
        rc, out = d.repo("import", "big", *files)
        self.assertEqual(out["state"], "done", out)
        self.idle()
        print("\n%d packages built and imported in %.1fs" % (COUNT, time.monotonic() - t))
        self.assertIsNone(self.index())  # one version: nothing to patch yet
        a, b = self.client("big", "apt-a"), self.client("big", "apt-b")
        out, (full_bytes, targets) = self.update(a, debug=False)
        self.update(b, debug=False)
        full_plain = (self.bin / "Packages").stat().st_size

        # One package changes: a delta of one link, published after the change.
        self.change("pkg1234", "1.1")
        jobs = self.idle()
        pdiff = next(j for j in jobs if j["kind"] == "pdiff")
        print("pdiff job (one new link, %d stanzas): %d ms" % (COUNT, pdiff["duration_ms"]))
        idx = self.index()
        self.assertIsNotNone(idx, "no Packages.diff/Index after the follow-up publication")
        self.assertEqual(len(idx["SHA256-Patches"]), 1)
        self.assertPublishedTreeComplete("big")
        release = paragraphs((self.dists / "Release").read_text())[0]
        self.assertIn("main/binary-amd64/Packages.diff/Index", release["SHA256"])
        self.assertIn("main/binary-amd64/Packages\n", release["SHA256"] + "\n")
        out, (delta_bytes, targets) = self.update(a)
        self.assertIn("pkgAcqIndexMergeDiffs", out)
        self.assertIn("rred", out)
        self.assertNotIn("Falling back", out)
        self.assertTrue(any(".diff/" in t and t.endswith(".gz") for t, s, n in targets), targets)
        self.assertFalse(any(t.endswith(("/Packages.xz", "/Packages.gz", "/Packages"))
                             for t, s, n in targets), targets)
        ratio = delta_bytes / full_bytes
        print("apt update fetched %d bytes for Packages by pdiff vs %d (Packages.xz) for the full "
              "index (%d uncompressed): ratio %.4f" % (delta_bytes, full_bytes, full_plain, ratio))
        self.assertLess(ratio, 0.05)
        fresh = self.client("big", "apt-fresh")
        self.update(fresh, debug=False)
        self.assertEqual(self.lists_packages(a), (self.bin / "Packages").read_bytes())
        self.assertEqual(self.lists_packages(a), self.lists_packages(fresh))

        # Another change: client b, two generations behind, applies a chain of two links.
        self.change("pkg0042", "1.1")
        self.assertEqual(len(self.index()["SHA256-Patches"]), 2)
        out, (n, targets) = self.update(b)
        self.assertIn("pkgAcqIndexMergeDiffs", out)
        self.assertNotIn("Falling back", out)
        patches = [t for t, s, _ in targets if ".diff/" in t and t.endswith(".gz")]
        self.assertEqual(len(patches), 2, targets)
        self.assertEqual(self.lists_packages(b), (self.bin / "Packages").read_bytes())

        # K bounds the chain.
        for name in ["pkg0001", "pkg0002"]:
            self.change(name, "1.1")
        idx = self.index()
        self.assertEqual(len(idx["SHA256-Patches"]), K)
        self.assertEqual(len(list((self.bin / "Packages.diff").glob("*.gz"))), K)
        out, (n, targets) = self.update(a)  # K links behind: the whole chain
        self.assertIn("pkgAcqIndexMergeDiffs", out)
        self.assertNotIn("Falling back", out)
        patches = [t for t, s, _ in targets if ".diff/" in t and t.endswith(".gz")]
        self.assertEqual(len(patches), K, targets)
        self.assertEqual(self.lists_packages(a), (self.bin / "Packages").read_bytes())
        self.change("pkg0003", "1.1")
        self.assertEqual(len(self.index()["SHA256-Patches"]), K)
        out, _ = self.update(fresh)  # K + 1 behind: its version is no longer in History
        self.assertIn("Falling back to normal index file acquire", out)
        self.assertEqual(self.lists_packages(fresh), (self.bin / "Packages").read_bytes())

    def test_damaged_link_not_published(self):
        d = self.daemon
        d.repo("create", "big")
        rc, out = d.repo("import", "big", *[fast_deb("pkg%04d" % i, "1.0") for i in range(300)])
        self.idle()
        self.change("pkg0010", "1.1")
        self.change("pkg0011", "1.1")
        idx = self.index()
        self.assertEqual(len(idx["SHA256-Patches"]), 2)
        newest = idx["SHA256-Download"][-1]  # [sha256, size, name.gz]
        (link,) = [p for p in (self.root / "pdiff" / "links").glob("*.gz")
                   if hashlib.sha256(p.read_bytes()).hexdigest() == newest[0]]
        link.write_bytes(gzip.compress(b"1d\n", mtime=0))
        self.change("pkg0012", "1.1")
        idx = self.index()
        self.assertEqual(len(idx["SHA256-Patches"]), 1, idx)  # the damaged one and older gone
        self.assertNotIn(newest[2], [p[2] for p in idx["SHA256-Download"]])
        self.assertFalse((self.bin / "Packages.diff" / newest[2]).exists())
        self.assertIn("pdiff_link_dropped", (d.workdir / "daemon.log").read_text())
        self.assertPublishedTreeComplete("big")
        apt = self.client("big")
        self.update(apt, debug=False)
        self.change("pkg0013", "1.1")
        out, _ = self.update(apt)
        self.assertIn("pkgAcqIndexMergeDiffs", out)
        self.assertEqual(self.lists_packages(apt), (self.bin / "Packages").read_bytes())


if __name__ == "__main__":
    unittest.main()
