#!/usr/bin/env python3
"""demo_cluster.py — a cluster: three storage nodes (`depot serve DIR --node NAME`), a gateway
in front of them keeping 2 copies of every file (`depot cluster serve --copies 2`), a signed
apt archive mirrored through it (`depot mirror apt ... cluster+http://GATEWAY/debian`), the real
apt-get updating and downloading through the gateway; then one node is killed with -9, apt-get
is served all the same, and the gateway's repair makes the lost copies again on the other nodes.
Run by `make demo`; exits non-zero on any failure.
  DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from apt_harness import AptClient, serve_demo_archive  # noqa: E402
from cluster_harness import DepotGateway  # noqa: E402
from serve_harness import DepotServer  # noqa: E402

NODE_TOKEN, WRITE_TOKEN = "demo-node-token", "demo-write-token"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def fail(what, *servers):
    sys.exit("demo-cluster: FAILED: " + what + "".join(s.describe() for s in servers))


def status(gw):
    with urllib.request.urlopen(gw.base + "/_depot/v1/cluster/status", timeout=10) as r:
        return json.loads(r.read())


def start_cluster(tmp):
    (tmp / "node-auth").write_text("gateway:%s:full\n" % sha(NODE_TOKEN))
    (tmp / "client-auth").write_text("demo:%s:full\n" % sha(WRITE_TOKEN))
    nodes = []
    for name in ("n1", "n2", "n3"):
        (tmp / ("node-" + name)).mkdir()
        node = DepotServer(tmp / ("node-" + name), tmp / ("run-" + name), "--node", name,
                           "--auth-file", tmp / "node-auth").start()
        node.name = name
        nodes.append(node)
    args = ["--name", "gw", "--state", tmp / "gw-state", "--copies", "2", "--node-token",
            NODE_TOKEN, "--auth-file", tmp / "client-auth", "--check-interval", "0.3",
            "--down-grace", "2"]
    for n in nodes:
        args += ["--node", "%s=%s" % (n.name, n.base)]
    gw = DepotGateway(tmp / "gw", *args).start()
    print("demo-cluster: $ depot cluster serve --copies 2 --node n1=%s --node n2=%s --node n3=%s"
          % tuple(n.base for n in nodes))
    return nodes, gw


def mirror(depot, upstream, gw, keyring, tmp):
    dest = "cluster+http://127.0.0.1:%d/debian" % gw.port
    cmd = [depot, "mirror", "apt", upstream.base, dest, "--state", str(tmp / "mirror-state"),
           "--dist", "stable", "--component", "main", "--arch", "amd64", "--keyring",
           str(keyring), "--log-format", "json"]
    print("demo-cluster: $ DEPOT_TOKEN=... depot mirror apt %s %s" % (upstream.base, dest))
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, DEPOT_TOKEN=WRITE_TOKEN))
    if p.returncode != 0:
        fail("depot mirror exited %d\n%s%s" % (p.returncode, p.stdout, p.stderr), gw)
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    print("demo-cluster:   %d files, each stored on 2 nodes, in %.2fs"
          % (summary["files_total"], time.monotonic() - t0))


def apt_round(apt, count, gw, when):
    ok, out = apt.update()
    if not ok:
        fail("apt-get update through the gateway " + when + "\n" + out, gw)
    ok, out = apt.download("demo000", "demo%03d" % (count - 1))
    if not ok:
        fail("apt-get download through the gateway " + when + "\n" + out, gw)
    print("demo-cluster:   apt-get update and download %s: OK (%s)"
          % (when, " ".join(apt.downloaded())))


def kill(node):
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait()
    node.proc = None
    print("demo-cluster: node %s killed with -9" % node.name)


def wait_repair(gw):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        s = status(gw)
        r = s["repair"]
        if r["passes"] > 0 and r["copied"] > 0 and r["short_paths"] == 0:
            print("demo-cluster:   repair: %d copies made again (%d bytes) on the other nodes; "
                  "%d paths, every one with 2 live copies" % (r["copied"], r["copied_bytes"],
                                                               s["paths"]))
            return
        time.sleep(0.2)
    fail("repair did not restore 2 copies within 60 s: %s" % json.dumps(status(gw)), gw)


def main():
    depot = os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")
    with tempfile.TemporaryDirectory(prefix="depot-demo-cluster.") as tmp:
        tmp = Path(tmp)
        upstream, keyring, count = serve_demo_archive(tmp)
        nodes, gw = [], None
        try:
            nodes, gw = start_cluster(tmp)
            mirror(depot, upstream, gw, keyring, tmp)
            apt = AptClient(tmp / "apt", gw.base + "/debian", keyring)
            apt_round(apt, count, gw, "through the gateway")
            kill(nodes[0])
            apt2 = AptClient(tmp / "apt2", gw.base + "/debian", keyring)
            apt_round(apt2, count, gw, "with n1 dead")
            wait_repair(gw)
            print("demo-cluster: summary: %d packages mirrored into a 3-node cluster with 2 copies "
                  "each; apt-get served through the gateway before and after a node died; "
                  "lost copies repaired" % count)
        finally:
            for n in nodes:
                n.stop()
            if gw:
                gw.stop()
            upstream.stop()


if __name__ == "__main__":
    main()
