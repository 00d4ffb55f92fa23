"""Idle connections to the control socket must not stop `depot daemon`. Each connection used to
get its own thread, with no cap and no idle timeout: 2,000 idle connections held 2,000 threads,
and once pthread_create failed the daemon aborted. Now, with 2,000 connections open, the daemon
keeps a small, bounded number of threads, answers /status, imports and publishes a package that
apt installs, closes every connection that sends no complete request within --idle-timeout
(silent ones, half-sent headers, half-sent bodies) and not before, and stays alive. At
--max-connections it makes room by closing the connection idle longest, so a flood of idle
connections cannot lock a client out."""

import os
import resource
import select
import socket
import time
import unittest

from publish_harness import PublishTestCase, control_request, proc_status

CONNECTIONS = 2000
IDLE = 10  # seconds, --idle-timeout; time enough for the checks made while connections are open
MAX_THREADS = 16  # the daemon runs about 9 with --workers 2, however many connections are open
REPO = "main"


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE (inherited by the daemon) to `want` if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft if soft != resource.RLIM_INFINITY else want
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


class IdleConnectionsTestCase(PublishTestCase):
    max_connections = None

    def daemon_args(self):
        args = ["--idle-timeout", str(IDLE)]
        if self.max_connections:
            args += ["--max-connections", str(self.max_connections)]
        return args

    def setUp(self):
        if raise_nofile(CONNECTIONS + 1024) < CONNECTIONS + 512:
            self.skipTest("RLIMIT_NOFILE too low for %d connections" % CONNECTIONS)
        super().setUp()
        self.conns = []
        self.addCleanup(self.close_all)

    def close_all(self):
        for s in self.conns:
            s.close()
        self.conns = []

    def open_connections(self, n):
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(self.daemon.socket))
            self.conns.append(s)

    def pid(self):
        return self.daemon.proc.pid

    def threads(self):
        return proc_status(self.pid())["Threads"]

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid()))

    def assertAlive(self):
        self.assertIsNone(self.daemon.proc.poll(), "the daemon died:\n" + self.daemon.describe())
        status, body = control_request(self.daemon.socket, "GET", "/status")
        self.assertEqual(status, 200, body)

    def assertThreadsBounded(self, when):
        n = self.threads()
        self.assertLessEqual(n, MAX_THREADS, "%d daemon threads %s" % (n, when))

    def wait_closed(self, socks, deadline):
        """Waits until the daemon closed every socket in `socks` (EOF or reset); returns
        {socket: monotonic time it was seen closed}; fails at `deadline`."""
        closed, poller = {}, select.poll()
        by_fd = {s.fileno(): s for s in socks}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        while len(closed) < len(by_fd):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("%d of %d connections still open" % (len(by_fd) - len(closed),
                                                                len(by_fd)))
            for fd, _ in poller.poll(min(left, 1.0) * 1000):
                s = by_fd[fd]
                try:
                    data = s.recv(4096)
                except ConnectionError:
                    data = b""
                if not data:
                    closed[s] = time.monotonic()
                    poller.unregister(fd)
        return closed

    def import_and_install(self):
        self.daemon.repo("create", REPO)
        rc, job = self.daemon.repo("import", REPO, str(self.deb("app", "1.0")))
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(self.assertPublishedTreeComplete(REPO), {"app": "1.0"})
        self.assertAptInstalls(self.client(REPO), {"app": "1.0"})


class IdleConnectionsStopDaemon(IdleConnectionsTestCase):
    max_connections = CONNECTIONS + 500  # every connection of this test is held

    def test_idle_connections_hold_no_threads_and_time_out(self):
        self.assertThreadsBounded("at start")
        opened = time.monotonic()
        self.open_connections(CONNECTIONS)
        # Connections that start a request and stall: half a header, half a body.
        stalled = []
        for head in (b"GET /status HTTP/1.1\r\nHost: de",
                     b"POST /repos HTTP/1.1\r\nHost: depot\r\nContent-Length: 100\r\n\r\n{\"na"):
            for _ in range(10):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(self.daemon.socket))
                s.sendall(head)
                stalled.append(s)
        self.conns += stalled
        deadline = time.monotonic() + 10
        while self.fds() < CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(self.fds(), CONNECTIONS, "the daemon did not accept them all")
        self.assertThreadsBounded("with %d connections open" % CONNECTIONS)
        print("\n%d connections open: %d daemon threads, %d fds"
              % (len(self.conns), self.threads(), self.fds()))

        self.assertAlive()
        self.import_and_install()
        self.assertThreadsBounded("after an import with %d connections open" % CONNECTIONS)
        self.assertGreaterEqual(self.fds(), CONNECTIONS, "connections closed before the timeout")
        self.assertLess(time.monotonic() - opened, IDLE - 1, "checks too slow for this test")

        closed = self.wait_closed(self.conns, opened + IDLE + 15)
        first = min(closed.values()) - opened
        print("closed by the daemon %.1f to %.1f s after opening (--idle-timeout %d)"
              % (first, max(closed.values()) - opened, IDLE))
        self.assertGreaterEqual(first, IDLE - 1, "closed %.1fs after opening" % first)
        self.assertAlive()
        self.assertThreadsBounded("at the end")


class ConnectionCapMakesRoom(IdleConnectionsTestCase):
    max_connections = 64

    def test_idle_flood_over_the_cap_does_not_lock_clients_out(self):
        base = self.fds()
        self.open_connections(CONNECTIONS)
        # The oldest idle connections are closed to make room for newer ones.
        evicted = self.wait_closed(self.conns[:CONNECTIONS - self.max_connections],
                                   time.monotonic() + 20)
        self.assertEqual(len(evicted), CONNECTIONS - self.max_connections)
        self.assertLessEqual(self.fds(), base + self.max_connections + 4)  # + transient ones
        self.assertThreadsBounded("with %d connections opened" % CONNECTIONS)
        self.assertAlive()
        self.import_and_install()
        self.assertAlive()


if __name__ == "__main__":
    unittest.main()
