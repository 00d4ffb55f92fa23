#!/usr/bin/env python3
"""demo_apt.py — the apt round trip: build a signed apt archive with the real Debian tools,
serve it on loopback, mirror it with `depot mirror apt --keyring`, serve the mirror with
`depot serve`, and let the real apt-get (isolated state, signed-by the archive key) update from
it and download packages. Then the pull-through cache: `depot serve --upstream` in front of the
archive, two apt-get clients through it, and upstream's request log shows each .deb fetched once.
Run by `make demo`; exits non-zero on any failure.
  DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from apt_harness import AptClient, serve_demo_archive  # noqa: E402
from serve_harness import DepotServer, fetch, metric, parse_prometheus  # noqa: E402


def main():
    depot = os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")
    with tempfile.TemporaryDirectory(prefix="depot-demo-apt.") as tmp:
        tmp = Path(tmp)
        mirror = tmp / "mirror"
        print("demo-apt: building a signed apt archive of %s .debs (dpkg-deb, apt-ftparchive, gpg)"
              % os.environ.get("DEMO_APT_PACKAGES", "40"))
        upstream, keyring, count = serve_demo_archive(tmp)
        (tmp / "mirror-srv").mkdir()
        served = None
        try:
            cmd = [depot, "mirror", "apt", upstream.base, str(mirror), "--dist", "stable",
                   "--component", "main", "--arch", "amd64", "--keyring", str(keyring)]
            print("demo-apt: $ depot mirror apt %s %s --dist stable --component main --arch amd64 "
                  "--keyring archive-key.gpg" % (upstream.base, mirror))
            t0 = time.monotonic()
            p = subprocess.run(cmd, capture_output=True, text=True)
            t1 = time.monotonic()
            if p.returncode != 0:
                sys.exit("demo-apt: FAILED: depot exited %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
            print("demo-apt:   " + p.stdout.strip().splitlines()[-1])
            served = DepotServer(mirror, tmp / "mirror-srv").start()
            print("demo-apt: $ depot serve %s --listen 127.0.0.1:0" % mirror)
            apt = AptClient(tmp / "apt", served.base, keyring)
            print("demo-apt: $ apt-get update    # deb [signed-by=archive-key.gpg] %s stable main"
                  % served.base)
            ok, out = apt.update()
            if not ok:
                sys.exit("demo-apt: FAILED: apt-get update against the mirror\n" + out)
            ok, out = apt.download("demo000", "demo%03d" % (count - 1))
            if not ok:
                sys.exit("demo-apt: FAILED: apt-get download from the mirror\n" + out)
            got = apt.downloaded()
            print("demo-apt: $ apt-get download demo000 demo%03d  ->  %s" % (count - 1, " ".join(got)))
            samples = parse_prometheus(fetch(served.base, "/metrics").body.decode())
            mirror_answers = metric(samples, "depot_serve_cache_requests_total", outcome="mirror")
            print("demo-apt: summary: %d packages mirrored and verified in %.2fs; apt-get update and "
                  "download OK from depot serve (%d answers from the mirror, %d .debs)"
                  % (count, t1 - t0, mirror_answers, len(got)))

            (tmp / "empty").mkdir()
            cache = DepotServer(tmp / "empty", tmp / "cache-srv", "--upstream",
                                "/debian=" + upstream.base)
            served_cache = cache.start()
            try:
                print("demo-apt: $ depot serve EMPTY --upstream /debian=%s   # pull-through cache"
                      % upstream.base)
                upstream.clear_log()
                wanted = ["demo%03d" % i for i in range(0, count, max(1, count // 5))]
                for name in ("cache-a", "cache-b"):
                    client = AptClient(tmp / name, served_cache.base + "/debian", keyring)
                    ok, out = client.update()
                    if ok:
                        ok, out = client.download(*wanted)
                    if not ok:
                        sys.exit("demo-apt: FAILED: apt-get through the cache (%s)\n%s" % (name, out))
                debs = [e["path"] for e in upstream.log() if e["path"].endswith(".deb")]
                if len(debs) != len(set(debs)) or len(set(debs)) != len(wanted):
                    sys.exit("demo-apt: FAILED: upstream saw .deb requests %r" % debs)
                samples = parse_prometheus(fetch(served_cache.base, "/metrics").body.decode())
                hits = metric(samples, "depot_serve_cache_requests_total", outcome="hit")
                print("demo-apt: summary: 2 apt-get clients through the cache downloaded %d .debs "
                      "each; upstream sent each .deb once (%d .deb requests), %d answers were "
                      "cache hits" % (len(wanted), len(debs), hits))
            finally:
                cache.stop()
        finally:
            upstream.stop()
            if served:
                served.stop()


if __name__ == "__main__":
    main()
