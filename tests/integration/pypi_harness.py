"""Helpers for PyPI scenarios: a fixture index (make_pypi_index.py) served by fault_server.py,
depot mirror pypi, and the real pip judging the mirror served by a static server."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from depot_harness import FIXTURES, DepotTestCase, FaultServer  # noqa: F401

import make_pypi_index as mpi  # noqa: E402  (FIXTURES is on sys.path)

ALL_PROJECTS = ("tiny-alpha", "Tiny_Beta", "tiny.gamma")


def pip_env():
    """The environment for an isolated pip: no config, proxies or extra links."""
    env = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "PIP_INDEX_URL",
              "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        env.pop(k, None)
    env.update(NO_PROXY="127.0.0.1", PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


class PlainStaticServer:
    """python3 -m http.server on 127.0.0.1 port 0: directories answer with index.html."""

    def __init__(self, root):
        self.root = str(root)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
             "--directory", self.root, "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"port (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("http.server did not start (got %r)" % line)
        self.base = "http://127.0.0.1:%s" % m.group(1)
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdout.close()
        self.proc = None


class PypiTestCase(DepotTestCase):
    def gen_index(self, json_pages=True, projects=None):
        self.index = mpi.generate(str(self.up), json_pages=json_pages, projects=projects)
        return self.index

    def mirror_pypi(self, *extra, projects=ALL_PROJECTS, timeout=120):
        args = ["mirror", "pypi", self.server.base, self.mirror]
        for p in projects:
            args += ["--project", p]
        return self.depot(*args, *extra, timeout=timeout)

    def mirror_packages(self):
        """{sha256: file name} of every file under <mirror>/packages."""
        out = {}
        for rel, sha in self.tree(self.mirror).items():
            if rel.startswith("packages" + os.sep):
                out[sha] = os.path.basename(rel)
        return out

    def serve_mirror(self, plain=False):
        """The mirror dir served by fault_server (negotiates index.v1_json), or with plain=True
        by python3 -m http.server (a new one each call)."""
        if not plain:
            return super().serve_mirror()
        srv = PlainStaticServer(self.mirror).start()
        self.addCleanup(srv.stop)
        return srv

    def pip(self, *args, python=None, timeout=180):
        env = pip_env()
        cmd = [python or sys.executable, "-m", "pip", *args, "--no-cache-dir",
               "--disable-pip-version-check"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, env=env, timeout=timeout)
        return p.returncode == 0, "$ %s\n%s" % (" ".join(map(str, cmd)),
                                                p.stdout.decode("utf-8", "replace"))
