"""Hostile input on the control socket of `depot daemon`. Fields of the wrong JSON type and bad
query parameters used to be 500s (or silently defaulted); they are 400s that name the field.
Error messages quote at most a short, escaped prefix of what the client sent. A body over the cap
is refused by its Content-Length before it is read (413). Twenty concurrent 13 MB bodies used to
take the daemon to 2.4 GB of RSS and leave 1.7 GB held; bodies are now read and parsed a few at
a time within a byte budget, so the peak stays small and the memory is given back. A body the
size of a large import (tens of thousands of paths) is still accepted. The socket is created
0660 in place, with no temporary file left beside it."""

import json
import os
import socket
import stat
import threading
import time
import unittest

from publish_harness import PublishTestCase, control_request, proc_status

REPO = "main"
BODY = 13 << 20  # bytes per body in the concurrent-bodies scenario
PARALLEL = 20
# Peak and final RSS growth allowed for PARALLEL concurrent BODY-sized requests (KiB). The old
# daemon grew by 2.4 to 2.9 GB and kept 0.4 to 1.7 GB. Most of the peak now is the import jobs
# themselves (one at a time, each reading ~59,000 listed files) and their answers.
MAX_PEAK_GROWTH = 384 << 10
# Held after the bodies: 17 to 50 MiB on a quiet machine, up to 77 MiB in a loaded full ctest
# run (glibc arenas of the pool threads); the old daemon kept 400 to 1700 MiB.
MAX_HELD_GROWTH = 128 << 10
# Under ASan the allocator keeps freed blocks in quarantine and adds redzones and shadow memory,
# so RSS says nothing about the daemon's own buffering there; only the answers are checked.
SANITIZED = os.environ.get("DEPOT_SANITIZED") == "1"


def error_of(body):
    return json.loads(body)["error"]


def padded_files(size):
    """An import body of about `size` bytes listing missing .deb paths of ~220 bytes each."""
    n = size // 224
    return json.dumps({"files": ["/nonexistent/%s/pkg%06d_1.0_amd64.deb" % ("d" * 180, i)
                                 for i in range(n)]})


class HostileControlInputBreaksDaemon(PublishTestCase):
    def setUp(self):
        super().setUp()
        self.daemon.repo("create", REPO)

    def call(self, method, target, body=b"", **kw):
        return control_request(self.daemon.socket, method, target, body, **kw)

    def assertAlive(self):
        self.assertIsNone(self.daemon.proc.poll(), "the daemon died:\n" + self.daemon.describe())
        self.assertEqual(self.call("GET", "/status")[0], 200)

    def test_wrong_types_are_400_naming_the_field(self):
        cases = [
            ("POST", "/repos", {"name": 5}, "name"),
            ("POST", "/repos", {"name": "ok", "wait": "yes"}, "wait"),
            ("POST", "/repos", {}, "name"),
            ("POST", "/repos/main/import", {"files": "a.deb"}, "files"),
            ("POST", "/repos/main/import", {"files": ["a.deb", 7]}, "files"),
            ("POST", "/repos/main/pull", {"from": ["x"]}, "from"),
            ("POST", "/repos/main/promote", {"from": "x", "packages": ["a"], "with_deps": 1},
             "with_deps"),
            ("POST", "/repos/main/snapshots", {"name": {}}, "name"),
            ("POST", "/repos/main/rollback", {"snapshot": None}, "snapshot"),
            ("POST", "/gc", {"dry_run": "no"}, "dry_run"),
            ("POST", "/repos/main/publish", {"colour": "blue"}, "colour"),
            ("GET", "/jobs?limit=abc", None, "limit"),
            ("GET", "/jobs?limit=-1", None, "limit"),
            ("GET", "/jobs?state=sleeping", None, "state"),
            ("GET", "/jobs/abc", None, "abc"),
        ]
        for method, target, body, field in cases:
            raw = b"" if body is None else json.dumps(body).encode()
            status, out = self.call(method, target, raw)
            self.assertEqual(status, 400, "%s %s %s: %s" % (method, target, raw, out))
            self.assertIn(field, error_of(out), "%s %s %s" % (method, target, raw))
        for body in (b"[1,2]", b"{\"name\":", b"\xff\xfe"):
            status, out = self.call("POST", "/repos", body)
            self.assertEqual(status, 400, out)
        self.assertAlive()

    def test_messages_quote_a_short_escaped_prefix(self):
        long_name = "\x1b[31m" + "A" * 100000
        for method, target, body in (
                ("POST", "/repos", json.dumps({"name": long_name})),
                ("GET", "/" + "x" * 10000, b""),
                ("GET", "/jobs?state=" + "s" * 10000, b""),
                ("GET", "/repos/" + "r" * 10000 + "/packages", b"")):
            status, out = self.call(method, target, body)
            self.assertIn(status, (400, 404), out[:200])
            message = error_of(out)
            self.assertLess(len(message), 200, message[:300])
            self.assertNotIn("\x1b", message)
        self.assertAlive()

    def test_oversized_body_refused_before_it_is_read(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(str(self.daemon.socket))
        s.sendall(b"POST /repos/main/import HTTP/1.1\r\nHost: depot\r\n"
                  b"Content-Length: 1000000000\r\n\r\n{\"files\":[")
        answer = s.recv(4096)
        s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer)
        self.assertAlive()

    def test_concurrent_large_bodies_leave_rss_small(self):
        pid = self.daemon.proc.pid
        base = proc_status(pid)["VmRSS"]
        import_body = padded_files(BODY)
        kinds = [
            ("/repos/main/import", import_body, 422),  # a large import: accepted, job fails
            ("/repos/main/import", '{"files":[' + "0," * (BODY // 2) + "0]}", 400),
            ("/repos", json.dumps({"name": "n" * BODY}), 400),
            ("/repos/main/promote",
             json.dumps({"from": "x", "packages": ["p" * 14] * (BODY // 18)}), 400),
        ]
        results = [None] * PARALLEL
        start = threading.Barrier(PARALLEL)

        def send(i):
            target, body, _ = kinds[i % len(kinds)]
            start.wait()
            try:
                results[i] = self.call("POST", target, body, timeout=600)
            except OSError as e:
                results[i] = (None, str(e).encode())

        threads = [threading.Thread(target=send, args=(i,)) for i in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        # The daemon gives freed pages back (malloc_trim) on a pool thread after large bodies and
        # jobs; on a loaded machine (a full ctest run) that can take seconds, so RSS is read until it settles.
        deadline = time.monotonic() + 15
        while True:
            time.sleep(0.5)
            st = proc_status(pid)
            peak, held = st["VmHWM"] - base, st["VmRSS"] - base
            if held < MAX_HELD_GROWTH or time.monotonic() > deadline:
                break
        print("\nRSS at start %d KiB, peak +%d KiB, after +%d KiB" % (base, peak, held))
        for i, (status, out) in enumerate(results):
            self.assertEqual(status, kinds[i % len(kinds)][2], out[:300])
        self.assertAlive()
        if SANITIZED:
            return
        self.assertLess(peak, MAX_PEAK_GROWTH, "peak RSS growth %d KiB" % peak)
        self.assertLess(held, MAX_HELD_GROWTH, "RSS still held %d KiB" % held)

    def test_socket_created_0660_in_place(self):
        mode = self.daemon.socket.lstat().st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o660)
        self.assertEqual(sorted(p.name for p in self.daemon.socket.parent.iterdir()
                                if not p.name.endswith(".log")), ["depot.sock"])


if __name__ == "__main__":
    unittest.main()
