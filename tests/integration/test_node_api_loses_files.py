"""A storage node (`depot serve DIR --node NAME --auth-file F --capacity SIZE`) must never lose,
half-write or overfill: a PUT becomes visible only complete and with the sha256 it declared
(409 otherwise, nothing changes), two uploads in flight cannot together pass --capacity (507),
a client that stops mid-body or a node killed with -9 mid-upload leaves no half file and no
temporary file behind and the old version intact, and the inventory (paged by seq) always says
exactly what the directory holds. Writes need a full token; without --auth-file the API is
read-only; plain GET of DIR keeps working."""

import http.client
import json
import os
import signal
import socket
import threading
import time
import unittest
from pathlib import Path

from depot_harness import DepotTestCase
from serve_harness import DepotServer, ServeMixin, call, fetch, sha

TOKENS = {"reader": ("r-token", "read"), "appender": ("a-token", "append"),
          "gateway": ("g-token", "full")}
IDLE = 2
CAPACITY = 8 << 20


def start_put(port, path, size, digest, token="g-token", expect=False):
    """A socket that sent a PUT header declaring `size` bytes and nothing of the body; with
    `expect`, asking for 100 Continue first (as curl does for large bodies)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(("PUT /_depot/v1/files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               "X-Depot-Sha256: %s\r\nAuthorization: Bearer %s\r\n%s\r\n"
               % (path, size, digest, token,
                  "Expect: 100-continue\r\n" if expect else "")).encode())
    return s


def read_status(s, timeout=30):
    s.settimeout(timeout)
    got = b""
    try:
        while b"\r\n\r\n" not in got:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    return int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else None


class NodeApiLosesFiles(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        self.auth = self.tmp / "auth"
        self.auth.write_text("# node tokens\n" + "".join(
            "%s:%s:%s\n" % (name, sha(tok.encode()), role)
            for name, (tok, role) in TOKENS.items()))
        (self.mirror / "pool").mkdir(parents=True)
        self.pre = os.urandom(1000)
        (self.mirror / "pool" / "pre.deb").write_bytes(self.pre)
        self.node = self.start_node()

    def start_node(self, *extra, root=None, name="node"):
        return self.start_serve(root or self.mirror, "--node", "n1", "--auth-file", self.auth,
                                "--capacity", str(CAPACITY), "--idle-timeout", str(IDLE),
                                "--threads", "2", *extra, name=name)

    def put(self, path, body, token="g-token", **kw):
        return call(self.node.port, "PUT", "/_depot/v1/files/" + path, body, token, **kw)

    def tmp_files(self):
        return sorted(os.listdir(self.mirror / ".depot-node" / "tmp"))

    def inventory(self, limit=1000, token="r-token"):
        """The node's view rebuilt from its inventory pages: {path: sha256}, and the pages."""
        view, since, pages = {}, 0, []
        while True:
            st, _, body = call(self.node.port, "GET", "/_depot/v1/inventory?since=%d&limit=%d"
                               % (since, limit), token=token)
            self.assertEqual(st, 200, body)
            page = json.loads(body)
            pages.append(page)
            for c in page["changes"]:
                self.assertGreater(c["seq"], since)
                since = c["seq"]
                if c["op"] == "put":
                    view[c["path"]] = c["sha256"]
                else:
                    view.pop(c["path"], None)
            self.assertEqual(page["last"], since)
            if not page["more"]:
                return view, pages

    def tree(self):
        out = {}
        for p in self.mirror.rglob("*"):
            rel = p.relative_to(self.mirror).as_posix()
            if p.is_file() and not rel.startswith(".depot"):
                out[rel] = sha(p.read_bytes())
        return out

    def status(self):
        st, _, body = call(self.node.port, "GET", "/_depot/v1/status", token="r-token")
        self.assertEqual(st, 200, body)
        return json.loads(body)

    def assertConsistent(self):
        view, _ = self.inventory()
        self.assertEqual(view, self.tree())
        self.assertEqual(self.tmp_files(), [])

    def test_put_head_get_delete_round_trip(self):
        v1, v2 = os.urandom(300_000), os.urandom(200_000)
        st, _, body = self.put("pool/main/a.deb", v1)
        self.assertEqual(st, 201, body)
        self.assertEqual(json.loads(body)["sha256"], sha(v1))
        st, h, _ = call(self.node.port, "HEAD", "/_depot/v1/files/pool/main/a.deb",
                        token="r-token")
        self.assertEqual((st, h["Content-Length"], h["X-Depot-Sha256"]),
                         (200, str(len(v1)), sha(v1)))
        r = fetch(self.node.port, "/pool/main/a.deb")
        self.assertEqual((r.status, sha(r.body)), (200, sha(v1)))
        st, _, body = self.put("pool/main/a.deb", v2)  # overwrite with a full token
        self.assertEqual(st, 201, body)
        r = fetch(self.node.port, "/pool/main/a.deb")  # at once: no stale open file
        self.assertEqual((r.status, sha(r.body)), (200, sha(v2)))
        st, _, _ = call(self.node.port, "DELETE", "/_depot/v1/files/pool/main/a.deb",
                        token="g-token")
        self.assertEqual(st, 200)
        self.assertEqual(fetch(self.node.port, "/pool/main/a.deb").status, 404)
        self.assertEqual(call(self.node.port, "HEAD", "/_depot/v1/files/pool/main/a.deb",
                              token="r-token")[0], 404)
        self.assertEqual(call(self.node.port, "DELETE", "/_depot/v1/files/pool/main/a.deb",
                              token="g-token")[0], 404)
        self.assertFalse((self.mirror / "pool" / "main").exists())
        r = fetch(self.node.port, "/pool/pre.deb")  # the tree it started with is still served
        self.assertEqual((r.status, r.body), (200, self.pre))
        self.assertConsistent()

    def test_auth_table(self):
        self.assertEqual(self.put("pool/old.deb", b"old")[0], 201)
        want = {None: (401, 401, 401, 401), "bad-token": (401, 401, 401, 401),
                "r-token": (200, 403, 403, 403), "a-token": (200, 403, 403, 403),
                "g-token": (200, 201, 201, 200)}
        for i, (token, expect) in enumerate(want.items()):
            got = (call(self.node.port, "GET", "/_depot/v1/inventory", token=token)[0],
                   self.put("pool/new%d.deb" % i, b"new", token=token)[0],
                   self.put("pool/old.deb", b"old2", token=token)[0],
                   call(self.node.port, "DELETE", "/_depot/v1/files/pool/old.deb",
                        token=token)[0])
            self.assertEqual(got, expect, "token %s" % token)
            if got[3] == 200:
                self.assertEqual(self.put("pool/old.deb", b"old")[0], 201)
        st, h, body = call(self.node.port, "GET", "/_depot/v1/status")
        self.assertEqual(st, 401)
        self.assertTrue(h["WWW-Authenticate"].startswith("Bearer"), h)
        st, _, body = self.put("pool/x.deb", b"x", token="a-token")
        self.assertIn(b"needs a full token", body)
        self.assertEqual(fetch(self.node.port, "/pool/old.deb").body, b"old")  # plain GET: open

        # Without --auth-file the API reads but never writes.
        other = self.tmp / "open"
        other.mkdir()
        srv = self.start_serve(other, "--node", "n2", name="open-node")
        st, _, _ = call(srv.port, "GET", "/_depot/v1/status")
        self.assertEqual(st, 200)
        st, _, body = call(srv.port, "PUT", "/_depot/v1/files/a", b"a", token="g-token")
        self.assertEqual(st, 403)
        self.assertIn(b"read-only", body)
        self.assertEqual(call(srv.port, "DELETE", "/_depot/v1/files/a", token="g-token")[0], 403)
        self.assertEqual(os.listdir(other), [".depot-node"])

    def test_bad_uploads_change_nothing(self):
        self.assertEqual(self.put("pool/keep.deb", b"original")[0], 201)
        st, _, body = self.put("pool/keep.deb", b"tampered", headers={"X-Depot-Sha256":
                                                                       sha(b"other")})
        self.assertEqual(st, 409, body)
        self.assertIn(b"sha256", body)
        st, _, _ = self.put("pool/new.deb", b"tampered", headers={"X-Depot-Sha256": sha(b"x")})
        self.assertEqual(st, 409)
        self.assertEqual((self.mirror / "pool" / "keep.deb").read_bytes(), b"original")
        self.assertFalse((self.mirror / "pool" / "new.deb").exists())
        st, _, body = self.put("pool/nosha.deb", b"x", headers={"X-Depot-Sha256": ""})
        self.assertEqual(st, 400, body)
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=10)
        conn.putrequest("PUT", "/_depot/v1/files/pool/chunked.deb")
        for k, v in (("Transfer-Encoding", "chunked"), ("X-Depot-Sha256", sha(b"abc")),
                     ("Authorization", "Bearer g-token")):
            conn.putheader(k, v)
        conn.endheaders(b"3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(conn.getresponse().status, 411)
        conn.close()
        for hostile in ("../outside", "pool/../../outside", "%2e%2e/outside", "/etc/passwd",
                        ".depot-node/node.db", "pool/.depot/x", "a%00b", "_depot/v1/status",
                        "pool/a%2fb", "pool/", "a\\b"):
            st, _, body = self.put(hostile, b"evil")
            self.assertEqual(st, 400, "%s: %s" % (hostile, body))
        self.assertEqual(os.listdir(self.outside), [])
        self.assertConsistent()

    def test_concurrent_uploads_never_overfill(self):
        size = 5 << 20  # two of them do not fit in 8 MiB
        bodies = [os.urandom(size), os.urandom(size)]
        socks = [start_put(self.node.port, "pool/c%d.bin" % i, size, sha(b), expect=True)
                 for i, b in enumerate(bodies)]
        peak = [0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                s = self.status()
                peak[0] = max(peak[0], s["used"] + s["inflight_bytes"])
                time.sleep(0.02)
        watcher = threading.Thread(target=watch)
        watcher.start()
        statuses = [None, None]

        def send(i):
            first = read_status(socks[i])  # 100 Continue, or the refusal
            if first != 100:
                statuses[i] = first
                return
            for off in range(0, size, 1 << 18):
                socks[i].sendall(bodies[i][off:off + (1 << 18)])
                time.sleep(0.005)
            statuses[i] = read_status(socks[i])
        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        watcher.join()
        for s in socks:
            s.close()
        self.assertEqual(sorted(statuses), [201, 507], statuses)
        self.assertLessEqual(peak[0], CAPACITY)
        s = self.status()
        self.assertEqual((s["used"], s["inflight_bytes"], s["files"]), (size + 1000, 0, 2))
        st, _, body = self.put("pool/more.bin", os.urandom(4 << 20))
        self.assertEqual(st, 507, body)
        self.assertIn(b"n1 is full", body)
        self.assertConsistent()

    def test_client_hanging_mid_body_is_cut(self):
        old = os.urandom(50_000)
        self.assertEqual(self.put("pool/keep.deb", old)[0], 201)
        new = os.urandom(1 << 20)
        socks = [start_put(self.node.port, "pool/keep.deb", len(new), sha(new)),
                 start_put(self.node.port, "pool/fresh.deb", len(new), sha(new))]
        for s in socks:
            s.sendall(new[:300_000])
        time.sleep(0.5)
        self.assertEqual(len(self.tmp_files()), 2)
        self.assertEqual(self.status()["inflight_bytes"], 2 * len(new))
        t0 = time.monotonic()
        for s in socks:
            s.settimeout(IDLE * 4)
            self.assertEqual(s.recv(100), b"", "the server should close a hanging upload")
            s.close()
        self.assertLess(time.monotonic() - t0, IDLE * 3)
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual((self.mirror / "pool" / "keep.deb").read_bytes(), old)
        self.assertFalse((self.mirror / "pool" / "fresh.deb").exists())
        self.assertEqual(self.status()["inflight_bytes"], 0)
        self.assertConsistent()

    def test_kill_9_during_upload_then_restart(self):
        old = os.urandom(40_000)
        self.assertEqual(self.put("pool/keep.deb", old)[0], 201)
        self.assertEqual(self.put("pool/doomed.deb", b"doomed")[0], 201)
        new = os.urandom(2 << 20)
        socks = [start_put(self.node.port, "pool/keep.deb", len(new), sha(new)),
                 start_put(self.node.port, "pool/half.deb", len(new), sha(new))]
        for s in socks:
            s.sendall(new[:1 << 20])
        deadline = time.monotonic() + 10
        while len(self.tmp_files()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.tmp_files()), 2)
        os.kill(self.node.proc.pid, signal.SIGKILL)
        self.node.proc.wait(timeout=10)
        self.node.proc = None
        for s in socks:
            s.close()
        # While it was down: one file appears, one disappears behind its back.
        (self.mirror / "pool" / "doomed.deb").unlink()
        (self.mirror / "dists").mkdir()
        (self.mirror / "dists" / "Release").write_bytes(b"release")
        self.node.start()
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual((self.mirror / "pool" / "keep.deb").read_bytes(), old)
        self.assertFalse((self.mirror / "pool" / "half.deb").exists())
        self.assertIn("node_reconciled", self.node.stderr())
        view, _ = self.inventory()
        self.assertEqual(view, self.tree())
        self.assertEqual(set(view), {"pool/pre.deb", "pool/keep.deb", "dists/Release"})
        s = self.status()
        self.assertEqual((s["files"], s["inflight_bytes"]), (3, 0))
        self.assertEqual(s["used"], 1000 + len(old) + len(b"release"))

    def test_inventory_paging(self):
        for i in range(25):
            self.assertEqual(self.put("pool/p%02d.deb" % i, b"x%d" % i)[0], 201)
        for i in range(0, 25, 5):
            self.assertEqual(call(self.node.port, "DELETE", "/_depot/v1/files/pool/p%02d.deb" % i,
                                  token="g-token")[0], 200)
        self.assertEqual(self.put("pool/p01.deb", b"rewritten")[0], 201)
        view, pages = self.inventory(limit=7)
        self.assertEqual(view, self.tree())
        self.assertEqual(len(pages), 4)  # 26 paths: the latest change of each
        self.assertTrue(all(p["more"] for p in pages[:-1]))
        self.assertEqual(pages[-1]["changes"][-1]["path"], "pool/p01.deb")
        last = pages[-1]["last"]
        st, _, body = call(self.node.port, "GET", "/_depot/v1/inventory?since=%d" % last,
                           token="r-token")
        self.assertEqual(json.loads(body), {"node": "n1", "changes": [], "last": last,
                                            "more": False})
        self.assertEqual(call(self.node.port, "GET", "/_depot/v1/inventory?since=x",
                              token="r-token")[0], 400)
        self.node.stop()
        self.node.start()  # nothing changed: the inventory stays as it was
        view2, pages2 = self.inventory(limit=7)
        self.assertEqual((view2, pages2[-1]["last"]), (view, last))


if __name__ == "__main__":
    unittest.main()
