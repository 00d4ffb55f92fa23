#!/usr/bin/env python3
"""demo_site.py — a whole mirror site in one process: `depot run` on a demo depot.toml with three
scheduled conda jobs against a loopback upstream (two fine, one whose upstream answers 500).
It waits until every job ran, prints the status page's URL, the status JSON and `depot ctl
list`, then stops depot with SIGTERM. Run last by `make demo`; exits non-zero on any failure.
  DEPOT_BIN=path/to/depot  (default: <repo>/build/depot)
  DEMO_SITE_HOLD=SECONDS   keep the site running that long before stopping it (to open the page)"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from depot_harness import FaultServer, mcc, terminate  # noqa: E402

CONFIG = """\
listen = "127.0.0.1:0"
data_root = "{data}"
max_concurrent = 2
retry = 0
jitter = "0s"

[[mirror]]
name = "conda-forge"
registry = "conda"
upstream = "{base}/conda-forge/noarch"
interval = "30m"

[[mirror]]
name = "bioconda"
registry = "conda"
upstream = "{base}/bioconda/noarch"
interval = "0 */6 * * *"

[[mirror]]
name = "broken-channel"
registry = "conda"
upstream = "{base}/broken/noarch"
interval = "1h"
"""


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.read()


def start(depot, config, tmp):
    port_file = tmp / "site.port"
    log = open(tmp / "site.log", "wb")
    proc = subprocess.Popen([depot, "run", "--config", str(config), "--port-file",
                             str(port_file)], stdout=subprocess.DEVNULL, stderr=log,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("demo-site: FAILED: depot run did not start\n" +
                     (tmp / "site.log").read_text(errors="replace"))
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def wait_all_ran(port, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        jobs = json.loads(get(port, "/_depot/status.json"))
        if all(j["status"] in ("success", "failed") for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            sys.exit("demo-site: FAILED: jobs still %s" % {j["name"]: j["status"] for j in jobs})
        time.sleep(0.2)


def main():
    depot = os.environ.get("DEPOT_BIN") or str(REPO / "build" / "depot")
    with tempfile.TemporaryDirectory(prefix="depot-demo-site.") as tmp:
        tmp = Path(tmp)
        up = tmp / "upstream"
        for channel in ("conda-forge", "bioconda"):
            mcc.generate(str(up), channel, "noarch", count=30)
        (tmp / "up-srv").mkdir()
        upstream = FaultServer(up, tmp / "up-srv",
                               rules=[{"glob": "/broken/*", "action": "error", "status": 500}])
        upstream.start()
        config = tmp / "depot.toml"
        config.write_text(CONFIG.format(data=tmp / "data", base=upstream.base))
        proc = None
        try:
            check = subprocess.run([depot, "check-config", str(config)], capture_output=True,
                                   text=True)
            if check.returncode != 0:
                sys.exit("demo-site: FAILED: check-config\n" + check.stdout + check.stderr)
            print("demo-site: $ depot check-config depot.toml\n  " +
                  check.stdout.strip().replace("\n", "\n  "))
            proc, port = start(depot, config, tmp)
            print("demo-site: $ depot run --config depot.toml   # 3 scheduled jobs, serving "
                  "data_root")
            jobs = wait_all_ran(port)
            status = {j["name"]: j["status"] for j in jobs}
            if status != {"conda-forge": "success", "bioconda": "success",
                          "broken-channel": "failed"}:
                sys.exit("demo-site: FAILED: unexpected statuses %s" % status)
            if b"status.json" not in get(port, "/_depot/"):
                sys.exit("demo-site: FAILED: no status page at /_depot/")
            get(port, "/conda-forge/repodata.json")  # the mirrored tree, served
            print("demo-site: status page: http://127.0.0.1:%d/_depot/" % port)
            print("demo-site: status JSON: http://127.0.0.1:%d/_depot/status.json" % port)
            for j in jobs:
                print("  " + json.dumps({k: j[k] for k in (
                    "name", "status", "last_update", "next_schedule", "size", "files", "error")}))
            ctl = subprocess.run([depot, "ctl", "--config", str(config), "list"],
                                 capture_output=True, text=True)
            print("demo-site: $ depot ctl list\n  " + ctl.stdout.strip().replace("\n", "\n  "))
            hold = float(os.environ.get("DEMO_SITE_HOLD", "0"))
            if hold > 0:
                print("demo-site: holding the site for %.0f s" % hold)
                time.sleep(hold)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            proc = None
            if rc != 0:
                sys.exit("demo-site: FAILED: depot run exited %d on SIGTERM" % rc)
            print("demo-site: OK: 2 jobs mirrored, the failing one reported with its reason; "
                  "depot run stopped cleanly on SIGTERM")
        finally:
            if proc is not None:
                terminate(proc, timeout=30)
            upstream.stop()


if __name__ == "__main__":
    main()
