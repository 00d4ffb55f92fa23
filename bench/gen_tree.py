#!/usr/bin/env python3
"""Generate a deterministic upstream tree of two conda channels for the mirror benchmark.

Layout under OUT:
  small/noarch/repodata.json   + SMALL_COUNT files  small<i>-1.0-0.conda, 1..64 KiB each
  large/noarch/repodata.json   + LARGE_COUNT files  large<i>-1.0-0.conda, LARGE_MB MiB each

Contents are pseudo-random bytes from a seeded generator, so the same arguments always give
the same tree (same bytes, same digests). Work is split over processes (one per CPU).
"""

import argparse
import hashlib
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor

KIB = 1024
MIB = 1024 * 1024
CHUNK = 4 * MIB


def _file_name(kind: str, i: int) -> tuple[str, str]:
    name = f"{kind}{i:05d}"
    return name, f"{name}-1.0-0.conda"


def _write_one(args: tuple[str, str, int, int, int]) -> tuple[str, dict]:
    subdir, kind, i, size, seed = args
    name, fname = _file_name(kind, i)
    rng = random.Random(f"{seed}:{kind}:{i}")
    sha256 = hashlib.sha256()
    md5 = hashlib.md5()
    path = os.path.join(subdir, fname)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            block = rng.randbytes(n)
            sha256.update(block)
            md5.update(block)
            f.write(block)
            left -= n
    return fname, {
        "build": "0",
        "build_number": 0,
        "depends": [],
        "md5": md5.hexdigest(),
        "name": name,
        "sha256": sha256.hexdigest(),
        "size": size,
        "subdir": "noarch",
        "version": "1.0",
    }


def gen_channel(pool, out: str, kind: str, count: int, sizes: list[int], seed: int) -> int:
    subdir = os.path.join(out, kind, "noarch")
    os.makedirs(subdir, exist_ok=True)
    jobs = [(subdir, kind, i, sizes[i], seed) for i in range(count)]
    chunksize = max(1, count // (8 * (os.cpu_count() or 1)))
    packages = dict(pool.map(_write_one, jobs, chunksize=chunksize))
    repodata = {
        "info": {"subdir": "noarch"},
        "packages": {},
        "packages.conda": dict(sorted(packages.items())),
        "repodata_version": 1,
    }
    with open(os.path.join(subdir, "repodata.json"), "w") as f:
        json.dump(repodata, f, separators=(",", ":"))
    return sum(sizes)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--small-count", type=int, default=20000)
    p.add_argument("--large-count", type=int, default=20)
    p.add_argument("--large-mb", type=int, default=50)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    size_rng = random.Random(a.seed)
    small_sizes = [size_rng.randint(1 * KIB, 64 * KIB) for _ in range(a.small_count)]
    large_sizes = [a.large_mb * MIB] * a.large_count

    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        small_bytes = gen_channel(pool, a.out, "small", a.small_count, small_sizes, a.seed)
        large_bytes = gen_channel(pool, a.out, "large", a.large_count, large_sizes, a.seed)
    print(f"generated small: {a.small_count} files {small_bytes / MIB:.1f} MiB; "
          f"large: {a.large_count} files {large_bytes / MIB:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
