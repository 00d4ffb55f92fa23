"""50 clients asking at once for the same uncached 200 MiB file through `depot serve` must
cost exactly one upstream request: the upstream is slow (a few seconds for the file), every
client gets the complete, identical bytes, one answer is the MISS that started the download
and the 49 others are COALESCED, and every client has its first byte before any client has its
last (so before the upstream download ended: followers stream the growing file)."""

import hashlib
import http.client
import os
import threading
import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin

CLIENTS = 50
SIZE = 200 << 20
BPS = 60 << 20        # upstream pace: about 3.3 s for the file
REL = "pool/main/b/big/big_1.0_amd64.deb"


def make_big_file(path, size):
    """Random-looking bytes fast: one random block, a counter stamped into every copy."""
    block = bytearray(os.urandom(1 << 20))
    h = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for i in range(size // len(block)):
            block[0:8] = i.to_bytes(8, "little")
            f.write(block)
            h.update(block)
    return h.hexdigest()


class Client(threading.Thread):
    def __init__(self, port, path, barrier):
        super().__init__(daemon=True)
        self.port, self.path, self.barrier = port, path, barrier
        self.status = self.cache = self.error = None
        self.length = 0
        self.sha = None
        self.t_first = self.t_done = None

    def run(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.connect()
            self.barrier.wait(timeout=30)
            conn.request("GET", self.path)
            r = conn.getresponse()
            self.status = r.status
            self.cache = r.getheader("X-Depot-Cache")
            h = hashlib.sha256()
            buf = bytearray(1 << 20)
            mv = memoryview(buf)
            while True:
                n = r.readinto(mv)
                if not n:
                    break
                if self.t_first is None:
                    self.t_first = time.monotonic()
                h.update(mv[:n])
                self.length += n
            self.t_done = time.monotonic()
            self.sha = h.hexdigest()
            conn.close()
        except Exception as e:  # reported by the test
            self.error = e


class StampedeHitsUpstreamManyTimes(ServeMixin, DepotTestCase):
    def test_fifty_clients_one_upstream_request(self):
        want = make_big_file(self.up / REL, SIZE)
        self.server.set_rules([{"glob": "/" + REL, "action": "slow", "bps": BPS}])
        srv = self.start_serve(self.mirror, "--upstream", "/debian=" + self.server.base)
        self.server.clear_log()

        barrier = threading.Barrier(CLIENTS)
        clients = [Client(srv.port, "/debian/" + REL, barrier) for _ in range(CLIENTS)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=180)
        self.assertFalse([c for c in clients if c.is_alive()], "clients still reading after 180 s")

        log = self.server.log()
        ups = [e for e in log if e["path"] == "/" + REL]
        self.assertEqual(len(ups), 1, "upstream requests for the file: %s" % ups)
        self.assertEqual(ups[0]["method"], "GET", ups)

        errors = [(i, c.error) for i, c in enumerate(clients) if c.error]
        self.assertEqual(errors, [], "clients failed%s" % self.serve_info())
        bad = [(i, c.status, c.length) for i, c in enumerate(clients)
               if c.status != 200 or c.length != SIZE or c.sha != want]
        self.assertEqual(bad, [], "clients without the complete, right body (index, status, "
                         "bytes)")

        outcomes = sorted(str(c.cache) for c in clients)
        self.assertEqual(outcomes.count("MISS"), 1, "X-Depot-Cache values: %s" % outcomes)
        self.assertEqual(outcomes.count("COALESCED"), CLIENTS - 1,
                         "X-Depot-Cache values: %s" % outcomes)

        first_done = min(c.t_done for c in clients)
        late = [(i, round(c.t_first - first_done, 3)) for i, c in enumerate(clients)
                if c.t_first >= first_done]
        self.assertEqual(late, [], "clients whose first byte came only after a client had the "
                         "whole file (waited for the download instead of streaming it); "
                         "(index, seconds after the first completion)")

    def test_ranges_while_downloading(self):
        """A resuming client (Range) attached to a running download gets 206 with exactly the
        bytes it asked for, including the file's last byte once the download is verified."""
        size = 16 << 20
        make_big_file(self.up / REL, size)
        data = (self.up / REL).read_bytes()
        self.server.set_rules([{"glob": "/" + REL, "action": "slow", "bps": 8 << 20}])
        srv = self.start_serve(self.mirror, "--upstream", "/debian=" + self.server.base)
        self.server.clear_log()
        leader = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        leader.request("GET", "/debian/" + REL)
        lr = leader.getresponse()
        self.assertEqual(lr.status, 200)
        lr.read(1024)
        for first, last in ((100, 199), (size - 1000, size - 1), (5 << 20, None)):
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            spec = "bytes=%d-%s" % (first, "" if last is None else last)
            conn.request("GET", "/debian/" + REL, headers={"Range": spec})
            r = conn.getresponse()
            body = r.read()
            end = size - 1 if last is None else last
            self.assertEqual(r.status, 206, spec)
            self.assertEqual(r.getheader("Content-Range"), "bytes %d-%d/%d" % (first, end, size))
            self.assertEqual(body, data[first:end + 1], spec)
            conn.close()
        self.assertEqual(len(lr.read()), size - 1024)
        leader.close()
        ups = [e for e in self.server.log() if e["path"] == "/" + REL]
        self.assertEqual(len(ups), 1, "upstream requests for the file: %s" % ups)


if __name__ == "__main__":
    unittest.main()
