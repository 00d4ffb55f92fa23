"""An apt mirror written into a cluster (`depot mirror apt UP cluster+http://GW/debian`) must
keep the mirror's consistency rule: a file counts as committed only when the gateway stored
every copy it wants (R=2 of 3 nodes), the signed root last. Real apt-get installs through the
gateway, keeps working while the mirror resyncs to a new generation, and every file the
Release names is on exactly two nodes. A cluster that can store only one copy (two nodes down)
fails the run naming the file and the copies, and no node gets the new root; writing without
DEPOT_TOKEN fails naming it."""

import json
import os
import re
import subprocess
import time
import unittest

from apt_harness import DIST, AptClient, AptTestCase
from cluster_harness import CLIENTS, ClusterMixin, call
from depot_harness import Result, depot_bin

WRITER = CLIENTS["writer"][0]


class ClusterMirrorBreaksConsistency(ClusterMixin, AptTestCase):
    def setUp(self):
        super().setUp()
        self.nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        self.gw = self.start_gateway(self.nodes, 2, check_interval="0.2")
        self.dest = "cluster+http://127.0.0.1:%d/debian" % self.gw.port
        self.state = self.tmp / "mirror-state"

    def cluster_args(self, *extra):
        args = self.mirror_apt_args("--state", self.state, *extra)
        args[args.index(str(self.mirror))] = self.dest
        return args

    def env(self, token=WRITER):
        env = dict(os.environ)
        env.pop("DEPOT_TOKEN", None)
        if token:
            env["DEPOT_TOKEN"] = token
        return env

    def mirror_cluster(self, *extra, token=WRITER, timeout=180):
        cmd = self.cluster_args(*extra)
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout, env=self.env(token))
        return Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)

    def gw_client(self, name="client"):
        return AptClient(self.tmp / name, "%s/debian" % self.gw.base, self.keyring)

    def release_files(self):
        """Paths (below debian/) the mirror's InRelease names, with their by-hash copies, the
        root's three files and every pool file the Packages index names."""
        st, _, body = call(self.gw.port, "GET", "/debian/dists/%s/InRelease" % DIST)
        self.assertEqual(st, 200, body)
        text = body.decode()
        files = ["dists/%s/%s" % (DIST, n) for n in ("InRelease", "Release", "Release.gpg")]
        by_hash = "Acquire-By-Hash: yes" in text
        sha = text.split("SHA256:\n", 1)[1]
        for line in sha.splitlines():
            m = re.match(r"^ ([0-9a-f]{64})\s+\d+\s+(\S+)$", line)
            if not m:
                break
            digest, name = m.groups()
            if not (self.up / "dists" / DIST / name).is_file():
                continue  # listed for a variant the upstream does not carry
            files.append("dists/%s/%s" % (DIST, name))
            if by_hash:
                files.append("dists/%s/%s/by-hash/SHA256/%s"
                             % (DIST, name.rsplit("/", 1)[0], digest))
        st, _, packages = call(self.gw.port, "GET",
                               "/debian/dists/%s/main/binary-amd64/Packages" % DIST)
        self.assertEqual(st, 200, packages)
        files += re.findall(r"^Filename: (\S+)$", packages.decode(), re.M)
        return files

    def assertEveryFileOnTwoNodes(self, res=None):
        files = self.release_files()
        wrong = {f: h for f in files
                 for h in [self.holders_on_disk(self.nodes, "debian/" + f)] if len(h) != 2}
        self.assertFalse(wrong, "files not on exactly 2 nodes: %s%s" % (wrong, res or ""))
        self.assertGreater(len(files), 8)

    def test_apt_installs_through_gateway_during_resync(self):
        self.build_upstream(self.packages(6))
        res = self.mirror_cluster()
        self.assertExit(res, 0)
        self.assertEveryFileOnTwoNodes(res)
        apt = self.gw_client()
        ok, out = apt.update()
        self.assertTrue(ok, out + self.serve_info())
        ok, out = apt.install("pkg0003")
        self.assertTrue(ok, out + self.serve_info())
        self.assertEqual(apt.installed().get("pkg0003"), "1.0")

        again = self.mirror_cluster("--log-format", "json")
        self.assertExit(again, 0)
        self.assertIn('"files_downloaded":0', again.out.replace(" ", ""), again)

        # Generation 2 while apt-get keeps updating and installing through the gateway.
        self.build_upstream(self.packages(12, version="2.0"))
        self.server.set_rules([{"glob": "/pool/*", "action": "delay", "seconds": 0.25}])
        log = open(self.tmp / "resync.log", "wb")
        proc = subprocess.Popen(self.cluster_args("--concurrency", "2", "--threads", "1"),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=self.env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        failures, runs, after = [], 0, 0
        deadline = time.monotonic() + 120
        while after < 2 and time.monotonic() < deadline:
            if proc.poll() is not None:
                after += 1
            ok, out = apt.update()
            if ok:
                ok, out = apt.install("pkg0001")
            runs += 1
            if not ok:
                failures.append(out)
        proc.wait(timeout=60)
        log.close()
        resync = (self.tmp / "resync.log").read_text()
        self.assertEqual(proc.returncode, 0, resync)
        self.assertFalse(failures, "apt-get failed %d of %d times during the resync; first:\n%s%s"
                         % (len(failures), runs, failures[:1], self.serve_info()))
        self.assertGreaterEqual(runs - after, 2, "the resync was too fast to overlap apt-get")
        print("\napt-get update+install through the gateway: %d runs during the resync, "
              "%d after" % (runs - after, after))
        self.server.clear_rules()
        ok, out = apt.install("pkg0011")
        self.assertTrue(ok, out + self.serve_info())
        self.assertEqual(apt.installed().get("pkg0011"), "2.0")
        self.assertEveryFileOnTwoNodes(resync)

    def test_fewer_copies_fail_the_run_and_keep_the_root(self):
        self.build_upstream(self.packages(4))
        no_token = self.mirror_cluster(token=None)
        self.assertExit(no_token, 5)
        self.assertIn("DEPOT_TOKEN", no_token.err)
        self.assertIn("401", no_token.err)

        res = self.mirror_cluster()
        self.assertExit(res, 0)
        root = "debian/dists/%s/InRelease" % DIST
        old = {n.name: (n.dir / root).read_bytes() for n in self.nodes
               if (n.dir / root).is_file()}
        self.assertEqual(len(old), 2)

        self.build_upstream(self.packages(6, version="2.0"))
        for n in self.nodes[:2]:
            self.kill9(n)
        self.wait_for("the gateway to see two nodes down", lambda: sum(
            not v["up"] for v in json.loads(
                call(self.gw.port, "GET", "/_depot/v1/cluster/status")[2])["nodes"]) == 2)
        short = self.mirror_cluster()
        self.assertNotEqual(short.rc, 0, short)
        print("\none copy possible: exit %d, %s" % (short.rc, [
            l for l in (short.err + short.out).splitlines() if "copies" in l][:1]))
        self.assertIn("only 1 of 2 copies stored", short.err + short.out, short)
        self.assertRegex(short.err + short.out, r"pool/main/\S+\.deb|dists/", short)
        for n in self.nodes:
            p = n.dir / root
            if p.is_file():
                self.assertEqual(p.read_bytes(), old.get(n.name), "%s got a new root" % n.name)


if __name__ == "__main__":
    unittest.main()
