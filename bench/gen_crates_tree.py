#!/usr/bin/env python3
"""Generate a synthetic crates.io-style sparse registry for bench/crates_bench.sh.

  gen_crates_tree.py ROOT --count 20000 [--versions 10] [--min-kb 2] [--max-kb 60] [--seed 1]

Writes under ROOT:
  index/<sparse path>                one compact JSON line per version, crates.io's shape
                                     (name, vers, deps, cksum, features, yanked, links, v,
                                     rust_version); cargo's paths: 1/a, 2/ab, 3/a/abc, ab/cd/abcd
  crates/NAME/NAME-VERS.crate        COUNT files of random bytes, log-uniform MIN_KB..MAX_KB;
                                     cksum = their sha256 (depot never opens a .crate)
  crates.list                        every crate name, one a line (for --crates-from)

index/config.json is not written: its "dl" names the server's port, which the bench script
knows only when it starts nginx. About COUNT / VERSIONS crates; versions per crate are skewed
(many crates with a few versions, a few with a hundred or more), as on crates.io. Same
arguments, same bytes.
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys

WORDS = ("serde tokio rand async core sys derive macro util utils log time json http hyper "
         "net io fs path test bench proc parse parser lex codec crypto hash sha md5 base64 "
         "url uri mime tls ssl rustls ring zstd gzip flate lz4 xz tar zip image png gif "
         "color term tui cli clap arg args config env dotenv error anyhow thiserror futures "
         "stream sync lock mutex atomic arena alloc vec map set tree graph num big int float "
         "decimal time chrono date uuid rng geo math simd blas matrix tensor ml data frame "
         "sql db redis mongo kafka grpc proto protobuf capnp wasm web js dom yew axum actix "
         "rocket warp tower service client server api sdk aws azure gcp cloud kube docker "
         "git ssh ftp smtp mail dns tcp udp quic socket ipc rpc bus event queue task job "
         "cron retry cache pool buf bytes byte str string text regex glob fmt pretty ansi "
         "win unix linux mac ffi bindgen cc build embed hal gpio usb serial spi i2c").split()
SEPARATORS = ("-", "-", "-", "_")
KINDS = ("normal",) * 6 + ("dev",) * 3 + ("build",)
FEATURES = ("std", "alloc", "serde", "derive", "async", "full", "default", "rt", "macros",
            "tracing", "tls", "json", "unstable", "nightly", "simd", "log")
TARGETS = (None,) * 8 + ("cfg(unix)", "cfg(windows)", 'cfg(target_os = "linux")')


def index_path(name: str) -> str:
    n = name.lower()
    if len(n) == 1:
        return f"1/{n}"
    if len(n) == 2:
        return f"2/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def crate_names(rng: random.Random, n: int) -> list[str]:
    """n distinct names (case-insensitively): a few of 1-3 chars, some mixed case."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    seen: set[str] = set()
    out: list[str] = []

    def add(name: str) -> None:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)

    short = [(1, n // 200), (2, n // 100), (3, n // 50)]
    for length, want in short:
        for _ in range(want * 4):
            if sum(1 for x in out if len(x) == length) >= want:
                break
            add(rng.choice(letters) + "".join(rng.choice(letters + "0123456789")
                                              for _ in range(length - 1)))
    while len(out) < n:
        parts = [rng.choice(WORDS) for _ in range(rng.choice((1, 2, 2, 2, 3, 3)))]
        name = rng.choice(SEPARATORS).join(parts)
        if len(out) % 5 == 0:
            name += str(rng.randint(2, 99))
        if rng.random() < 0.01:
            name = name[0].upper() + name[1:]
        if len(name) >= 4:
            add(name[:64])
    rng.shuffle(out)
    return out[:n]


def version_counts(rng: random.Random, crates: int, total: int) -> list[int]:
    """Per-crate version counts summing to total, heavy-tailed (log-normal weights)."""
    w = [rng.lognormvariate(0.0, 1.2) for _ in range(crates)]
    scale = total / sum(w)
    counts = [max(1, round(x * scale)) for x in w]
    diff = total - sum(counts)
    while diff != 0:
        i = rng.randrange(crates)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def versions(rng: random.Random, n: int) -> list[str]:
    major, minor, patch = (0, 1, 0) if rng.random() < 0.7 else (1, 0, 0)
    out = []
    alpha = 0
    for _ in range(n):
        r = rng.random()
        if r < 0.03:  # a pre-release of the next major
            alpha += 1
            out.append(f"{major + 1}.0.0-alpha.{alpha}")
            continue
        out.append(f"{major}.{minor}.{patch}")
        if r < 0.06:
            major, minor, patch, alpha = major + 1, 0, 0, 0
        elif r < 0.3:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return out


def dep(rng: random.Random, name: str) -> dict:
    return {"name": name, "req": f"^{rng.randint(0, 3)}.{rng.randint(0, 20)}",
            "features": rng.sample(FEATURES, rng.choice((0, 0, 0, 1, 2))),
            "optional": rng.random() < 0.2, "default_features": rng.random() < 0.85,
            "target": rng.choice(TARGETS), "kind": rng.choice(KINDS)}


def crate_size(rng: random.Random, min_kb: float, max_kb: float) -> int:
    return int(math.exp(rng.uniform(math.log(min_kb * 1024), math.log(max_kb * 1024))))


def generate(root: str, count: int, per_crate: float, min_kb: float, max_kb: float,
             seed: int) -> tuple[int, int, int]:
    rng = random.Random(seed)
    ncrates = max(1, min(count, round(count / per_crate)))
    names = crate_names(rng, ncrates)
    counts = version_counts(rng, ncrates, count)
    total_bytes = index_bytes = 0
    for name, nv in zip(names, counts):
        pool = [rng.choice(names) for _ in range(rng.choice((0, 1, 2, 3, 4, 6, 8)))]
        deps = [dep(rng, d) for d in dict.fromkeys(pool) if d != name]
        feats = {f: [] for f in rng.sample(FEATURES, rng.choice((0, 1, 2, 4)))}
        cdir = os.path.join(root, "crates", name)
        os.makedirs(cdir, exist_ok=True)
        lines = []
        for i, vers in enumerate(versions(rng, nv)):
            data = rng.randbytes(crate_size(rng, min_kb, max_kb))
            with open(os.path.join(cdir, f"{name}-{vers}.crate"), "wb") as f:
                f.write(data)
            total_bytes += len(data)
            if rng.random() < 0.15 and deps:  # dependencies drift between versions
                deps[rng.randrange(len(deps))] = dep(rng, rng.choice(names))
            line = {"name": name, "vers": vers, "deps": deps,
                    "cksum": hashlib.sha256(data).hexdigest(), "features": feats,
                    "yanked": rng.random() < 0.03, "links": None}
            if i > nv // 2:
                line["v"] = 2
                line["features2"] = {"serde": ["dep:serde"]} if "serde" in feats else {}
                line["rust_version"] = f"1.{rng.randint(56, 80)}"
            lines.append(json.dumps(line, separators=(",", ":")) + "\n")
        ipath = os.path.join(root, "index", index_path(name))
        os.makedirs(os.path.dirname(ipath), exist_ok=True)
        text = "".join(lines).encode()
        with open(ipath, "wb") as f:
            f.write(text)
        index_bytes += len(text)
    with open(os.path.join(root, "crates.list"), "w") as f:
        f.writelines(n + "\n" for n in names)
    return ncrates, total_bytes, index_bytes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--count", type=int, default=20000, help=".crate files in all")
    ap.add_argument("--versions", type=float, default=10.0, help="mean versions per crate")
    ap.add_argument("--min-kb", type=float, default=2.0)
    ap.add_argument("--max-kb", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.count < 1 or a.versions < 1 or not 0 < a.min_kb <= a.max_kb:
        ap.error("need --count >= 1, --versions >= 1, 0 < --min-kb <= --max-kb")
    if os.path.exists(os.path.join(a.root, "index")) or os.path.exists(os.path.join(a.root, "crates")):
        ap.error(f"{a.root} already holds a tree; remove it first")
    ncrates, nbytes, ibytes = generate(a.root, a.count, a.versions, a.min_kb, a.max_kb, a.seed)
    print(f"{ncrates} crates, {a.count} .crate files ({nbytes} bytes), index {ibytes} bytes",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
