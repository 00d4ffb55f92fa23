"""A client that is reading is not idle: a steady slow reader (20 KiB/s) keeps its download
for as long as it keeps reading, even with --send-timeout far shorter than the transfer, and
gets every byte. Only a client that takes no byte for --send-timeout, or fewer than
--min-send-rate bytes per second over that window, is cut off (counted in /metrics)."""

import hashlib
import os
import socket
import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, fetch, metric, parse_prometheus

SIZE = 32 << 20
REL = "pool/big.deb"


class SlowReaderCutOff(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        data = os.urandom(1 << 20) * (SIZE >> 20)
        p = self.mirror / REL
        p.parent.mkdir(parents=True)
        p.write_bytes(data)
        self.sha = hashlib.sha256(data).hexdigest()
        # The server sees what the client's kernel acknowledges: on loopback a reader at
        # 20 KiB/s reopens its window a 64 KiB segment at a time, every ~3 s.
        self.srv = self.start_serve(self.mirror, "--idle-timeout", "2", "--send-timeout", "5",
                                    "--min-send-rate", "1k")

    def open_download(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=30)
        s.sendall(b"GET /" + REL.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            b = s.recv(1)
            self.assertTrue(b, "closed before the header ended")
            head += b
        self.assertIn(b" 200 ", head.split(b"\r\n", 1)[0])
        return s

    def read_paced(self, s, rate, seconds, h):
        """Reads at `rate` bytes/s for `seconds`; returns bytes read, or -1 at EOF."""
        got, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            b = s.recv(min(4096, rate // 10 or 1))
            if not b:
                return -1
            h.update(b)
            got += len(b)
            due = start + got / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        return got

    def read_rest(self, s, h, total):
        while total < SIZE:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            total += len(b)
        return total

    def cut_count(self):
        m = parse_prometheus(fetch(self.srv.base, "/metrics").body.decode())
        return metric(m, "depot_serve_slow_clients_cut_total")

    def test_a_steady_slow_reader_gets_every_byte(self):
        s = self.open_download()
        h = hashlib.sha256()
        got = self.read_paced(s, 20 * 1024, 12, h)
        self.assertGreater(got, 0, "a client reading 20 KiB/s was cut off")
        total = self.read_rest(s, h, got)
        s.close()
        self.assertEqual(total, SIZE, "download cut short")
        self.assertEqual(h.hexdigest(), self.sha)
        self.assertEqual(self.cut_count(), 0)

    def test_a_client_that_stops_reading_is_cut(self):
        s = self.open_download()
        s.recv(4096)
        time.sleep(8)  # takes nothing for longer than --send-timeout
        total = self.read_rest(s, hashlib.sha256(), 4096)
        s.close()
        self.assertLess(total, SIZE, "a client that stopped reading kept its connection")
        self.assertEqual(self.cut_count(), 1)

    def test_a_trickle_below_the_minimum_rate_is_cut(self):
        s = self.open_download()
        got = self.read_paced(s, 100, 14, hashlib.sha256())
        total = self.read_rest(s, hashlib.sha256(), max(got, 0))
        s.close()
        self.assertLess(total, SIZE, "a 100 B/s reader kept its connection")
        self.assertEqual(self.cut_count(), 1)


if __name__ == "__main__":
    unittest.main()
