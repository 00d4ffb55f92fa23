"""A trickling upstream must not wedge the cache. An upstream answering at 2 bytes per second
is given up once it stays below --upstream-min-rate for --stall-timeout; while every upstream
worker is busy, a healthy miss gets 503 with Retry-After after --upstream-queue-timeout instead
of waiting forever; and clients that give up are let go at once: their sockets are closed (no
CLOSE-WAIT), and downloads no one waits for any more are cancelled, so a thousand abandoned
requests leave neither descriptors nor downloads behind and the server keeps answering."""

import os
import socket
import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, fetch, metric, parse_prometheus

TRICKLE = "/pool/trickle-*"


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def close_wait_count(port):
    """Sockets of 127.0.0.1:`port` in CLOSE-WAIT (state 08 in /proc/net/tcp)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state = parts[1], parts[3]
                    if state == "08" and int(local.rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n


class TricklingUpstreamWedgesCache(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        pool = self.up / "pool"
        pool.mkdir(parents=True)
        for i in range(1000):
            (pool / ("trickle-%04d.deb" % i)).write_bytes(b"t" * 4096)
        (pool / "healthy.deb").write_bytes(b"h" * 1000)
        self.server.set_rules([{"glob": TRICKLE, "action": "slow", "bps": 2}])

    def serve(self, *extra):
        return self.start_serve(self.mirror, "--upstream", "/up=" + self.server.base,
                                "--upstream-workers", "2", *extra)

    def metrics(self, srv):
        return parse_prometheus(fetch(srv.base, "/metrics").body.decode())

    def test_a_trickle_below_the_minimum_rate_is_given_up(self):
        srv = self.serve("--upstream-min-rate", "1k", "--stall-timeout", "3")
        t0 = time.monotonic()
        r = fetch(srv.base, "/up/pool/trickle-0000.deb", timeout=30)
        took = time.monotonic() - t0
        self.assertFalse(r.status == 200 and r.complete, "a 2 B/s body was served: %r" % r)
        self.assertLess(took, 10, "the trickle was not given up within the window: %.1f s" % took)
        self.assertTrue(srv.alive(), self.serve_info())

    def test_a_healthy_miss_behind_busy_workers_gets_503_with_retry_after(self):
        srv = self.serve("--stall-timeout", "60", "--upstream-queue-timeout", "2")
        socks = []
        for i in range(2):  # occupy both workers with trickles, clients still waiting
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"GET /up/pool/trickle-%04d.deb HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            socks.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        r = fetch(srv.base, "/up/pool/healthy.deb", timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 503, "%r%s" % (r, self.serve_info()))
        self.assertTrue(r.header("Retry-After", "").isdigit(), r)
        self.assertLess(took, 6, "the queued miss waited %.1f s" % took)
        for s in socks:
            s.close()
        self.assertEqual(metric(self.metrics(srv), "depot_serve_upstream_queue_timeouts_total"),
                         1)

    def test_abandoned_requests_leave_no_descriptors_or_downloads(self):
        srv = self.serve("--stall-timeout", "600", "--upstream-queue-timeout", "600")
        pid = srv.proc.pid
        fetch(srv.base, "/metrics")
        baseline = fd_count(pid)
        socks = []
        for i in range(1000):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"GET /up/pool/trickle-%04d.deb HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            socks.append(s)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = self.metrics(srv)
            if metric(m, "depot_serve_upstream_inflight") + 0 >= 1000:
                break
            time.sleep(0.2)
        busy = fd_count(pid)
        self.assertGreater(busy, baseline + 1000, "the requests did not reach the server")
        for s in socks:  # every client gives up
            s.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = self.metrics(srv)
            if (metric(m, "depot_serve_upstream_inflight") == 0 and
                    fd_count(pid) <= baseline + 10):
                break
            time.sleep(0.2)
        m = self.metrics(srv)
        self.assertEqual(metric(m, "depot_serve_upstream_inflight"), 0,
                         "downloads no one waits for kept running")
        self.assertLessEqual(fd_count(pid), baseline + 10,
                             "descriptors left: %d (baseline %d, busy %d)"
                             % (fd_count(pid), baseline, busy))
        # The /metrics connections just closed may take a moment to be noticed.
        deadline = time.monotonic() + 5
        while close_wait_count(srv.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(close_wait_count(srv.port), 0, "sockets left in CLOSE-WAIT")
        self.assertGreaterEqual(metric(m, "depot_serve_client_aborts_total"), 1000)
        self.assertGreaterEqual(metric(m, "depot_serve_upstream_cancelled_total"), 1000)
        # The server still answers, and upstream still works for a new client.
        self.server.clear_rules()
        r = fetch(srv.base, "/up/pool/healthy.deb", timeout=30)
        self.assertEqual(r.status, 200, "%r%s" % (r, self.serve_info()))
        self.assertTrue(srv.alive(), self.serve_info())


if __name__ == "__main__":
    unittest.main()
