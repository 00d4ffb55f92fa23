"""Helpers for crates.io scenarios: a fixture registry (make_crates_registry.py) served by
fault_server.py, and the real cargo judging a registry (upstream or mirror) over loopback.

cargo_judge() never touches ~/.cargo: each call gets a fresh CARGO_HOME and target dir under
`workdir`, crates-io replaced by the sparse registry under test, proxies dropped, every
subprocess under a timeout.

Self-test (by hand; not in the ctest list):  python3 tests/integration/crates_harness.py
(or python3 tests/fixtures/make_crates_registry.py --selftest)
"""

import os
import re
import shutil
import sys
import tempfile
import time

from depot_harness import FIXTURES, DepotTestCase, FaultServer, run_captured  # noqa: F401

import make_crates_registry as mcr  # noqa: E402  (FIXTURES is on sys.path)

PHASE_TIMEOUT = 300
_DROP_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "RUSTC_WRAPPER",
             "RUSTC_WORKSPACE_WRAPPER", "RUSTFLAGS")


class JudgeResult:
    """What cargo said.  Unpacks as (rc, out, err, lock).  phase: the cargo command that
    failed ("generate-lockfile", "fetch", "build") or "ok"; lock: {name: version} from
    Cargo.lock (a name locked at several versions maps to a sorted list), the consumer
    itself left out; lock_text: Cargo.lock as written (None when none was)."""

    def __init__(self, rc, out, err, lock, phase, lock_text, workdir):
        self.rc, self.out, self.err, self.lock = rc, out, err, lock
        self.phase, self.lock_text, self.workdir = phase, lock_text, workdir

    def __iter__(self):
        return iter((self.rc, self.out, self.err, self.lock))

    def __str__(self):
        return "\ncargo judge: phase %s exit %s in %s\n--- lock ---\n%s\n--- stderr ---\n%s" % (
            self.phase, self.rc, self.workdir, self.lock, self.err[-6000:])


def cargo_bin():
    return mcr.cargo_bin()


def parse_lock(text, skip=("depot-judge-consumer",)):
    """{name: version} of Cargo.lock's [[package]] entries (several versions -> sorted
    list)."""
    out = {}
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'^name = "([^"]*)"', block, re.M)
        vers = re.search(r'^version = "([^"]*)"', block, re.M)
        if not name or not vers or name.group(1) in skip:
            continue
        prev = out.get(name.group(1))
        if prev is None:
            out[name.group(1)] = vers.group(1)
        else:
            out[name.group(1)] = sorted(set(([prev] if isinstance(prev, str) else prev)
                                            + [vers.group(1)]))
    return out


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(_toml_value(x) for x in v)
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


def consumer_manifest(deps):
    """deps: {package name: "req" or {"version": .., "features": [..], ...}}."""
    lines = ["[package]", 'name = "depot-judge-consumer"', 'version = "0.0.0"',
             'edition = "2021"', "publish = false", "", "[dependencies]"]
    for name, spec in deps.items():
        spec = {"version": spec} if isinstance(spec, str) else spec
        lines.append("%s = { %s }" % (_toml_value(name), ", ".join(
            "%s = %s" % (k, _toml_value(v)) for k, v in spec.items())))
    return "\n".join(lines) + "\n"


def cargo_config(index_url):
    """CARGO_HOME/config.toml replacing crates-io with the sparse registry at index_url."""
    url = index_url if index_url.endswith("/") else index_url + "/"
    if not url.startswith("sparse+"):
        url = "sparse+" + url
    return ('[source.crates-io]\nreplace-with = "mirror"\n\n'
            '[source.mirror]\nregistry = "%s"\n\n'
            '[net]\nretry = 0\n\n[http]\ntimeout = 30\nmultiplexing = false\n' % url)


def cargo_env(home, target):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CARGO_") and k not in _DROP_ENV and k.lower() not in _DROP_ENV}
    env.update(CARGO_HOME=home, CARGO_TARGET_DIR=target, CARGO_TERM_COLOR="never",
               CARGO_TERM_PROGRESS_WHEN="never", CARGO_INCREMENTAL="0", CARGO_BUILD_JOBS="2",
               CARGO_NET_RETRY="0", CARGO_HTTP_TIMEOUT="30", NO_PROXY="*", no_proxy="*")
    return env


def cargo_judge(registry_index_url, deps, workdir, timeout=PHASE_TIMEOUT, build=True,
                lock_text=None):
    """A throwaway consumer of `deps` resolved, fetched and (build=True) built offline
    against the sparse registry at registry_index_url (e.g. http://127.0.0.1:PORT/index/).
    Phases: cargo generate-lockfile, cargo fetch --locked, cargo build --frozen; the first
    failure ends the run.  lock_text (a Cargo.lock from an earlier judge, e.g. against
    upstream) is written first and replaces the generate-lockfile phase, so cargo holds the
    registry to those versions and checksums.  Each call uses a fresh dir under workdir (no
    shared caches)."""
    os.makedirs(workdir, exist_ok=True)
    d = tempfile.mkdtemp(prefix="judge-", dir=str(workdir))
    home, proj = os.path.join(d, "cargo-home"), os.path.join(d, "consumer")
    os.makedirs(home)
    os.makedirs(os.path.join(proj, "src"))
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(cargo_config(registry_index_url))
    with open(os.path.join(proj, "Cargo.toml"), "w") as f:
        f.write(consumer_manifest(deps))
    with open(os.path.join(proj, "src", "lib.rs"), "w") as f:
        f.write("//! depot judge consumer\n")
    env = cargo_env(home, os.path.join(d, "target"))
    phases = [("generate-lockfile", ["generate-lockfile"]), ("fetch", ["fetch", "--locked"])]
    if lock_text is not None:
        with open(os.path.join(proj, "Cargo.lock"), "w") as f:
            f.write(lock_text)
        phases = phases[1:]
    if build:
        phases.append(("build", ["build", "--frozen"]))
    outs, errs, rc, phase = [], [], 0, "ok"
    for name, args in phases:
        rc, out, err = run_captured([cargo_bin()] + args, env, timeout, cwd=proj)
        outs.append(out)
        errs.append("$ cargo %s\n%s" % (" ".join(args), err))
        if rc != 0:
            phase = name
            break
    lock_path = os.path.join(proj, "Cargo.lock")
    lock_text = None
    if os.path.exists(lock_path):
        with open(lock_path) as f:
            lock_text = f.read()
    return JudgeResult(rc, "".join(outs), "\n".join(errs), parse_lock(lock_text or ""), phase,
                       lock_text, d)


def index_url(base):
    return base.rstrip("/") + "/index/"


class CratesTestCase(DepotTestCase):
    """DepotTestCase with a crates registry under self.up (served at self.server.base)."""

    def gen_registry(self, form="plain", **kw):
        self.registry = mcr.generate(str(self.up), mcr.dl_for(self.server.base, form), **kw)
        self.remember()
        return self.registry

    def remember(self):
        """Records upstream's files as offered (for assertNoDebris); call after mutating
        upstream.  DepotTestCase keys them by subdir, whose default is "noarch"."""
        self._remember("noarch")

    def expected(self, subdir=None):
        """{relative path: sha256} of a complete mirror (subdir is ignored)."""
        return mcr.expected_files(str(self.up))

    def index_url(self, base=None):
        return index_url(base or self.server.base)

    def judge(self, base=None, deps=None, **kw):
        return cargo_judge(self.index_url(base), deps or mcr.JUDGE_DEPS,
                           self.tmp / "judge", **kw)

    def assertJudgeOk(self, res):
        self.assertEqual((res.rc, res.phase), (0, "ok"), "cargo refused the registry%s" % res)
        self.assertEqual(res.lock, mcr.JUDGE_LOCK, "cargo locked other versions%s" % res)


def _check(ok, what, res):
    print("%s %s" % ("PASS" if ok else "FAIL", what))
    if not ok:
        print(res)
    return ok


def _first_error(res):
    return "\n".join(l for l in res.err.splitlines() if l.startswith(("error", "Caused", "  "))
                     and not l.lstrip().startswith(("Updating", "Locking", "Download")))


def selftest():
    """The default registry served by fault_server.py, judged by cargo directly; then the
    yanked, corrupt and wrong-cksum cases.  Prints cargo's messages; exit 0 when all hold."""
    tmp = tempfile.mkdtemp(prefix="crates-selftest-")
    ok = True
    try:
        up, wd = os.path.join(tmp, "up"), os.path.join(tmp, "work")
        os.makedirs(up)
        os.makedirs(wd)
        server = FaultServer(up, tmp).start()
        try:
            for form in ("checksum", "prefix", "static", "plain"):
                t0 = time.monotonic()
                mcr.generate(up, mcr.dl_for(server.base, form))
                gen = time.monotonic() - t0
                t0 = time.monotonic()
                res = cargo_judge(index_url(server.base), mcr.JUDGE_DEPS, wd)
                ok &= _check(res.rc == 0 and res.lock == mcr.JUDGE_LOCK,
                             "%s: build ok, lock %s (generate %.2fs, judge %.2fs)"
                             % (form, res.lock, gen, time.monotonic() - t0), res)
            judge = lambda deps, **kw: cargo_judge(index_url(server.base), deps, wd, **kw)
            good_lock = res.lock_text
            mcr.add_version(up, "multi-ver", "1.3.0")
            res = judge(mcr.JUDGE_DEPS, build=False)
            ok &= _check(res.lock.get("multi-ver") == "1.3.0", "added 1.3.0 chosen", res)
            mcr.yank(up, "multi-ver", "1.3.0")
            res = judge(mcr.JUDGE_DEPS, build=False)
            ok &= _check(res.lock.get("multi-ver") == "1.1.0", "yanked 1.3.0 passed over", res)
            res = judge({"multi-ver": "=1.2.0"}, build=False)
            ok &= _check(res.rc != 0 and res.phase == "generate-lockfile",
                         "yanked =1.2.0 refused:\n" + _first_error(res), res)
            mcr.corrupt(up, "multi-ver", "1.1.0")
            res = judge(mcr.JUDGE_DEPS, build=False)
            ok &= _check(res.rc != 0 and res.phase == "fetch",
                         "corrupt multi-ver 1.1.0 refused:\n" + _first_error(res), res)
            mcr.wrong_cksum(up, "xy", "0.1.0")
            res = judge({"xy": "0.1"}, build=False)
            ok &= _check(res.rc != 0 and res.phase == "fetch",
                         "wrong cksum xy 0.1.0 refused:\n" + _first_error(res), res)
            res = judge(mcr.JUDGE_DEPS, build=False, lock_text=good_lock)
            ok &= _check(res.rc != 0 and res.phase == "fetch",
                         "index cksum differs from Cargo.lock:\n" + _first_error(res), res)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("selftest %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(selftest())
