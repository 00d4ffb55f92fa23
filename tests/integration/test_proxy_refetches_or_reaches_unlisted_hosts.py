"""`depot serve --proxy` is a caching forward proxy that apt (Acquire::http::Proxy), dnf (proxy=)
and a squid (cache_peer ... parent) point at unchanged. It must cache like --upstream: real apt
and dnf clients install/download through it and upstream sends each package once; eight
clients asking for one file at once make exactly one upstream fetch. And it must never reach a
host that is not on --proxy-allow: another port on 127.0.0.1, userinfo tricks, a Host header
naming another host, CONNECT and https:// are refused and the unlisted listener is never
contacted."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from collections import Counter
from pathlib import Path

from apt_harness import AptClient, AptTestCase, mar
from depot_harness import DepotTestCase
from serve_harness import (ServeMixin, fetch, metric, parse_prometheus, raw_exchange,
                           read_responses, status_line)
from yum_harness import DnfClient, YumTestCase, myr


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proxy_metrics(srv):
    return parse_prometheus(fetch(srv.base, "/metrics").body.decode())


class ProxyCase(ServeMixin):
    def start_proxy(self, *extra, name="serve"):
        """depot serve --proxy for the fixture upstream, an empty DIR of its own, access log
        <tmp>/<name>.access.log."""
        host = "127.0.0.1:%d" % self.server.port
        return self.start_serve(self.tmp / (name + "-root"), "--proxy", "--proxy-allow", host,
                                "--access-log", self.tmp / (name + ".access.log"), *extra,
                                name=name)

    def assertLogged(self, text, why="", name="serve"):
        """`text` appears in the access log within 5 s (a line is written once its answer has
        left, which may be after the client got it)."""
        path = self.tmp / (name + ".access.log")
        deadline = time.monotonic() + 5
        while True:
            log = path.read_text() if path.exists() else ""
            if text in log or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertIn(text, log, why)

    def upstream_gets(self):
        return Counter(e["path"] for e in self.server.log() if e["method"] == "GET")


class AptThroughProxy(ProxyCase, AptTestCase):
    def apt_client(self, name, proxy_port, pipeline=10):
        apt = AptClient(self.tmp / name, self.server.base, self.keyring)
        with open(apt.conf, "a") as f:
            f.write('Acquire::http::Proxy "http://127.0.0.1:%d";\n' % proxy_port)
            f.write('Acquire::http::Pipeline-Depth "%d";\n' % pipeline)
        return apt

    def install_through(self, apt, *packages):
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update through the proxy failed:\n%s%s"
                        % (out, self.serve_info()))
        ok, out = apt.install(*packages)
        self.assertTrue(ok, "apt-get install through the proxy failed:\n%s%s"
                        % (out, self.serve_info()))
        for p in packages:
            self.assertEqual(apt.installed().get(p), "1.0", out)

    def test_apt_installs_through_proxy_once_per_blob(self):
        self.build_upstream(self.packages(6))
        srv = self.start_proxy()
        self.server.clear_log()
        self.install_through(self.apt_client("apt1", srv.port), "pkg0001", "pkg0004")
        first = self.upstream_gets()
        self.assertTrue(first, "apt went around the proxy: upstream saw nothing from depot")
        self.install_through(self.apt_client("apt2", srv.port), "pkg0001", "pkg0004")
        both = self.upstream_gets()
        blobs = {p: n for p, n in both.items() if p.endswith(".deb") or "/by-hash/" in p}
        self.assertTrue(any(p.endswith("pkg0001_1.0_amd64.deb") for p in blobs), both)
        self.assertEqual({p: n for p, n in blobs.items() if n > 1}, {},
                         "blobs fetched upstream more than once: %s" % both)
        m = proxy_metrics(srv)
        self.assertGreaterEqual(metric(m, "depot_serve_proxy_requests_total"), 2 * 4)
        cached = Path(srv.root) / ".depot-cache" / "files" / "_proxy" / (
            "127.0.0.1:%d" % self.server.port)
        self.assertTrue((cached / mar.pool_path("pkg0004", "1.0", "amd64")).is_file())
        self.assertLogged("GET http://127.0.0.1:%d/dists/" % self.server.port)

    def test_apt_index_storm_costs_one_revalidation(self):
        """apt sends Cache-Control: max-age=0 on indexes: the proxy revalidates InRelease
        (conditionally) at most once per --proxy-revalidate-after, and never refetches debs."""
        self.build_upstream(self.packages(2))
        srv = self.start_proxy("--proxy-revalidate-after", "60")
        apt = self.apt_client("apt", srv.port)
        self.install_through(apt, "pkg0000")
        self.server.clear_log()
        for _ in range(3):
            ok, out = apt.update()
            self.assertTrue(ok, out)
        self.assertEqual(self.upstream_gets(), Counter(),
                         "max-age=0 within --proxy-revalidate-after went upstream")
        srv2 = self.start_proxy("--proxy-revalidate-after", "0", name="serve-eager")
        apt2 = self.apt_client("apt-eager", srv2.port)
        self.install_through(apt2, "pkg0000")
        self.server.clear_log()
        ok, out = apt2.update()
        self.assertTrue(ok, out)
        gets = self.upstream_gets()
        self.assertIn("/dists/stable/InRelease", gets, "max-age=0 did not revalidate InRelease")
        self.assertFalse([p for p in gets if p.endswith(".deb")], gets)

    def test_apt_through_squid_with_depot_as_parent(self):
        if shutil.which("squid") is None:
            self.skipTest("squid is not installed (scripts/install-deps.sh installs it)")
        self.build_upstream(self.packages(3))
        srv = self.start_proxy()
        squid_port = self.start_squid(srv.port)
        self.server.clear_log()
        self.install_through(self.apt_client("apt-squid", squid_port), "pkg0002")
        self.assertIn("/" + mar.pool_path("pkg0002", "1.0", "amd64"), self.upstream_gets())
        self.assertLogged("pkg0002_1.0_amd64.deb", "squid did not go through depot")
        self.assertGreater(metric(proxy_metrics(srv), "depot_serve_proxy_requests_total"), 0)

    def start_squid(self, parent_port):
        """Debian's squid in the foreground (-N), memory cache only, everything in a temp dir
        that its unprivileged user (proxy, when started as root) may write; stopped by PID."""
        d = Path(tempfile.mkdtemp(prefix="depot-squid-"))
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o777)
        port = free_port()
        (d / "squid.conf").write_text("\n".join([
            "http_port 127.0.0.1:%d" % port,
            "visible_hostname depot-test-squid",
            "pid_filename %s/squid.pid" % d,
            "access_log stdio:%s/access.log" % d,
            "cache_log %s/cache.log" % d,
            "cache_store_log none",
            "coredump_dir %s" % d,
            "cache_mem 16 MB",
            "shutdown_lifetime 0 seconds",
            "cache_peer 127.0.0.1 parent %d 0 no-query no-digest default name=depot"
            % parent_port,
            "cache_peer_access depot allow all",
            "never_direct allow all",
            "http_access allow localhost",
            "http_access deny all",
            ""]))
        out = open(d / "squid.out", "wb")
        proc = subprocess.Popen(["squid", "-N", "-f", str(d / "squid.conf")], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            out.close()
        self.addCleanup(stop)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.1)
        logs = "".join(p.read_text(errors="replace") for p in (d / "squid.out", d / "cache.log")
                       if p.exists())
        self.fail("squid did not start on port %d:\n%s" % (port, logs))


class DnfThroughProxy(ProxyCase, YumTestCase):
    def test_dnf_downloads_through_proxy_once(self):
        self.build_upstream(self.packages(3), compress="gz")
        srv = self.start_proxy()
        self.server.clear_log()
        want = self.upstream_files()
        for name in ("dnf-a", "dnf-b"):
            dnf = DnfClient(self.tmp / name, self.server.base + "/",
                            setopts=["proxy=http://127.0.0.1:%d" % srv.port])
            ok, out = dnf.download("pkg01", "pkg02")
            self.assertTrue(ok, "dnf through the proxy failed:\n%s%s" % (out, self.serve_info()))
            for rpm in dnf.downloaded():
                self.assertEqual(myr.sha256_file(dnf.root / "out" / rpm),
                                 want["Packages/p/" + rpm])
            self.assertEqual(len(dnf.downloaded()), 2)
        gets = self.upstream_gets()
        self.assertTrue(any(p.endswith("repomd.xml") for p in gets), "dnf went around: %s" % gets)
        twice = {p: n for p, n in gets.items() if n > 1 and not p.endswith("repomd.xml")}
        self.assertEqual(twice, {}, "fetched upstream more than once: %s" % gets)
        self.assertLogged("GET http://127.0.0.1:%d/repodata/repomd.xml" % self.server.port)


class ProxyStampedeAndHostiles(ProxyCase, DepotTestCase):
    def test_eight_clients_one_upstream_fetch(self):
        (self.up / "pool").mkdir()
        body = os.urandom(2 << 20)
        (self.up / "pool" / "big_1.0_amd64.deb").write_bytes(body)
        self.server.set_rules([{"glob": "/pool/big_1.0_amd64.deb", "action": "delay",
                                "seconds": 1}])
        srv = self.start_proxy()
        url = "%s/pool/big_1.0_amd64.deb" % self.server.base
        results = [None] * 8

        def one(i):
            results[i] = fetch(srv.base, url, headers={"Proxy-Connection": "Keep-Alive",
                                                       "Cache-Control": "no-cache",
                                                       "Pragma": "no-cache"})
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for r in results:
            self.assertEqual((r.status, r.complete), (200, True), r)
            self.assertEqual(r.body, body)
        self.assertEqual(self.upstream_gets()["/pool/big_1.0_amd64.deb"], 1, self.server.log())
        r = fetch(srv.base, url, headers={"Cache-Control": "no-cache"})  # a blob stays cached
        self.assertEqual(r.header("X-Depot-Cache"), "HIT", r)
        self.assertEqual(self.upstream_gets()["/pool/big_1.0_amd64.deb"], 1)

    def test_index_served_stale_while_upstream_fails(self):
        (self.up / "dists" / "s").mkdir(parents=True)
        (self.up / "dists" / "s" / "InRelease").write_bytes(b"signed root\n")
        srv = self.start_proxy("--proxy-revalidate-after", "0")
        url = "%s/dists/s/InRelease" % self.server.base
        r = fetch(srv.base, url, headers={"Cache-Control": "max-age=0"})
        self.assertEqual((r.status, r.body), (200, b"signed root\n"), r)
        self.server.set_rules([{"glob": "/dists/s/InRelease", "action": "error", "status": 503}])
        time.sleep(1.1)  # past validated_at's second
        self.server.clear_log()
        r = fetch(srv.base, url, headers={"Cache-Control": "max-age=0"})
        self.assertEqual((r.status, r.body), (200, b"signed root\n"), r)
        self.assertEqual(r.header("X-Depot-Stale"), "1", r)
        self.assertGreaterEqual(self.upstream_gets()["/dists/s/InRelease"], 1, "not revalidated")

    def test_pipelined_answers_stay_in_order(self):
        for name in ("a", "b", "c"):
            (self.up / name).write_bytes(name.encode() * (1000 + ord(name)))
        srv = self.start_proxy()
        up = "127.0.0.1:%d" % self.server.port
        req = b"".join(b"GET http://%s/%s HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (up.encode(), n, up.encode()) for n in (b"c", b"a", b"b"))
        got, _ = raw_exchange(srv.port, req + b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
        answers, _ = read_responses(got, ["GET"] * 4)
        self.assertEqual([a.status for a in answers[:3]], [200, 200, 200], got[:500])
        self.assertEqual([a.body[:1] for a in answers[:3]], [b"c", b"a", b"b"])

    def test_unlisted_hosts_are_never_contacted(self):
        (self.up / "ok.txt").write_bytes(b"listed\n")
        trap = socket.socket()
        trap.bind(("127.0.0.1", 0))
        trap.listen(8)
        trap.setblocking(False)
        self.addCleanup(trap.close)
        tp = trap.getsockname()[1]
        srv = self.start_proxy()
        up = self.server.port
        cases = [
            (b"GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (tp, tp), 403),
            (b"GET http://localhost:%d/x HTTP/1.1\r\nHost: localhost:%d\r\n" % (tp, tp), 403),
            (b"GET http://127.0.0.1:%d@127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             % (up, tp, tp), 400),
            (b"GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (up, tp), 400),
            (b"GET http://127.0.0.1%%3a%d/x HTTP/1.1\r\nHost: x\r\n" % tp, 400),
            (b"GET http://[::ffff:127.0.0.1]:%d/x HTTP/1.1\r\nHost: x\r\n" % tp, 403),
            (b"GET http://127.0.0.1:%d/../127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             % (up, tp, up), 400),
            (b"GET http://127.0.0.1:%d/%%2e%%2e/127.0.0.1:%d/x HTTP/1.1\r\n"
             b"Host: 127.0.0.1:%d\r\n" % (up, tp, up), 400),
            (b"GET https://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (up, up), 403),
            (b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (tp, tp), 405),
            (b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (up, up), 405),
        ]
        for req, want in cases:
            with self.subTest(request=req):
                got, _ = raw_exchange(srv.port, req + b"\r\n", timeout=5)
                self.assertEqual(status_line(got)[0], want, got[:400])
                if want == 403 and b"https" not in req:
                    self.assertIn(b"%d" % tp, got, "the refusal does not name the host")
        got, _ = raw_exchange(srv.port, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"CONNECT", got.split(b"\r\n\r\n", 1)[-1], "no clear body for CONNECT")
        # The listed host still works, by absolute-form and by its prefix.
        r = fetch(srv.base, "http://127.0.0.1:%d/ok.txt" % up)
        self.assertEqual((r.status, r.body), (200, b"listed\n"), r)
        r = fetch(srv.base, "/_proxy/127.0.0.1:%d/ok.txt" % up)
        self.assertEqual((r.status, r.body), (200, b"listed\n"), r)
        # A listed host redirecting elsewhere is not followed.
        self.server.set_rules([{"glob": "/redir", "action": "redirect",
                                "location": "http://127.0.0.1:%d/x" % tp}])
        r = fetch(srv.base, "http://127.0.0.1:%d/redir" % up)
        self.assertEqual(r.status, 502, r)
        time.sleep(0.3)
        try:
            conn, _ = trap.accept()
            conn.close()
            self.fail("depot connected to the unlisted listener on port %d" % tp)
        except BlockingIOError:
            pass
        m = proxy_metrics(srv)
        self.assertGreaterEqual(metric(m, "depot_serve_proxy_refused_total", reason="host"), 3)
        self.assertGreaterEqual(metric(m, "depot_serve_proxy_refused_total", reason="connect"), 3)

    def test_without_proxy_only_itself_is_served(self):
        (self.mirror / "m.txt").parent.mkdir(parents=True, exist_ok=True)
        (self.mirror / "m.txt").write_bytes(b"mine\n")
        srv = self.start_serve(self.mirror)
        r = fetch(srv.base, "http://127.0.0.1:%d/m.txt" % srv.port)
        self.assertEqual((r.status, r.body), (200, b"mine\n"), r)
        r = fetch(srv.base, "http://127.0.0.1:%d/ok.txt" % self.server.port)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.server.log(), [])


if __name__ == "__main__":
    unittest.main()
