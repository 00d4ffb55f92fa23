#!/usr/bin/env python3
"""gen_apt_tree.py ROOT --count N: a signed apt archive of N small .deb files for
bench/apt_bench.sh.  The .debs are written directly in the deb format (ar: debian-binary,
control.tar.gz, data.tar.gz; dpkg-deb would take a minute for 5,000), the indexes and the
signature come from the real tools via tests/fixtures/make_apt_repo.py."""

import argparse
import gzip
import hashlib
import io
import random
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fixtures"))
import make_apt_repo as mar  # noqa: E402


def targz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo("./" + name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def ar(members):
    out = [b"!<arch>\n"]
    for name, data in members:
        out.append(b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 0, 0, 0, b"100644",
                                                        len(data)))
        out.append(data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


def deb(name, version, size, rng):
    control = ("Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: bench <b@depot.test>\n"
               "Installed-Size: %d\nSection: misc\nPriority: optional\n"
               "Description: depot benchmark package\n" % (name, version, size // 1024 + 1))
    payload = rng.randbytes(size)
    return ar([("debian-binary", b"2.0\n"),
               ("control.tar.gz", targz([("control", control.encode())])),
               ("data.tar.gz", targz([("usr/share/%s/data" % name, payload)]))])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--min-kb", type=int, default=1)
    ap.add_argument("--max-kb", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gnupghome", required=True)
    ap.add_argument("--keyring", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = Path(a.root)
    for i in range(a.count):
        name = "bench%05d" % i
        rel = mar.pool_path(name, "1.0", "amd64")
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(deb(name, "1.0", rng.randint(a.min_kb * 1024, a.max_kb * 1024), rng))
    mar.make_key(a.gnupghome, a.keyring)
    mar.publish(root, "stable", a.gnupghome, by_hash=True)


if __name__ == "__main__":
    main()
