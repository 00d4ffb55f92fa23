"""Who may write through a gateway: without a token reads work and writes are 401; `read` may
only read (403); `append` may add new paths but not overwrite or delete (403); `full` may do
everything; an unknown token is 401; without --auth-file the gateway is read-only. A gateway
started from a cluster.toml uses every setting in it; a malformed one is refused naming it."""

import os
import subprocess
import unittest

from cluster_harness import CLIENTS, NODE_TOKEN, ClusterMixin, DepotGateway, call
from depot_harness import DepotTestCase, depot_bin


class ClusterAuthLetsWrongWriter(ClusterMixin, DepotTestCase):
    def test_the_role_table(self):
        nodes = [self.start_node("n%d" % i) for i in range(1, 3)]
        gw = self.start_gateway(nodes, 2)
        old = os.urandom(1000)
        st, _, raw = call(gw.port, "PUT", "/pool/old.deb", old, CLIENTS["writer"][0])
        self.assertEqual(st, 201, raw)
        # who -> (GET, PUT new, PUT overwrite, DELETE)
        want = {None: (200, 401, 401, 401),
                "reader": (200, 403, 403, 403),
                "appender": (200, 201, 403, 403),
                "writer": (200, 201, 201, 200)}
        for who, expected in want.items():
            token = CLIENTS[who][0] if who else None
            fresh = "/pool/new-%s.deb" % who
            got = (call(gw.port, "GET", "/pool/old.deb", token=token)[0],
                   call(gw.port, "PUT", fresh, os.urandom(500), token)[0],
                   call(gw.port, "PUT", "/pool/old.deb", os.urandom(700), token)[0])
            st, _, _ = call(gw.port, "DELETE", "/pool/old.deb", token=token)
            self.assertEqual(got + (st,), expected, who)
            if st == 200:
                break
        st, _, _ = call(gw.port, "PUT", "/pool/x.deb", b"abc", "no-such-token")
        self.assertEqual(st, 401)

    def test_without_an_auth_file_the_gateway_is_read_only(self):
        nodes = [self.start_node("n1")]
        gw = self.start_gateway(nodes, 1)
        plain = self.start_gateway(nodes, 1, name="ro")
        plain.stop()
        args = [a for a in plain.args]
        i = args.index("--auth-file")
        del args[i:i + 2]
        plain.args = args
        plain.start()
        st, _, raw = call(plain.port, "PUT", "/pool/y.deb", b"abc", CLIENTS["writer"][0])
        self.assertEqual(st, 403, raw)
        self.assertIn(b"read-only", raw)
        st, _, _ = call(gw.port, "PUT", "/pool/y.deb", b"abc", CLIENTS["writer"][0])
        self.assertEqual(st, 201)
        st, _, body = call(plain.port, "GET", "/pool/y.deb")
        self.assertEqual((st, body), (200, b"abc"))


class ClusterConfigFileIgnored(ClusterMixin, DepotTestCase):
    def test_a_gateway_from_cluster_toml(self):
        """Every setting of cluster.toml is used: nodes, copies, tokens, auth file."""
        nodes = [self.start_node("n%d" % i) for i in range(1, 4)]
        _, client_auth = self.auth_files()
        conf = self.tmp / "cluster.toml"
        conf.write_text('name = "fromfile"\nstate = "%s"\ncopies = 3\nnode_token = "%s"\n'
                        'auth_file = "%s"\ncheck_interval = 0.3\n' % (
                            self.tmp / "toml-state", NODE_TOKEN, client_auth) +
                        "".join('[[node]]\nname = "%s"\nurl = "%s"\n' % (n.name, n.base)
                                for n in nodes))
        gw = DepotGateway(self.tmp / "gw-toml", "--config", conf).start()
        self.addCleanup(gw.stop)
        st, _, raw = call(gw.port, "PUT", "/pool/t.deb", b"toml", CLIENTS["writer"][0])
        self.assertEqual(st, 201, raw + gw.describe().encode())
        self.assertEqual(self.holders_on_disk(nodes, "pool/t.deb"), ["n1", "n2", "n3"])
        st, _, raw = call(gw.port, "GET", "/x", headers={"X-Depot-Via": "fromfile"})
        self.assertEqual(st, 508, raw)
        bad = self.tmp / "bad.toml"
        bad.write_text("copies = [\n")
        out = subprocess.run([depot_bin(), "cluster", "serve", "--config", str(bad)],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("bad.toml", out.stderr)


if __name__ == "__main__":
    unittest.main()
