#!/usr/bin/env python3
"""demo_s3.py — a mirror in object storage: start Ceph's RADOS Gateway on loopback (one monitor,
one memstore OSD, as this user), build a signed apt archive, mirror it into s3://demo/debian
with `depot mirror apt ... s3://... --s3-endpoint`, serve the bucket with
`depot serve s3://demo/debian`, and let the real apt-get update from it and download packages.
Run by `make demo`; exits non-zero on any failure.
  DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)"""

import json
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
from apt_harness import AptClient, serve_demo_archive  # noqa: E402
from rgw_harness import Rgw  # noqa: E402
from serve_harness import DepotServer  # noqa: E402


def mirror_into_bucket(depot, upstream, rgw, keyring, state, env):
    cmd = [depot, "mirror", "apt", upstream.base, "s3://demo/debian", "--s3-endpoint",
           rgw.endpoint, "--state", str(state), "--dist", "stable", "--component", "main",
           "--arch", "amd64", "--keyring", str(keyring), "--log-format", "json"]
    print("demo-s3: $ depot mirror apt %s s3://demo/debian --s3-endpoint %s --dist stable "
          "--component main --arch amd64 --keyring archive-key.gpg" % (upstream.base, rgw.endpoint))
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("demo-s3: FAILED: depot exited %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    print("demo-s3:   %d files, %d downloaded and uploaded in %.2fs"
          % (summary["files_total"], summary["files_downloaded"], time.monotonic() - t0))
    return summary


def main():
    depot = os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")
    if shutil.which("radosgw") is None:
        sys.exit("demo-s3: FAILED: radosgw is not installed (run scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory(prefix="depot-demo-s3.") as tmp:
        tmp = Path(tmp)
        rgw = Rgw(tmp / "rgw")
        upstream, keyring, count = serve_demo_archive(tmp)
        served = None
        try:
            rgw.start()
            rgw.create_bucket("demo")
            print("demo-s3: RADOS Gateway up at %s in %.1fs (bucket 'demo')"
                  % (rgw.endpoint, rgw.start_seconds))
            env = dict(os.environ, AWS_ACCESS_KEY_ID=rgw.access_key,
                       AWS_SECRET_ACCESS_KEY=rgw.secret_key)
            mirror_into_bucket(depot, upstream, rgw, keyring, tmp / "state", env)
            saved = dict(os.environ)
            os.environ.update(AWS_ACCESS_KEY_ID=rgw.access_key, AWS_SECRET_ACCESS_KEY=rgw.secret_key)
            try:
                served = DepotServer("s3://demo/debian", tmp / "serve", "--s3-endpoint",
                                     rgw.endpoint, "--state", str(tmp / "serve-state")).start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            print("demo-s3: $ depot serve s3://demo/debian --s3-endpoint %s" % rgw.endpoint)
            apt = AptClient(tmp / "apt", served.base, keyring)
            ok, out = apt.update()
            if not ok:
                sys.exit("demo-s3: FAILED: apt-get update from the bucket\n" + out + served.describe())
            ok, out = apt.download("demo000", "demo%03d" % (count - 1))
            if not ok:
                sys.exit("demo-s3: FAILED: apt-get download from the bucket\n" + out)
            print("demo-s3: summary: %d packages mirrored into RGW and verified; apt-get update "
                  "and download OK through depot serve s3:// (%s)"
                  % (count, " ".join(apt.downloaded())))
        finally:
            if served:
                served.stop()
            upstream.stop()
            rgw.stop()


if __name__ == "__main__":
    main()
