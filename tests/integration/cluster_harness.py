"""Clusters for the integration tests: storage nodes (`depot serve DIR --node NAME`) and
gateways (`depot cluster serve`) as child processes on loopback, stopped by PID at cleanup."""

import json
import signal
import time

from depot_harness import depot_bin
from serve_harness import DepotServer, ServeMixin, call, sha  # noqa: F401 (re-exported)

NODE_TOKEN = "node-secret"
# Client tokens of a gateway's auth file: name -> (token, role).
CLIENTS = {"reader": ("r-token", "read"), "appender": ("a-token", "append"),
           "writer": ("w-token", "full")}


class DepotGateway(DepotServer):
    """One `depot cluster serve` child process."""

    def __init__(self, workdir, *args):
        super().__init__(workdir, workdir, *args)

    def command(self):
        return [depot_bin(), "cluster", "serve", "--listen", "127.0.0.1:%d" % self.listen_port,
                "--port-file", str(self.port_file)] + self.args


class ClusterMixin(ServeMixin):
    """For DepotTestCase subclasses: nodes and gateways registered for cleanup and dumped
    when a test fails."""

    def auth_files(self):
        nodes = self.tmp / "node-auth"
        nodes.write_text("gateway:%s:full\n" % sha(NODE_TOKEN.encode()))
        clients = self.tmp / "client-auth"
        # A gateway in front of this one writes with its node token.
        clients.write_text("".join("%s:%s:%s\n" % (n, sha(t.encode()), r)
                                   for n, (t, r) in CLIENTS.items()) +
                           "outer-gateway:%s:full\n" % sha(NODE_TOKEN.encode()))
        return nodes, clients

    def start_node(self, name, capacity=None):
        node_auth, _ = self.auth_files()
        args = ["--node", name, "--auth-file", node_auth, "--threads", "2"]
        if capacity:
            args += ["--capacity", str(capacity)]
        srv = self.start_serve(self.tmp / ("root-" + name), *args, name="node-" + name)
        srv.name = name
        srv.dir = self.tmp / ("root-" + name)
        return srv

    def start_gateway(self, nodes, copies, *extra, name="gw", check_interval="0.3"):
        """A gateway in front of `nodes` (DepotServer nodes, or (name, url) pairs)."""
        _, client_auth = self.auth_files()
        args = ["--name", name, "--state", self.tmp / ("state-" + name), "--copies", str(copies),
                "--node-token", NODE_TOKEN, "--auth-file", client_auth,
                "--check-interval", check_interval]
        for n in nodes:
            nm, url = (n.name, n.base) if hasattr(n, "base") else n
            args += ["--node", "%s=%s" % (nm, url)]
        gw = DepotGateway(self.tmp / ("gw-" + name), *args, *extra).start()
        self.addCleanup(gw.stop)
        self._serves = getattr(self, "_serves", []) + [gw]
        gw.name = name
        return gw

    def kill9(self, srv):
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.proc = None

    def restart(self, srv):
        srv.listen_port = srv.port
        srv.start()

    def holders_on_disk(self, nodes, path):
        return sorted(n.name for n in nodes if (n.dir / path).is_file())

    def whereis(self, gw, path):
        st, _, body = call(gw.port, "GET", "/_depot/v1/cluster/whereis?path=" + path)
        self.assertEqual(st, 200, body)
        return json.loads(body)

    def wait_for(self, what, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail("timed out waiting for " + what + self.serve_info())
