"""Helpers for npm scenarios: a fixture registry (make_npm_registry.py) served by
fault_server.py, and the real npm judging a registry (upstream, `depot serve` of a mirror, or
any static server) over loopback.

npm_judge() never touches ~/.npm: each call gets a fresh HOME, npm cache and project under
`workdir`, an empty user config, proxies dropped, audit and fund off, every subprocess under a
timeout.

Self-test (by hand; not in the ctest list):  python3 tests/integration/npm_harness.py
"""

import json
import os
import shutil
import sys
import tempfile

from depot_harness import FIXTURES, DepotTestCase, FaultServer, run_captured  # noqa: F401

import make_npm_registry as mnr  # noqa: E402  (FIXTURES is on sys.path)

PHASE_TIMEOUT = 180
_DROP_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class JudgeResult:
    """What npm said.  rc/phase: the npm command that failed ("install", "ci") or "ok";
    tree: {name: version} of node_modules; lock_text: package-lock.json as written."""

    def __init__(self, rc, out, err, tree, phase, lock_text, workdir):
        self.rc, self.out, self.err, self.tree = rc, out, err, tree
        self.phase, self.lock_text, self.workdir = phase, lock_text, workdir

    def __str__(self):
        return "\nnpm judge: phase %s exit %s in %s\n--- tree ---\n%s\n--- stderr ---\n%s" % (
            self.phase, self.rc, self.workdir, self.tree, self.err[-6000:])


def npm_env(home, cache):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().startswith("npm_config_") and k.lower() not in _DROP_ENV}
    env.update(HOME=home, npm_config_cache=cache, npm_config_userconfig=os.path.join(home, "rc"),
               npm_config_update_notifier="false", npm_config_fetch_retries="0",
               npm_config_fetch_timeout="30000", NO_PROXY="*", no_proxy="*")
    return env


def node_modules_tree(proj):
    out = {}
    nm = os.path.join(proj, "node_modules")
    if not os.path.isdir(nm):
        return out
    for entry in os.listdir(nm):
        dirs = [os.path.join(entry, s) for s in os.listdir(os.path.join(nm, entry))] \
            if entry.startswith("@") else [entry]
        for d in dirs:
            pj = os.path.join(nm, d, "package.json")
            if os.path.exists(pj):
                with open(pj) as f:
                    out[d] = json.load(f)["version"]
    return out


def _project(workdir, deps, tag):
    d = tempfile.mkdtemp(prefix="judge-%s-" % tag, dir=str(workdir))
    home, proj = os.path.join(d, "home"), os.path.join(d, "project")
    os.makedirs(home)
    os.makedirs(proj)
    with open(os.path.join(home, "rc"), "w") as f:
        f.write("")
    with open(os.path.join(proj, "package.json"), "w") as f:
        json.dump({"name": "depot-judge", "version": "1.0.0", "private": True,
                   "dependencies": deps}, f)
    return d, home, proj


def npm_judge(registry, deps, workdir, ci=True, timeout=PHASE_TIMEOUT):
    """`npm install` of a throwaway project depending on `deps` from `registry` (a base URL);
    then (ci=True) `npm ci` of a second project with the package-lock.json the first wrote,
    with its own empty cache, so both phases download everything from `registry`."""
    os.makedirs(workdir, exist_ok=True)
    url = registry.rstrip("/") + "/"
    flags = ["--registry", url, "--no-audit", "--no-fund", "--loglevel", "warn"]
    d, home, proj = _project(workdir, deps, "install")
    env = npm_env(home, os.path.join(d, "cache"))
    rc, out, err = run_captured([mnr.npm_bin(), "install"] + flags, env, timeout, cwd=proj)
    errs = ["$ npm install\n" + err]
    lock_text = None
    lock_path = os.path.join(proj, "package-lock.json")
    if os.path.exists(lock_path):
        with open(lock_path) as f:
            lock_text = f.read()
    tree, phase = node_modules_tree(proj), "ok" if rc == 0 else "install"
    if rc == 0 and ci:
        d2, home2, proj2 = _project(workdir, deps, "ci")
        with open(os.path.join(proj2, "package-lock.json"), "w") as f:
            f.write(lock_text or "")
        env2 = npm_env(home2, os.path.join(d2, "cache"))
        rc, out2, err2 = run_captured([mnr.npm_bin(), "ci"] + flags, env2, timeout, cwd=proj2)
        out += out2
        errs.append("$ npm ci\n" + err2)
        ci_tree = node_modules_tree(proj2)
        if rc != 0 or ci_tree != tree:
            phase = "ci"
            tree = ci_tree if rc == 0 else tree
            rc = rc if rc != 0 else "tree differs: %s" % ci_tree
    return JudgeResult(rc, out, "\n".join(errs), tree, phase, lock_text, d)


class NpmTestCase(DepotTestCase):
    """DepotTestCase with an npm registry under self.up (served at self.server.base)."""

    def gen_registry(self, **kw):
        self.registry = mnr.generate(str(self.up), self.server.base, **kw)
        return self.registry

    def expected(self, subdir=None):
        return mnr.expected_files(str(self.up))

    def judge(self, registry, deps=None, **kw):
        return npm_judge(registry, deps or mnr.JUDGE_DEPS, self.tmp / "judge", **kw)

    def assertJudgeOk(self, res, tree=None):
        self.assertEqual((res.rc, res.phase), (0, "ok"), "npm refused the registry%s" % res)
        self.assertEqual(res.tree, tree or mnr.JUDGE_TREE, "npm installed other versions%s" % res)


def selftest():
    """npm judges the fixture registry served by fault_server.py directly."""
    tmp = tempfile.mkdtemp(prefix="npm-selftest-")
    try:
        up = os.path.join(tmp, "up")
        os.makedirs(up)
        server = FaultServer(up, tmp).start()
        try:
            mnr.generate(up, server.base)
            res = npm_judge(server.base, mnr.JUDGE_DEPS, os.path.join(tmp, "work"))
            ok = res.rc == 0 and res.tree == mnr.JUDGE_TREE
            print("%s npm install + ci from the fixture: %s" % ("PASS" if ok else "FAIL",
                                                               res.tree))
            if not ok:
                print(res)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(selftest())
