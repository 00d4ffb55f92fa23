"""`depot serve` must never answer with a file outside its directory, nor with its own state,
and must stand up to malformed and slow clients: "..", encoded dots and slashes, NUL,
backslashes, absolute-form targets and a symlink pointing out all get 4xx and never the secret
bytes; .depot* paths are 404; an oversized request line gets 414, oversized headers 431,
garbage 400; other methods 405; a client sending its headers a byte a second is disconnected
after --idle-timeout; and the server keeps serving afterwards."""

import os
import socket
import time
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, fetch, raw_exchange, status_line

SECRET = b"TOP-SECRET-" + os.urandom(8).hex().encode() + b"\n"


class ServePathEscapesRoot(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        self.root = self.ws / "root"
        (self.root / "a" / "b").mkdir(parents=True)
        (self.root / "a" / "b" / "ok.txt").write_bytes(b"fine\n")
        (self.root / "hello.txt").write_bytes(b"hello\n")
        (self.ws / "secret").write_bytes(SECRET)
        (self.root / "escape").symlink_to(self.ws / "secret")
        (self.root / "a" / "rel-escape").symlink_to("../../secret")
        (self.root / "updir").symlink_to(self.ws)
        (self.root / "inside").symlink_to("hello.txt")
        (self.root / ".depot").mkdir()
        (self.root / ".depot" / "state.db").write_bytes(SECRET)
        self.srv = self.start_serve(self.root, "--idle-timeout", "2")
        (self.root / ".depot-cache").mkdir(exist_ok=True)
        (self.root / ".depot-cache" / "planted").write_bytes(SECRET)

    def raw(self, target, method="GET", extra=b""):
        req = (method.encode() + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + extra + b"Connection: close\r\n\r\n")
        got, err = raw_exchange(self.srv.port, req)
        return got, err

    def assertRefused(self, target, codes=range(400, 500)):
        got, err = self.raw(target)
        st, line = status_line(got)
        self.assertNotIn(SECRET.strip(), got, "secret served for %r" % target)
        self.assertIn(st, codes, "%r -> %r (error %r)%s" % (target, line, err, self.serve_info()))
        return st

    def test_sane_requests_work(self):
        self.assertEqual(fetch(self.srv.base, "/hello.txt").body, b"hello\n")
        self.assertEqual(fetch(self.srv.base, "/a/b/ok.txt").body, b"fine\n")
        self.assertEqual(fetch(self.srv.base, "/a//b/ok.txt").body, b"fine\n")
        r = fetch(self.srv.base, "/inside")
        self.assertEqual((r.status, r.body), (200, b"hello\n"), "a symlink inside the root")

    def test_traversal_refused(self):
        cases = [
            b"/../secret", b"/../../secret", b"/a/../../secret", b"/a/b/../../../secret",
            b"/%2e%2e/secret", b"/%2E%2E/secret", b"/.%2e/secret", b"/a/..%2fsecret",
            b"/a/..%2Fsecret", b"/a%2f..%2f..%2fsecret", b"/%2e%2e%2fsecret",
            b"/%252e%252e/secret", b"/a/b/ok.txt%00", b"/secret%00.txt", b"/..\\secret",
            b"/a\\..\\..\\secret", b"/%5c..%5csecret", b"/./hello.txt/../../secret",
            b"http://127.0.0.1/../secret", b"http://127.0.0.1/hello.txt",
            b"http://evil.example/secret", b"//etc/passwd", b"secret", b"*",
            b"/escape", b"/a/rel-escape", b"/updir/secret",
        ]
        for target in cases:
            with self.subTest(target=target):
                self.assertRefused(target)
        for target in (b"/..%2fsecret", b"/a/%2e%2e/%2e%2e/secret"):
            with self.subTest(target=target):
                self.assertEqual(self.assertRefused(target), 400)
        # A raw NUL byte and control bytes in the request line.
        for target in (b"/hello.txt\x00", b"/a/\x01/../../secret"):
            with self.subTest(target=target):
                self.assertRefused(target)

    def test_private_state_is_404(self):
        for target in (b"/.depot/state.db", b"/.depot/", b"/.depot-cache/planted",
                       b"/.depot-cache/", b"/%2edepot/state.db", b"/a/../.depot/state.db",
                       b"/.depot-cache/../.depot/state.db"):
            with self.subTest(target=target):
                self.assertRefused(target, codes=(400, 404))
        for target in (b"/.depot/state.db", b"/.depot-cache/planted", b"/%2edepot/state.db"):
            with self.subTest(exact=target):
                self.assertRefused(target, codes=(404,))

    def test_oversized_and_malformed(self):
        st = self.assertRefused(b"/" + b"a" * (128 * 1024))
        self.assertEqual(st, 414)
        big_headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(128))
        got, err = self.raw(b"/hello.txt", extra=big_headers)
        self.assertEqual(status_line(got)[0], 431, "%r (error %r)" % (got[:200], err))
        got, err = self.raw(b"/hello.txt", extra=b"X-One: " + b"q" * (128 * 1024) + b"\r\n")
        self.assertEqual(status_line(got)[0], 431, "%r (error %r)" % (got[:200], err))

        for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64)
                        + b"\r\n\r\n",
                        b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                        b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n"):
            with self.subTest(garbage=garbage[:40]):
                got, err = raw_exchange(self.srv.port, garbage, timeout=5)
                st, line = status_line(got)
                self.assertIn(st, (400, 505) if b"9.9" in garbage else (400,),
                              "%r -> %r (error %r)" % (garbage[:40], line, err))
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                got, _ = self.raw(b"/hello.txt", method=method,
                                  extra=b"Content-Length: 0\r\n")
                self.assertEqual(status_line(got)[0], 405, got[:200])
        self.assertEqual(fetch(self.srv.base, "/hello.txt").body, b"hello\n",
                         "not serving after the bad requests")
        self.assertTrue(self.srv.alive(), self.serve_info())

    def test_slowloris_disconnected(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        t0 = time.monotonic()
        closed_after = None
        while time.monotonic() - t0 < 20:
            try:
                s.sendall(b"x")
            except OSError:
                closed_after = time.monotonic() - t0
                break
            s.settimeout(1.0)
            try:
                b = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                closed_after = time.monotonic() - t0
                break
            # EOF, or an error response (e.g. 408) followed by the close
            self.assertNotIn(b"hello", b)
            closed_after = time.monotonic() - t0
            break
        self.assertIsNotNone(closed_after, "a client sending a header byte per second was "
                             "still connected after 20 s with --idle-timeout 2")
        # A connection that sends nothing at all is closed too.
        s2 = socket.create_connection(("127.0.0.1", self.srv.port), timeout=20)
        self.addCleanup(s2.close)
        try:
            b = s2.recv(4096)
        except socket.timeout:
            self.fail("an idle connection was still open after 20 s with --idle-timeout 2")
        except OSError:
            b = b""
        self.assertNotIn(b"hello", b)
        self.assertEqual(fetch(self.srv.base, "/hello.txt").body, b"hello\n")


if __name__ == "__main__":
    unittest.main()
