"""depot run: one process serves a site's trees and runs its mirror jobs on schedules.

Three conda jobs against fixture upstreams (one fine, one whose upstream fails, one slow):
status.json must show success, failed (with the failure's reason) and syncing as they happen,
/metrics must carry the per-job series, `depot ctl` must list and control the jobs, SIGHUP must
add and remove jobs, SIGTERM in the middle of the slow job must leave its tree consistent and
the next start must converge, and a config with two jobs on one directory must be refused at
load. With a [publish] table the same process hosts the publish daemon on the same control
socket, and apt-get installs what it published from the site's server. An apt job writes
Debian's trace file, served, and rewritten (not removed as stale) by the next run. Under
systemd (NOTIFY_SOCKET) depot run says READY, STATUS, WATCHDOG, RELOADING and STOPPING.
"""

import json
import os
import signal
import socket
import time
import unittest

import subprocess

from apt_harness import AptClient, serve_demo_archive
from depot_harness import depot_bin, mcc
from site_harness import SiteCase, job_toml

import make_apt_repo as mar  # noqa: E402

# tunasync's "never" (Go's zero time.Time): internal/status_web.go formats it so.
GO_ZERO, GO_ZERO_TS = "0001-01-01 00:00:00 +0000", -62135596800


class SiteRunTest(SiteCase):
    def test_status_follows_jobs_and_a_stop_leaves_trees_consistent(self):
        self.server.set_rules([
            {"glob": "/broken/*", "action": "error", "status": 500},
            {"glob": "/slow/noarch/*.conda", "action": "slow", "bps": 200},
            {"glob": "/slow/noarch/*.tar.bz2", "action": "slow", "bps": 200},
        ])
        self.site_config([job_toml("good", self.upstream("good")),
                          job_toml("broken", self.upstream("broken")),
                          job_toml("slow", self.upstream("slow"))])
        self.start_site()
        st = self.wait_status({"good": "success", "broken": "failed", "slow": "syncing"})

        # tunasync's fields, and depot's own.
        good, broken = st["good"], st["broken"]
        for key in ("name", "status", "last_update", "last_update_ts", "last_started",
                    "last_started_ts", "last_ended", "last_ended_ts", "next_schedule",
                    "next_schedule_ts", "upstream", "size", "is_master"):
            self.assertIn(key, good)
        self.assertGreater(good["last_update_ts"], 0)
        self.assertAlmostEqual(good["next_schedule_ts"] - good["last_started_ts"], 3600, delta=2)
        self.assertEqual(good["exit_code"], 0)
        self.assertGreater(good["size_bytes"], 0)
        self.assertEqual(len(good["runs"]), 1)
        self.assertEqual(broken["exit_code"], 3)
        self.assertIn("/broken/noarch/", broken["error"])
        self.assertIn("500", broken["error"])
        # Never happened: Go's zero time, as tunasync writes it (mirror-web reads these).
        self.assertEqual(broken["last_update_ts"], GO_ZERO_TS)
        self.assertEqual(broken["last_update"], GO_ZERO)
        slow = st["slow"]  # syncing: no next run yet, as tunasync says while a job syncs
        self.assertEqual((slow["next_schedule"], slow["next_schedule_ts"]), (GO_ZERO, GO_ZERO_TS))
        self.assertGreater(slow["last_started_ts"], 0)

        # The tree is served by the same process, and the page and metrics are there.
        self.assertEqual(self.get("/good/repodata.json")[0], 200)
        code, page = self.get("/_depot/")
        self.assertEqual(code, 200)
        self.assertIn(b"status.json", page)
        metrics = self.get("/metrics")[1].decode()
        self.assertIn('depot_job_status{job="broken",status="failed"} 1', metrics)
        self.assertIn('depot_job_status{job="slow",status="syncing"} 1', metrics)
        self.assertIn('depot_job_runs_total{job="good",result="success"} 1', metrics)
        self.assertIn("depot_serve_requests_total", metrics)

        # depot ctl: list, logs, start of a running job refused.
        res = self.ctl("list")
        self.assertExit(res, 0)
        self.assertRegex(res.out, r"broken\s+failed")
        listed = json.loads(self.ctl("list", "--json").out)
        self.assertEqual({j["name"] for j in listed}, {"good", "broken", "slow"})
        res = self.ctl("logs", "good")
        self.assertExit(res, 0)
        self.assertIn("site.run_started", res.out)
        self.assertExit(self.ctl("start", "slow"), 1)
        self.check_ctl_messages()

        # SIGTERM in the middle of the slow job: a clean stop, nothing half-published.
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.stderr())
        self.proc = None
        self.log.close()
        slow_dir = self.data / "slow"
        self.assertFalse((slow_dir / "repodata.json").exists(),
                         "a root was published before every package arrived")

        # The next start resumes the cut-off run and converges.
        self.server.clear_rules()
        self.start_site()
        st = self.wait_status({"slow": "success"})
        self.assertEqual([r["result"] for r in st["slow"]["runs"]], ["cancelled", "success"])
        self.assertIn("stopping", st["slow"]["runs"][0]["error"])
        want = mcc.expected_files(str(self.up), "slow", "noarch")
        got = self.tree(slow_dir)
        self.assertEqual({n: got.get(n) for n in want}, want)

    def check_ctl_messages(self):
        """ctl's refusals: what is wrong, exit 2 for the command line, JSON with --json."""
        res = self.ctl("start", "nope")
        self.assertExit(res, 2)
        self.assertIn("the running site has no job named 'nope'", res.err)
        self.assertIn("nor has %s" % self.config, res.err)
        res = self.ctl("start", "../x")
        self.assertExit(res, 2)
        self.assertIn("'../x' is not a job name", res.err)
        self.assertNotIn("required", res.err)
        res = self.ctl("start")
        self.assertExit(res, 2)
        self.assertIn("NAME is required", res.err)
        for op in ("list", "reload"):
            res = self.ctl(op, "extra")
            self.assertExit(res, 2)
            self.assertIn("unexpected argument 'extra'", res.err)
        for args, code, says in ((("start", "nope", "--json"), 2, "no job named 'nope'"),
                                 (("start", "../x", "--json"), 2, "not a job name"),
                                 (("start", "slow", "--json"), 1, "slow is running")):
            res = self.ctl(*args)
            self.assertExit(res, code)
            self.assertIn(says, json.loads(res.out)["error"], res)
            self.assertEqual(res.err, "", "with --json the error is only the JSON object")
        # The socket: --socket, else --config's, else $DEPOT_SOCKET (as `depot repo`).
        sock = self.data / ".depot-site" / "control.sock"
        dead = self.tmp / "dead.sock"

        def ctl_env(env, *args):
            p = subprocess.run([depot_bin(), "ctl", *args], capture_output=True, text=True,
                               timeout=60, env=dict(os.environ, **env))
            return p.returncode, p.stdout, p.stderr

        code, out, err = ctl_env({"DEPOT_SOCKET": str(sock)}, "list", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual({j["name"] for j in json.loads(out)}, {"good", "broken", "slow"})
        code, out, err = ctl_env({"DEPOT_SOCKET": str(dead)}, "list")
        self.assertEqual(code, 5, out + err)
        self.assertIn(str(dead), err)
        self.assertIn("DEPOT_SOCKET", err, "the hint names what ctl reads")
        code, out, err = ctl_env({"DEPOT_SOCKET": str(dead)}, "--config", str(self.config),
                                 "list")  # --config wins over the environment
        self.assertEqual(code, 0, err)
        code, out, err = ctl_env({}, "--socket", str(dead), "list", "--json")
        self.assertEqual(code, 5)
        self.assertIn(str(dead), json.loads(out)["error"])

    def test_ctl_list_shows_a_job_waiting_for_a_slot_as_queued(self):
        self.server.set_rules([{"glob": "/%s/noarch/*.%s" % (c, ext), "action": "slow", "bps": 200}
                               for c in ("slow", "later") for ext in ("conda", "tar.bz2")])
        self.site_config([job_toml("slow", self.upstream("slow")),
                          job_toml("later", self.upstream("later"))])
        self.config.write_text(self.config.read_text().replace("max_concurrent = 3",
                                                               "max_concurrent = 1"))
        self.start_site()
        deadline = time.monotonic() + 30
        while True:
            st = self.status()
            waiting = [n for n, j in st.items() if j["queued"]]
            if waiting and any(j["status"] == "syncing" for j in st.values()):
                break
            self.assertLess(time.monotonic(), deadline, "no job queued: %s" % st)
            time.sleep(0.1)
        res = self.ctl("list")
        self.assertExit(res, 0)
        self.assertRegex(res.out, r"(?m)^%s\s+queued\s" % waiting[0])
        self.assertNotIn("none*", res.out)

    def test_reload_adds_and_removes_jobs(self):
        self.site_config([job_toml("good", self.upstream("good")),
                          job_toml("broken", self.upstream("broken"))])
        self.start_site()
        self.wait_status({"good": "success", "broken": "success"})
        self.site_config([job_toml("good", self.upstream("good")),
                          job_toml("later", self.upstream("later"))],
                         top="[serve]\nindex-ttl = 5\n")
        res = self.ctl("start", "later")  # in the file, not yet in the running site
        self.assertExit(res, 2)
        self.assertIn("the running site has no job named 'later'", res.err)
        self.assertIn("not loaded yet; run `depot ctl reload`", res.err)
        self.proc.send_signal(signal.SIGHUP)
        st = self.wait_status({"later": "success"})
        self.assertEqual(set(st), {"good", "later"})
        self.assertRegex(self.stderr(), r'"event":"site.reload_needs_restart".*"setting":"serve"')
        self.assertEqual(len(st["good"]["runs"]), 1, "a kept job keeps its schedule")
        # A broken config is refused and the running one kept.
        self.config.write_text("bogus = 1\n" + self.config.read_text())
        res = self.ctl("reload")  # ctl reads the config too, and says what is wrong
        self.assertExit(res, 2)
        self.assertIn("depot.toml:1: bogus: unknown key", res.err)
        res = self.ctl("list", "--json")  # the socket is still found in the broken file
        self.assertExit(res, 0)
        self.assertIn("bogus: unknown key", res.err)
        self.assertEqual({j["name"] for j in json.loads(res.out)}, {"good", "later"})
        socket = self.data / ".depot-site" / "control.sock"
        res = self.depot("ctl", "--socket", socket, "reload")
        self.assertExit(res, 2)
        self.assertIn("depot.toml:1: bogus: unknown key", res.err)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "site.reload_refused" not in self.stderr():
            self.assertLess(time.monotonic(), deadline, "SIGHUP with a bad config: " + self.stderr())
            time.sleep(0.1)
        self.assertIsNone(self.proc.poll())
        self.assertEqual(set(self.status()), {"good", "later"})

    def test_two_jobs_on_one_directory_are_refused_at_load(self):
        self.site_config([job_toml("a", self.upstream("good"), dir_="same"),
                          job_toml("b", self.upstream("later"), dir_=str(self.data / "same"))])
        for cmd in (["check-config", str(self.config)], ["run", "--config", str(self.config)]):
            res = self.depot(*cmd, timeout=30)
            self.assertExit(res, 2)
            self.assertRegex(res.err, r"depot\.toml:\d+: mirror 'b'\.dir: the same directory as "
                                      r"mirror 'a'")
        self.assertFalse(self.data.exists(), "nothing may be created for a refused config")

    def test_a_shrunken_upstream_waits_for_an_operators_forced_start(self):
        # 30 packages, 29 then dropped: beyond the 10 files and 50% the guard lets go.
        mcc.generate(str(self.up), "good", "noarch", count=30, min_size=512, max_size=1024)
        self.site_config([job_toml("good", self.upstream("good"))])
        self.start_site()
        self.wait_status({"good": "success"})
        mcc.next_generation(str(self.up), "good", "noarch", add=0, keep=1)
        self.assertExit(self.ctl("start", "good"), 0)
        st = self.wait_status({"good": "failed"})["good"]
        self.assertEqual(st["exit_code"], 4, st)
        self.assertIn("depot ctl start good --force", st["error"], "the way out is named")
        self.assertExit(self.ctl("stop", "good", "--force"), 2)  # start only
        self.assertExit(self.ctl("start", "good", "--force"), 0)
        self.wait_status({"good": "success"})
        kept = sorted(p.name for p in (self.data / "good").iterdir()
                      if p.name.endswith((".conda", ".tar.bz2")))
        self.assertEqual(len(kept), 1, "the forced run removed the stale packages: %s" % kept)
        self.assertExit(self.ctl("start", "good"), 0)  # forced once only: nothing left to guard
        self.wait_status({"good": "success"})

    def test_a_data_root_that_cannot_be_made_is_a_storage_error(self):
        blocker = self.tmp / "a-file"
        blocker.write_text("not a directory\n")
        self.config.write_text('data_root = "%s"\n' % (blocker / "mirrors"))
        res = self.depot("run", "--config", str(self.config), timeout=30)
        self.assertExit(res, 5)  # not 6, "another depot run holds it"
        self.assertIn(str(blocker / "mirrors"), res.err)

    def test_publish_table_hosts_the_daemon_on_the_same_socket_and_server(self):
        gnupg, keyring = self.tmp / "gnupg", self.tmp / "key.gpg"
        mar.make_key(gnupg, keyring)
        self.site_config([job_toml("good", self.upstream("good")),
                          '[publish]\nprefix = "hosted"\nsigning-key = "archive@depot.test"\n'
                          'gnupg-home = "%s"\n' % gnupg])
        self.start_site()
        self.wait_status({"good": "success"})
        socket = self.data / ".depot-site" / "control.sock"

        def repo(*args):
            p = subprocess.run([depot_bin(), "repo", *args, "--socket", str(socket)],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, "depot repo %s: %s%s" % (args, p.stdout, p.stderr))

        debs = self.tmp / "debs"
        debs.mkdir()
        repo("create", "internal")
        repo("import", "internal", str(mar.build_deb(debs, "tool", "1.0", payload=2048)))
        self.assertExit(self.ctl("list"), 0)  # the site's routes answer on the same socket
        apt = AptClient(self.tmp / "apt", "http://127.0.0.1:%d/hosted/internal" % self.port,
                        keyring, dist="internal")
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update from the site's server failed:\n" + out)
        ok, out = apt.install("tool=1.0")
        self.assertTrue(ok, out)
        self.assertEqual(apt.installed(), {"tool": "1.0"})
        # A mirror job cannot take the directory the daemon publishes into.
        self.site_config([job_toml("hosted", self.upstream("good")), '[publish]\n'])
        res = self.depot("check-config", self.config)
        self.assertExit(res, 2)
        self.assertIn("mirror 'hosted'.dir: overlaps where [publish] publishes", res.err)


    def test_apt_jobs_write_a_trace_file_the_next_run_keeps(self):
        os.environ["DEMO_APT_PACKAGES"] = "5"
        self.addCleanup(os.environ.pop, "DEMO_APT_PACKAGES", None)
        (self.tmp / "archive").mkdir()
        archive, keyring, _ = serve_demo_archive(self.tmp / "archive")
        self.addCleanup(archive.stop)
        # The upstream's own traces, as a Debian mirror serves them.
        up_trace = self.tmp / "archive" / "upstream" / "project" / "trace"
        up_trace.mkdir(parents=True)
        (up_trace / "master").write_text("Mon Nov 30 21:00:00 UTC 2026\n"
                                         "Archive serial: 2026113003\n")
        (up_trace / "ftp.upstream.test").write_text("Mon Nov 30 22:00:00 UTC 2026\n")
        (up_trace / "_traces").write_text("ftp.upstream.test\n")
        (up_trace / "_hierarchy").write_text("ftp.upstream.test ftp.upstream.test up 1.2.3.4\n")
        apt_job = ('[[mirror]]\nname = "debian"\nregistry = "apt"\nupstream = "%s"\n'
                   'interval = "1h"\ndist = ["stable"]\narch = ["amd64"]\nkeyring = "%s"\n\n'
                   % (archive.base, keyring))
        self.site_config([apt_job], top='site_name = "mirror.depot.test"\n')
        self.start_site()
        st = self.wait_status({"debian": "success"})
        trace = self.data / "debian" / "project" / "trace" / "mirror.depot.test"
        first = trace.read_text()
        self.assertRegex(first.splitlines()[0], r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}$")
        self.assertIn("Creator: depot", first)
        self.assertIn("Architectures-Configuration: INCLUDE amd64", first)
        self.assertIn("Upstream-mirror: 127.0.0.1", first)
        self.assertIn("Architectures: amd64\n", first)
        self.assertIn("Archive serial: 2026113003\n", first, "the upstream's master trace")
        trace_dir = trace.parent
        self.assertEqual((trace_dir / "ftp.upstream.test").read_text(),
                         "Mon Nov 30 22:00:00 UTC 2026\n")
        chain = (trace_dir / "_hierarchy").read_text().splitlines()
        self.assertEqual(chain[0], "ftp.upstream.test ftp.upstream.test up 1.2.3.4")
        self.assertTrue(chain[1].startswith("mirror.depot.test mirror.depot.test "), chain)
        self.assertEqual(len(chain), 2, chain)
        self.assertIn("ftp.upstream.test", (trace_dir / "_traces").read_text().split())
        self.assertEqual(self.get("/debian/project/trace/mirror.depot.test")[0], 200)
        time.sleep(1.1)  # the next trace's date differs
        self.assertExit(self.ctl("start", "debian"), 0)
        deadline = time.monotonic() + 60
        while len(self.status()["debian"]["runs"]) < 2:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        st = self.status()["debian"]
        self.assertEqual(st["runs"][-1]["result"], "success", st)
        self.assertEqual(st["runs"][-1]["exit_code"], 0, "the trace files counted as stale")
        self.assertTrue(trace.exists(), "the next run removed the trace file")
        self.assertNotEqual(trace.read_text(), first, "the trace file was not rewritten")
        self.assertEqual(len((trace_dir / "_hierarchy").read_text().splitlines()), 2,
                         "the chain grew on a rerun")


    def test_systemd_hears_ready_reloading_watchdog_and_stopping(self):
        path = str(self.tmp / "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(10)
        self.site_config([job_toml("good", self.upstream("good"))])
        self.start_site(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        got = []

        def until(text):
            while not any(text in m for m in got):
                try:
                    got.append(sock.recv(4096).decode())
                except socket.timeout:
                    self.fail("no %r from depot run; got %s\n%s" % (text, got, self.stderr()))

        until("READY=1")
        until("STATUS=")
        self.assertIn("STATUS=1 jobs", got)
        until("WATCHDOG=1")  # every second (half of WATCHDOG_USEC) from the scheduling thread
        got.remove("WATCHDOG=1")
        until("WATCHDOG=1")  # and again: the pings go on
        self.proc.send_signal(signal.SIGHUP)
        until("RELOADING=1")
        self.assertRegex(next(m for m in got if "RELOADING=1" in m), r"MONOTONIC_USEC=\d+")
        got.clear()
        until("READY=1")  # after the reload
        self.proc.send_signal(signal.SIGTERM)
        until("STOPPING=1")
        self.assertEqual(self.proc.wait(timeout=30), 0)
        self.proc = None
        self.log.close()


if __name__ == "__main__":
    unittest.main()
