"""`depot daemon --incoming DIR --incoming-repo R` must import a .deb dropped into DIR only once
it is complete: not while it is written under a temporary name (a dot-file, `.part`) or while
the writer still holds it open under its final name; a malformed .deb is reported (a failed job,
DIR/.failed/<name> with a .error note, a log line) and does not stop later files; whatever is
imported is published and installable. Files present at start-up or arriving while the daemon
starts are imported exactly once."""

import os
import shutil
import threading
import time
import unittest

from publish_harness import PublishTestCase

REPO = "inbox"


class IncomingImportsPartialFile(PublishTestCase):
    def daemon_args(self):
        self.incoming = self.tmp / "incoming"
        self.incoming.mkdir(exist_ok=True)
        return ["--incoming", self.incoming, "--incoming-repo", REPO]

    def setUp(self):
        super().setUp()
        self.daemon.repo("create", REPO)

    # -- helpers -----------------------------------------------------------------------------
    def import_jobs(self):
        rc, jobs = self.daemon.repo("jobs")
        return [j for j in jobs if j["kind"] == "import"]

    def wait_for(self, what, cond, timeout=60):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s\n%s" % (what, self.daemon.describe()))
            time.sleep(0.05)

    def wait_moved(self, name, where=".imported"):
        """Waits until the watcher has moved `name` to DIR/<where>/ (after its job ended)."""
        self.wait_for(name + " in " + where, lambda: (self.incoming / where / name).exists())

    def assertNothingImported(self, during):
        time.sleep(0.5)  # time for a wrong import to start; its absence is what is checked
        self.assertEqual(self.import_jobs(), [], "an import started " + during)
        self.assertEqual(self.daemon.packages(REPO), {}, during)

    def write_slowly(self, path, data, between):
        """Writes `data` to `path` in two halves; `between()` runs with half of it on disk."""
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            between()
            f.write(data[len(data) // 2:])

    # -- scenarios ---------------------------------------------------------------------------
    def test_partial_file_imported_only_once_renamed_in(self):
        deb = self.deb("app", "1.0")
        part = self.incoming / (".%s.part" % deb.name)
        self.write_slowly(part, deb.read_bytes(),
                          lambda: self.assertNothingImported("while the .part file was written"))
        self.assertNothingImported("for a complete .part dot-file")
        self.assertTrue(part.exists(), "the watcher moved a file it must ignore")
        os.rename(part, self.incoming / deb.name)
        self.wait_moved(deb.name)
        jobs = self.import_jobs()
        self.assertEqual([j["state"] for j in jobs], ["done"], jobs)
        self.assertEqual(self.daemon.packages(REPO), {"app": "1.0"})
        self.assertEqual(self.assertPublishedTreeComplete(REPO), {"app": "1.0"})
        self.assertAptInstalls(self.client(REPO), {"app": "1.0"})

    def test_file_written_in_place_imported_only_once_closed(self):
        deb = self.deb("tool", "0.9")
        target = self.incoming / deb.name
        self.write_slowly(target, deb.read_bytes(),
                          lambda: self.assertNothingImported("while the writer held it open"))
        self.wait_moved(deb.name)
        self.assertEqual([j["state"] for j in self.import_jobs()], ["done"])
        self.assertAptInstalls(self.client(REPO), {"tool": "0.9"})

    def test_malformed_deb_reported_and_later_files_imported(self):
        good = self.deb("good", "2.0")
        truncated = self.tmp / "cut_1.0_amd64.deb"
        truncated.write_bytes(self.deb("cut", "1.0").read_bytes()[:300])
        junk = self.tmp / "junk_1.0_amd64.deb"
        junk.write_bytes(b"!<arch>\nthis is not a debian package\n" * 10)
        for bad in (junk, truncated):
            shutil.move(str(bad), str(self.incoming / bad.name))
        shutil.move(str(good), str(self.incoming / good.name))
        for bad in (junk, truncated):
            self.wait_moved(bad.name, ".failed")
            note = self.incoming / ".failed" / (bad.name + ".error")
            self.wait_for(note.name, note.exists)
            self.assertTrue(note.read_text().strip(), "empty error note for " + bad.name)
        self.wait_moved(good.name)
        states = sorted((j["args"]["files"][0].rsplit("/", 1)[-1], j["state"])
                        for j in self.import_jobs())
        self.assertEqual(states, [("cut_1.0_amd64.deb", "failed"), ("good_2.0_amd64.deb", "done"),
                                  ("junk_1.0_amd64.deb", "failed")])
        failed = [j for j in self.import_jobs() if j["state"] == "failed"]
        self.assertTrue(all(j["error"] for j in failed), failed)
        log = self.daemon.describe()
        for bad in (junk, truncated):
            self.assertRegex(log, r"incoming.*%s.*failed" % bad.name)
        self.assertEqual(self.daemon.packages(REPO), {"good": "2.0"})
        self.assertEqual(self.assertPublishedTreeComplete(REPO), {"good": "2.0"})
        self.assertAptInstalls(self.client(REPO), {"good": "2.0"})

    def test_files_arriving_at_startup_imported_once(self):
        d = self.daemon
        d.stop()
        early = [self.deb("early%d" % i, "1.0") for i in range(3)]
        late = [self.deb("late%d" % i, "1.0") for i in range(12)]
        for f in early:
            os.rename(f, self.incoming / f.name)
        stop = threading.Event()

        def drop():  # renames files in while the daemon starts and scans the directory
            for f in late:
                if stop.is_set():
                    return
                os.rename(f, self.incoming / f.name)
                time.sleep(0.01)

        t = threading.Thread(target=drop)
        t.start()
        try:
            d.start()
        finally:
            t.join(timeout=30)
            stop.set()
        names = [f.name for f in early + late]
        self.wait_for("every file imported",
                      lambda: all((self.incoming / ".imported" / n).exists() for n in names))
        jobs = self.import_jobs()
        self.assertEqual(sorted(j["state"] for j in jobs), ["done"] * len(names), jobs)
        self.assertEqual(sorted(os.listdir(self.incoming / ".failed")), [])
        want = {f.name.split("_")[0]: "1.0" for f in early + late}
        self.assertEqual(self.daemon.packages(REPO), want)
        self.assertEqual(self.assertPublishedTreeComplete(REPO), want)


if __name__ == "__main__":
    unittest.main()
