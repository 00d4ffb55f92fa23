#!/usr/bin/env python3
"""demo_crates.py — the crates.io round trip: a sparse registry of crates made with the real
`cargo package`, served on loopback; `depot mirror crates --with-deps` of one crate; the mirror
served by `depot serve`; then the upstream is stopped and the real cargo (a fresh CARGO_HOME,
crates-io replaced by the mirror) resolves, fetches and builds a consumer from the mirror alone.
Run by `make demo`; exits non-zero on any failure; skipped (exit 0) where cargo is absent.
  DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from crates_harness import cargo_bin, cargo_judge, index_url  # noqa: E402
from depot_harness import FaultServer  # noqa: E402
from serve_harness import DepotServer  # noqa: E402
import make_crates_registry as mcr  # noqa: E402


def main():
    depot = os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")
    cargo = cargo_bin()
    if not (shutil.which(cargo) or os.access(cargo, os.X_OK)):
        print("demo-crates: skipped: cargo is not installed (rustup's cargo >= 1.68 reads sparse "
              "registries)")
        return
    with tempfile.TemporaryDirectory(prefix="depot-demo-crates.") as tmp:
        tmp = Path(tmp)
        up, mirror = tmp / "upstream", tmp / "mirror"
        mirror.mkdir()
        (tmp / "up-srv").mkdir()
        upstream = FaultServer(up, tmp / "up-srv").start()
        served = DepotServer(mirror, tmp / "mirror-srv").start()
        try:
            print("demo-crates: building a sparse registry of %d crates with cargo package"
                  % len(mcr.DEFAULT_CRATES))
            mcr.generate(str(up), mcr.dl_for(upstream.base, "plain"))
            root = next(iter(mcr.JUDGE_DEPS))
            cmd = [depot, "mirror", "crates", upstream.base + "/index", str(mirror),
                   "--base-url", served.base, "--crate", root, "--with-deps"]
            print("demo-crates: $ depot mirror crates %s/index %s --base-url %s --crate %s "
                  "--with-deps" % (upstream.base, mirror, served.base, root))
            t0 = time.monotonic()
            p = subprocess.run(cmd, capture_output=True, text=True)
            t1 = time.monotonic()
            if p.returncode != 0:
                sys.exit("demo-crates: FAILED: depot exited %d\n%s%s"
                         % (p.returncode, p.stdout, p.stderr))
            print("demo-crates:   " + p.stdout.strip().splitlines()[-1])
            upstream.stop()
            print("demo-crates: upstream stopped; $ cargo build   # [source.crates-io] "
                  "replace-with = sparse+%s" % index_url(served.base))
            res = cargo_judge(index_url(served.base), mcr.JUDGE_DEPS, tmp / "judge")
            if res.rc != 0:
                sys.exit("demo-crates: FAILED: cargo against the mirror%s" % res)
            locked = ", ".join("%s %s" % kv for kv in sorted(res.lock.items()))
            print("demo-crates: summary: %s and its dependencies mirrored and verified in %.2fs; "
                  "cargo resolved, fetched and built from the mirror alone (%s)"
                  % (root, t1 - t0, locked))
        finally:
            upstream.stop()
            served.stop()


if __name__ == "__main__":
    main()
