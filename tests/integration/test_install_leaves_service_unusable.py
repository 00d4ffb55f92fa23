"""Proves impossible: an install (`cmake --install`, as `make install` runs it) that leaves a
site unable to start under systemd: the binary missing or not running, the unit naming another
binary, a unit systemd-analyze rejects or whose hardening regressed, no sysusers entry for its
user, or a documented depot.toml that `depot check-config` refuses or that names a directory
depot must write which the unit's sandbox (ProtectSystem=strict) leaves read-only."""

import os
import re
import shutil
import subprocess
import tempfile
import tomllib
import unittest
from pathlib import Path

from depot_harness import REPO

MAX_EXPOSURE = 2.0  # systemd-analyze security: 1.4 when written; "OK" is below 3.0


def build_dir():
    """The build directory of $DEPOT_BIN (the binary sits at its top)."""
    d = Path(os.environ.get("DEPOT_BIN", "build/depot")).resolve().parent
    if not (d / "cmake_install.cmake").exists():
        raise unittest.SkipTest("%s is not a CMake build directory" % d)
    return d


class InstallLeavesServiceUnusable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("cmake") is None:
            raise unittest.SkipTest("cmake not installed")
        cls.tmp = tempfile.TemporaryDirectory(prefix="depot-it-install-")
        cls.prefix = Path(cls.tmp.name) / "usr"
        res = subprocess.run(["cmake", "--install", str(build_dir()), "--prefix", str(cls.prefix)],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + res.stdout + res.stderr)
        cls.unit = cls.prefix / "lib" / "systemd" / "system" / "depot.service"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_tool(self, *argv):
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=60)

    def test_the_installed_binary_runs(self):
        res = self.run_tool(str(self.prefix / "bin" / "depot"), "--version")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"^depot \d+\.\d+")

    def test_the_unit_starts_the_installed_binary(self):
        text = self.unit.read_text()
        self.assertIn("ExecStart=%s run --config /etc/depot/depot.toml\n"
                      % (self.prefix / "bin" / "depot"), text)
        self.assertIn("Type=notify\n", text)
        self.assertRegex(text, r"\nWatchdogSec=\d+")
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID\n", text)
        user = re.search(r"\nUser=(\S+)", text).group(1)
        sysusers = (self.prefix / "lib" / "sysusers.d" / "depot.conf").read_text()
        self.assertRegex(sysusers, r"(?m)^u %s " % re.escape(user),
                         "no sysusers entry creates the unit's user")

    def test_systemd_accepts_the_unit_and_its_hardening(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze not installed")
        res = self.run_tool("systemd-analyze", "verify", str(self.unit))
        self.assertEqual((res.returncode, res.stdout + res.stderr), (0, ""))
        res = self.run_tool("systemd-analyze", "security", "--offline=true", str(self.unit))
        m = re.search(r"Overall exposure level for depot.service: ([0-9.]+)", res.stdout)
        self.assertIsNotNone(m, res.stdout + res.stderr)
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, res.stdout)

    def test_the_documented_config_is_valid(self):
        doc = (self.prefix / "share" / "doc" / "depot" / "site.md").read_text()
        self.assertEqual(doc, (REPO / "docs" / "site.md").read_text())
        example = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
        config = Path(self.tmp.name) / "depot.toml"
        config.write_text(example)
        res = self.run_tool(str(self.prefix / "bin" / "depot"), "check-config", str(config))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("OK: 1 jobs", res.stdout)

    def test_the_documented_config_writes_only_where_the_unit_allows(self):
        unit = self.unit.read_text()
        writable = ["/" + base + "/" + name for base, key in
                    (("var/lib", "StateDirectory"), ("var/log", "LogsDirectory"),
                     ("run", "RuntimeDirectory"))
                    for name in re.findall(r"(?m)^%s=(.+)$" % key, unit)]
        for line in re.findall(r"(?m)^ReadWritePaths=(.+)$", unit):
            writable += [p.lstrip("-") for p in line.split()]
        doc = (REPO / "docs" / "site.md").read_text()
        cfg = tomllib.loads(re.search(r"```toml\n(.*?)```", doc, re.S).group(1))
        publish = cfg.get("publish", {})
        written = {"data_root": cfg["data_root"], "state_dir": cfg["state_dir"],
                   "log_dir": cfg["log_dir"],
                   "control_socket": os.path.dirname(cfg["control_socket"]),
                   "publish.root": publish["root"], "publish.gnupg-home": publish["gnupg-home"],
                   "publish.incoming": publish["incoming"]}
        for key, path in written.items():
            with self.subTest(key=key):
                self.assertTrue(any(path == w or path.startswith(w + "/") for w in writable),
                                "%s = %s is read-only under the unit (writable: %s)"
                                % (key, path, writable))


if __name__ == "__main__":
    unittest.main()
