"""Helpers for rustup scenarios: a fixture dist server (make_rustup_dist.py) served by
fault_server.py, and the real rustup (1.29 on this machine) judging a dist server (upstream or
mirror) over loopback.

Every judge gets a fresh RUSTUP_HOME and CARGO_HOME under `workdir` (never ~/.rustup or
~/.cargo), RUSTUP_DIST_SERVER and RUSTUP_UPDATE_ROOT pointing at the server under test, proxies
dropped, every subprocess under a timeout.
"""

import hashlib
import os
import subprocess
import tempfile
import urllib.request

from depot_harness import DepotTestCase  # noqa: F401  (puts tests/fixtures on sys.path)

import make_rustup_dist as mrd  # noqa: E402

TIMEOUT = 180
_KEEP = ("PATH", "LANG", "LC_ALL", "TMPDIR")


def rustup_bin():
    return mrd.rustup_bin()


def rustup_env(d, dist_base):
    env = {k: v for k, v in os.environ.items() if k in _KEEP}
    env.update(HOME=d, RUSTUP_HOME=os.path.join(d, "rustup-home"),
               CARGO_HOME=os.path.join(d, "cargo-home"),
               RUSTUP_DIST_SERVER=dist_base.rstrip("/"),
               RUSTUP_UPDATE_ROOT=dist_base.rstrip("/") + "/rustup",
               RUSTUP_TERM_COLOR="never", RUSTUP_MAX_RETRIES="0", NO_PROXY="*", no_proxy="*")
    return env


class Judged:
    """What rustup said: rc of the first failing step (0 when all passed), that step, the
    `rustc --version` line of the installed toolchain, and the transcript."""

    def __init__(self, rc, step, version, log, workdir):
        self.rc, self.step, self.version, self.log, self.workdir = rc, step, version, log, workdir

    def __str__(self):
        return "\nrustup judge: step %s exit %s in %s\n%s" % (self.step, self.rc, self.workdir,
                                                              self.log[-6000:])


def _run(cmd, env, cwd, log):
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        out = p.stdout.decode("utf-8", "replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode("utf-8", "replace") + "[timed out]", "TIMEOUT"
    log.append("$ %s\n%s" % (" ".join(str(c) for c in cmd), out))
    return rc, out


def judge_toolchain_install(dist_base, workdir, toolchain="stable"):
    """rustup toolchain install <toolchain> --profile minimal from dist_base, then
    `rustup run <toolchain> rustc --version`."""
    os.makedirs(workdir, exist_ok=True)
    d = tempfile.mkdtemp(prefix="rustup-judge-", dir=str(workdir))
    env, log = rustup_env(d, dist_base), []
    rc, _ = _run([rustup_bin(), "toolchain", "install", toolchain, "--profile", "minimal",
                  "--no-self-update"], env, d, log)
    if rc != 0:
        return Judged(rc, "toolchain install", None, "\n".join(log), d)
    rc, out = _run([rustup_bin(), "run", toolchain, "rustc", "--version"], env, d, log)
    return Judged(rc, "ok" if rc == 0 else "rustc", out.strip() or None, "\n".join(log), d)


def judge_rustup_init(dist_base, workdir, toolchain="stable"):
    """What rustup-init.sh does: rustup/dist/<host>/rustup-init checked against its .sha256,
    run with -y --no-modify-path --default-toolchain <toolchain>; then CARGO_HOME/bin/rustc
    --version through the installed proxy."""
    os.makedirs(workdir, exist_ok=True)
    d = tempfile.mkdtemp(prefix="rustup-init-judge-", dir=str(workdir))
    env, log = rustup_env(d, dist_base), []
    url = "%s/rustup/dist/%s/rustup-init" % (dist_base.rstrip("/"), mrd.HOST)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
        with urllib.request.urlopen(url + ".sha256", timeout=60) as r:
            want = r.read().decode().split()[0]
    except OSError as e:
        return Judged(1, "download rustup-init", None, "%s: %s" % (url, e), d)
    if hashlib.sha256(data).hexdigest() != want:
        return Judged(1, "rustup-init sha256", None, "%s: sha256 differs" % url, d)
    init = os.path.join(d, "rustup-init")
    with open(init, "wb") as f:
        f.write(data)
    os.chmod(init, 0o755)
    rc, _ = _run([init, "-y", "--no-modify-path", "--profile", "minimal",
                  "--default-toolchain", toolchain], env, d, log)
    if rc != 0:
        return Judged(rc, "rustup-init", None, "\n".join(log), d)
    rustc = os.path.join(env["CARGO_HOME"], "bin", "rustc")
    rc, out = _run([rustc, "--version"], env, d, log)
    return Judged(rc, "ok" if rc == 0 else "rustc", out.strip() or None, "\n".join(log), d)
