"""Helpers for opam scenarios: a fixture repository (make_opam_repo.py) served by
fault_server.py, its archives' source host served by a second one, and Debian's opam (2.1)
judging a repository (upstream or mirror) over loopback.

opam_judge() never touches ~/.opam: each call gets a fresh OPAMROOT under `workdir`, runs
`opam init --bare` with the repository as `default`, creates an empty switch (no OCaml
compiler: the fixture packages install shell scripts), installs JUDGE_PACKAGE (which depends
on hello-lib) and runs the installed `hello`, every subprocess under a timeout.
"""

import os
import shutil
import tempfile

from depot_harness import DepotTestCase, FaultServer, run_captured  # noqa: F401

import make_opam_repo as mor  # noqa: E402  (FIXTURES is on sys.path)

PHASE_TIMEOUT = 180
JUDGE_PACKAGE = "hello"


def opam_bin():
    return shutil.which("opam")


class JudgeResult:
    def __init__(self, rc, phase, out, err, workdir):
        self.rc, self.phase, self.out, self.err, self.workdir = rc, phase, out, err, workdir

    def __str__(self):
        return "\nopam judge: phase %s exit %s in %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.phase, self.rc, self.workdir, self.out[-4000:], self.err[-6000:])


def opam_env(root):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OPAM") and k.lower() not in ("http_proxy", "https_proxy",
                                                             "all_proxy")}
    env.update(OPAMROOT=root, OPAMYES="1", OPAMNOENVNOTICE="1", OPAMCOLOR="never",
               OPAMUTF8="never", OPAMNODEPEXTS="1", OPAMDOWNLOADJOBS="1",
               OPAMRETRIES="0", OPAMSTATUSLINE="never", NO_PROXY="*", no_proxy="*")
    return env


def opam_judge(repo_url, workdir, package=JUDGE_PACKAGE, timeout=PHASE_TIMEOUT):
    """opam init --bare (repository `default` at repo_url), switch create --empty, install
    `package`, run `hello`.  The first failing phase ends the run."""
    os.makedirs(str(workdir), exist_ok=True)
    d = tempfile.mkdtemp(prefix="opam-judge-", dir=str(workdir))
    root = os.path.join(d, "root")
    env = opam_env(root)
    opam = opam_bin()
    phases = [
        ("init", [opam, "init", "--bare", "--disable-sandboxing", "-n",
                  "default", repo_url]),
        ("switch", [opam, "switch", "create", "judge", "--empty"]),
        ("install", [opam, "install", "--switch", "judge", "-y", package]),
        ("run", [os.path.join(root, "judge", "bin", "hello")]),
    ]
    outs, errs = [], []
    for name, cmd in phases:
        rc, out, err = run_captured(cmd, env, timeout)
        outs.append("$ %s\n%s" % (" ".join(cmd), out))
        errs.append("$ %s\n%s" % (" ".join(cmd), err))
        if rc != 0:
            return JudgeResult(rc, name, "\n".join(outs), "\n".join(errs), d)
    return JudgeResult(0, "ok", "\n".join(outs), "\n".join(errs), d)


class OpamTestCase(DepotTestCase):
    """DepotTestCase with an opam repository under self.up (self.server) whose archives'
    source host is self.srchost."""

    def setUp(self):
        super().setUp()
        self.srcdir = self.tmp / "srchost"
        self.srcdir.mkdir()
        wd = self.tmp / "srchost-server"
        wd.mkdir()
        self.srchost = FaultServer(self.srcdir, wd).start()
        self.addCleanup(self.srchost.stop)

    def gen_repo(self, packages=None):
        self.packages = mor.generate(str(self.up), str(self.srcdir), self.srchost.base,
                                     packages or mor.GEN1)
        return self.packages

    def next_gen(self):
        return self.gen_repo(mor.GEN2)

    def expected(self, subdir=None):
        return mor.expected_files(str(self.up), self.packages)

    def mirror_opam(self, *extra, timeout=120):
        return self.depot("mirror", "opam", self.server.base, self.mirror, "--retries", "2",
                          *extra, timeout=timeout)

    def judge(self, base, **kw):
        if opam_bin() is None:
            self.skipTest("opam is not installed")
        return opam_judge(base, self.tmp / "judge", **kw)

    def assertJudgeOk(self, res, want=mor.GREETING):
        self.assertEqual((res.rc, res.phase), (0, "ok"), "opam refused the repository%s" % res)
        self.assertIn(want, res.out, "hello printed something else%s" % res)
