"""A hosted repository built on a base distribution (`depot repo create R --base ...`) must not
receive packages whose dependencies nothing satisfies: `promote --with-deps` (and import) resolve
Depends/Pre-Depends against the source, the destination and the base (a directory made by
`depot mirror apt` from a fixture archive, or the archive's http URL), refuse what nothing
satisfies with the full list, accept it with --allow-unresolved as warnings; `--dry-run` of
pull and promote lists what would be added, replaced and removed and changes nothing."""

import os
import socket
import subprocess
import unittest

from depot_harness import depot_bin
from publish_harness import PublishTestCase, mar

DIST = "bookworm"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PromoteBreaksDependencies(PublishTestCase):
    def setUp(self):
        super().setUp()
        # The base: a signed archive with libbase and a mail-transport-agent provider.
        work = self.tmp / "base-build"
        for name, version, extra in (("libbase", "2.0", ""),
                                     ("basemta", "1.0", "Provides: mail-transport-agent\n")):
            deb = mar.build_deb(work, name, version, extra=extra)
            dest = self.up / mar.pool_path(name, version, "amd64")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(deb, dest)
        mar.publish(self.up, DIST, self.gnupg)
        res = self.depot("mirror", "apt", self.server.base, self.mirror, "--dist", DIST,
                         "--component", "main", "--arch", "amd64", "--keyring", self.keyring)
        self.assertExit(res, 0)
        d = self.daemon
        d.repo("create", "unstable")
        d.repo("create", "stable", "--base", str(self.mirror), "--base-dist", DIST,
               "--base-component", "main")
        d.repo("import", "unstable",
               str(self.deb("app", "1.0", "Depends: libbase (>= 1.5), helper, "
                                          "mail-transport-agent\n")),
               str(self.deb("helper", "1.0", "Pre-Depends: libbase\n")),
               str(self.deb("lonely", "1.0", "Depends: nowhere (>= 3) | neither, libbase, "
                                             "ghost\n")))

    def inrelease(self, repo):
        p = self.root / "public" / repo / "dists" / repo / "InRelease"
        return p.read_bytes() if p.exists() else None

    def test_dependency_only_in_the_base_directory(self):
        d = self.daemon
        rc, show = d.repo("show", "stable")
        self.assertEqual(show["bases"], [{"url": str(self.mirror), "dist": DIST,
                                          "components": ["main"]}], show)
        rc, out = d.repo("promote", "stable", "unstable", "app", "--with-deps")
        self.assertEqual(out["state"], "done", out)
        self.assertEqual(out["result"]["unresolved"], [], out)
        # The closure from unstable moves; what the base satisfies does not.
        self.assertEqual(d.packages("stable"), {"app": "1.0", "helper": "1.0"})
        self.assertEqual(self.assertPublishedTreeComplete("stable"),
                         {"app": "1.0", "helper": "1.0"})

    def test_dependency_nowhere_is_refused_with_the_list(self):
        d = self.daemon
        before = self.inrelease("stable")
        rc, out = d.repo("promote", "stable", "unstable", "lonely", "--with-deps", check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertEqual(out["state"], "failed", out)
        for want in ("lonely 1.0 (amd64) Depends 'nowhere (>= 3) | neither' for amd64",
                     "lonely 1.0 (amd64) Depends 'ghost' for amd64"):
            self.assertIn(want, out["error"])
        self.assertNotIn("libbase", out["error"])  # the base satisfies that one
        self.assertEqual(d.packages("stable"), {})
        self.assertEqual(self.inrelease("stable"), before)
        # Human output: the list on stderr, a non-zero exit.
        p = subprocess.run([depot_bin(), "repo", "promote", "stable", "unstable", "lonely",
                            "--with-deps", "--socket", str(d.socket)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"Depends 'ghost' for amd64", p.stderr)

        rc, out = d.repo("promote", "stable", "unstable", "lonely", "--with-deps",
                         "--allow-unresolved")
        self.assertEqual(out["state"], "done", out)
        self.assertEqual(sorted(out["result"]["unresolved"]),
                         ["lonely 1.0 (amd64) Depends 'ghost' for amd64",
                          "lonely 1.0 (amd64) Depends 'nowhere (>= 3) | neither' for amd64"])
        self.assertEqual(d.packages("stable"), {"lonely": "1.0"})

    def test_import_into_a_repository_with_bases_checks_too(self):
        d = self.daemon
        rc, out = d.repo("import", "stable", str(self.deb("tool", "1.0", "Depends: gone\n")),
                         check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("tool 1.0 (amd64) Depends 'gone' for amd64", out["error"])
        self.assertEqual(d.packages("stable"), {})
        rc, out = d.repo("import", "stable", str(self.deb("tool", "1.0",
                                                           "Depends: libbase (>= 2)\n")))
        self.assertEqual(out["state"], "done", out)

    def test_dry_run_lists_and_changes_nothing(self):
        d = self.daemon
        d.repo("promote", "stable", "unstable", "app", "--with-deps")
        d.repo("import", "unstable", str(self.deb("app", "2.0", "Depends: libbase, newlib\n")),
               str(self.deb("newlib", "1.0")))
        before, packages = self.inrelease("stable"), d.packages("stable")
        rc, jobs_before = d.repo("jobs")
        rc, out = d.repo("promote", "stable", "unstable", "app", "--with-deps", "--dry-run")
        self.assertEqual(out["state"], "done", out)
        self.assertEqual(out["kind"], "promote_dry_run", out)
        changes = out["result"]["changes"]
        self.assertEqual(changes["added"], ["app 2.0 amd64", "newlib 1.0 amd64"], out)
        self.assertEqual(changes["replaced"], [{"from": "app 1.0 amd64", "to": "app 2.0 amd64"}])
        self.assertEqual(changes["removed"], ["app 1.0 amd64"])
        rc, out = d.repo("pull", "stable", "unstable", "--dry-run")
        self.assertEqual(out["kind"], "pull_dry_run", out)
        self.assertEqual(out["result"]["changes"]["added"],
                         ["app 2.0 amd64", "lonely 1.0 amd64", "newlib 1.0 amd64"], out)
        p = subprocess.run([depot_bin(), "repo", "pull", "stable", "unstable", "--dry-run",
                            "--socket", str(d.socket)], stdout=subprocess.PIPE)
        self.assertEqual(p.returncode, 0)
        lines = p.stdout.decode().splitlines()
        self.assertIn("replace  app 1.0 amd64 -> app 2.0 amd64", lines)
        self.assertIn("add      lonely 1.0 amd64", lines)
        self.assertIn("(dry run: nothing was changed)", lines)
        # Nothing changed: membership, publication, and no mutating job ran.
        self.assertEqual(d.packages("stable"), packages)
        self.assertEqual(self.inrelease("stable"), before)
        rc, jobs = d.repo("jobs")
        new = [j["kind"] for j in jobs if j["id"] > max(j["id"] for j in jobs_before)]
        self.assertTrue(all(k.endswith("_dry_run") for k in new), new)

    def test_base_over_http_and_an_unreadable_base(self):
        d = self.daemon
        d.repo("create", "web", "--base", self.server.base, "--base-dist", DIST)
        rc, out = d.repo("promote", "web", "unstable", "app", "--with-deps")
        self.assertEqual(out["state"], "done", out)
        self.assertEqual(d.packages("web"), {"app": "1.0", "helper": "1.0"})
        dead = "http://127.0.0.1:%d/debian" % closed_port()
        d.repo("create", "dead", "--base", dead, "--base-dist", DIST)
        rc, out = d.repo("promote", "dead", "unstable", "app", "--with-deps", check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn(dead, out["error"])
        self.assertNotIn("unresolved", out["error"])
        self.assertEqual(d.packages("dead"), {})


if __name__ == "__main__":
    unittest.main()
