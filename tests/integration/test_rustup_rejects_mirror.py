"""Proves impossible: rustup (toolchain install, and rustup-init) failing to install from a
rustup mirror alone (the upstream stopped); an upstream fault (503, drop, truncation) leaving
the mirror incomplete; a corrupt tarball, a lasting 503 or a hostile manifest URL changing
what is served; a channel manifest or its .sha256 naming a tarball the mirror lacks while a
new generation arrives; a no-op re-run downloading anything."""

import hashlib
import os
import subprocess
import time
import unittest

from depot_harness import depot_bin
from rustup_harness import DepotTestCase, judge_rustup_init, judge_toolchain_install, mrd, \
    rustup_bin
from serve_harness import DepotServer

CHANNELS = ("stable", "1.95.0")
V1 = "rustc 1.95.0-fixture (depot 2026-04-14)"
V2 = "rustc 1.96.0-fixture (depot 2026-05-28)"
STABLE = "dist/channel-rust-stable.toml"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@unittest.skipIf(rustup_bin() is None, "rustup is not installed")
class RustupRejectsMirror(DepotTestCase):
    def setUp(self):
        super().setUp()
        self.mirror.mkdir(parents=True)
        mrd.generate(str(self.up))
        self.site = DepotServer(self.mirror, self.tmp / "site").start()
        self.addCleanup(self.site.stop)

    def args(self, *extra, channels=CHANNELS):
        return ["mirror", "rustup", self.server.base, self.mirror, "--channel",
                ",".join(channels), "--target", mrd.HOST, "--retries", "4"] + list(extra)

    def mirror_rustup(self, *extra, **kw):
        return self.depot(*self.args(*extra, **kw))

    def assertMirrorHolds(self, res=None, **kw):
        want = mrd.expected_files(str(self.up), CHANNELS, **kw)
        self.assertEqual(self.tree(self.mirror), want, "mirror differs from upstream%s"
                         % (res or ""))

    def assertInstalls(self, version, toolchain="stable"):
        res = judge_toolchain_install(self.site.base, self.tmp / "judge", toolchain)
        self.assertEqual((res.rc, res.version), (0, version), "rustup refused the mirror%s" % res)

    def establish(self):
        res = self.mirror_rustup()
        self.assertExit(res, 0)
        self.assertMirrorHolds(res)
        return res

    def test_rustup_installs_from_the_mirror_alone(self):
        self.establish()
        self.assertFalse([p for p in self.tree(self.mirror) if mrd.OTHER in p],
                         "a target not asked for was mirrored")
        self.server.stop()
        self.assertInstalls(V1, "stable")
        self.assertInstalls(V1, "1.95.0")
        res = judge_rustup_init(self.site.base, self.tmp / "judge", "1.95.0")
        self.assertEqual((res.rc, res.version), (0, V1), "rustup-init refused the mirror%s" % res)

    def test_noop_rerun_downloads_nothing(self):
        self.establish()
        self.server.clear_log()
        res = self.mirror_rustup()
        self.assertExit(res, 0)
        log = self.server.log()
        fetched = [e["path"] for e in log if e["status"] == 200]
        self.assertEqual(fetched, [], "a no-op re-run downloaded files%s" % res)
        self.assertTrue(log and all(e["status"] == 304 for e in log),
                        "manifests are revalidated conditionally: %s" % log)

    def test_transient_faults_are_retried(self):
        d = "/dist/2026-04-14/"
        self.server.set_rules([
            {"glob": d + "rustc-*-%s.tar.xz" % mrd.HOST, "action": "error", "status": 503,
             "times": 2},
            {"glob": d + "cargo-*-%s.tar.gz" % mrd.HOST, "action": "drop", "times": 1},
            {"glob": d + "rust-src-*.tar.xz", "action": "truncate", "times": 1},
            {"glob": "/" + STABLE + ".sha256", "action": "error", "status": 503, "times": 1},
            {"glob": "/rustup/dist/*/rustup-init", "action": "drop", "after": 0.3, "times": 1}])
        self.establish()
        for r in self.server.rules():
            self.assertEqual(r["remaining"], 0, "fault never triggered: %s" % r)
        self.server.stop()
        self.assertInstalls(V1)

    def test_failed_tarball_keeps_the_previous_generation_served(self):
        self.establish()
        before = {p: self.tree(self.mirror)[p] for p in self.tree(self.mirror)
                  if "channel-rust" in p or p.startswith("rustup/")}
        mrd.next_generation(str(self.up))
        bad = "dist/2026-05-28/rustc-1.96.0-%s.tar.xz" % mrd.HOST
        self.server.set_rules([{"glob": "/" + bad, "action": "error", "status": 503}])
        res = self.mirror_rustup()
        self.assertExit(res, 1)
        self.assertIn(bad, res.text)
        mrd.corrupt(str(self.up), bad)
        self.server.clear_rules()
        res = self.mirror_rustup()
        self.assertExit(res, 1)
        self.assertIn(bad, res.text)
        after = self.tree(self.mirror)
        self.assertEqual({p: after[p] for p in before}, before,
                         "a failed run changed a manifest or its .sha256%s" % res)
        self.assertFalse(os.path.exists(self.mirror / bad), "a corrupt tarball was published")
        self.assertInstalls(V1)
        mrd.next_generation(str(self.up))  # the tarball upstream repaired
        self.assertExit(self.mirror_rustup(), 0)
        self.assertMirrorHolds()
        self.assertInstalls(V2)

    def test_hostile_manifest_urls_are_refused(self):
        self.establish()
        before = self.tree(self.mirror)
        good = (self.up / STABLE).read_text()
        url = "https://static.rust-lang.org/dist/2026-04-14/rustc-1.95.0-%s.tar.xz" % mrd.HOST
        for hostile in ("https://evil.example/dist/2026-04-14/x.tar.xz",
                        "https://static.rust-lang.org/dist/2026-04-14/../../../outside/x",
                        "%s/dist/2026-04-14/%%2e%%2e/x.tar.xz" % self.server.base):
            with self.subTest(url=hostile):
                mrd.write_manifest(str(self.up), STABLE, good.replace(url, hostile))
                res = self.mirror_rustup()
                self.assertExit(res, 3, "a hostile url must make the manifest unusable")
                self.assertIn(self.server.base + "/" + STABLE, res.text)
                self.assertIn("refused", res.text)
                self.assertEqual(self.tree(self.mirror), before, "mirror changed%s" % res)
                self.assertEqual(list(self.outside.iterdir()), [], "wrote outside%s" % res)

    def test_new_generation_manifest_and_sha256_switch_after_tarballs(self):
        self.establish()
        mrd.next_generation(str(self.up))
        # Slow tarballs widen the window in which a premature switch would show.
        self.server.set_rules([{"glob": "/dist/2026-05-28/*.tar.*", "action": "delay",
                                "seconds": 0.3}])
        cmd = [depot_bin()] + [str(a) for a in self.args("--history-days", "60")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        checks = 0
        old_sha = sha256(self.mirror / STABLE)
        while proc.poll() is None:
            # .sha256 first, then the manifest, then what it names: the order rustup reads in.
            sha_text = (self.mirror / (STABLE + ".sha256")).read_text()
            text = (self.mirror / STABLE).read_text()
            if sha_text.split()[0] != old_sha:
                self.assertEqual(hashlib.sha256(text.encode()).hexdigest(), sha_text.split()[0],
                                 "a new .sha256 was served beside an older manifest")
            if "2026-05-28" in text:
                for rel in mrd.manifest_files(text):
                    p = self.mirror / rel
                    self.assertTrue(p.exists(), "the new manifest names %s, not yet there" % rel)
            checks += 1
            time.sleep(0.005)
        out = proc.stdout.read().decode("utf-8", "replace")
        proc.stdout.close()
        self.assertEqual(proc.returncode, 0, out)
        self.assertGreater(checks, 10, "the run ended before it could be watched")
        self.assertMirrorHolds(history=True)
        self.assertInstalls(V2, "stable")
        self.assertInstalls(V1, "1.95.0")
        self.assertInstalls(V1, "stable-2026-04-14")  # a dated manifest kept by --history-days


if __name__ == "__main__":
    unittest.main()
