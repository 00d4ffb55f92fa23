#!/usr/bin/env python3
"""gen_npm_tree.py — a synthetic npm registry for bench/npm_bench.sh.

ROOT/<name>                        packument (full form; scoped: ROOT/@scope/name), sized like
                                   public packuments: a README of README_KB, per version a
                                   manifest with dependencies, scripts, maintainers, dist
ROOT/tarballs/<name>/-/<file>.tgz  VERSIONS tarballs per package, MIN_KB..MAX_KB random bytes
                                   (depot verifies digests, not the archive format)

Writes LISTS/packages (one name a line) and LISTS/urls (every packument and tarball URL under
BASE, packuments as npm spells them: /@scope%2fname).  Deterministic for a given --seed.
"""

import argparse
import base64
import hashlib
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--lists", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--versions", type=int, default=5)
    ap.add_argument("--min-kb", type=float, default=1)
    ap.add_argument("--max-kb", type=float, default=12)
    ap.add_argument("--readme-kb", type=float, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.lists, exist_ok=True)
    names = []
    for i in range(a.count):
        names.append("@bench%d/pkg-%05d" % (i % 20, i) if i % 10 == 0 else "pkg-%05d" % i)
    urls, total = [], 0
    for i, name in enumerate(names):
        doc = {"_id": name, "name": name, "description": "bench package %d" % i,
               "dist-tags": {}, "versions": {}, "time": {"created": "2020-01-01T00:00:00.000Z"},
               "readme": "".join(rnd.choice("abcdefghij klmnop\n") for _ in
                                 range(int(a.readme_kb * 1024))),
               "maintainers": [{"name": "m%d" % k, "email": "m%d@example.invalid" % k}
                               for k in range(3)],
               "license": "MIT", "keywords": ["bench", "depot", "npm"]}
        for v in range(a.versions):
            version = "1.%d.%d" % (v // 3, v % 3)
            size = int(rnd.uniform(a.min_kb, a.max_kb) * 1024)
            body = rnd.randbytes(size)
            file = "%s-%s.tgz" % (name.split("/")[-1], version)
            rel = "tarballs/%s/-/%s" % (name, file)
            path = os.path.join(a.root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
            total += size
            deps = {names[(i + k * 7 + 1) % len(names)]: "^1.0.0" for k in range(rnd.randint(0, 4))}
            doc["versions"][version] = {
                "name": name, "version": version, "description": doc["description"],
                "main": "index.js", "license": "MIT", "dependencies": deps,
                "scripts": {"test": "node test.js", "build": "tsc -p ."},
                "repository": {"type": "git", "url": "git+https://example.invalid/%s.git" % name},
                "engines": {"node": ">=14"}, "_id": "%s@%s" % (name, version),
                "_npmVersion": "10.2.0", "_nodeVersion": "20.10.0",
                "maintainers": doc["maintainers"],
                "dist": {"tarball": "%s/%s" % (a.base, rel),
                         "shasum": hashlib.sha1(body).hexdigest(),
                         "integrity": "sha512-" + base64.b64encode(
                             hashlib.sha512(body).digest()).decode(),
                         "fileCount": 3, "unpackedSize": size * 3}}
            doc["time"][version] = "2021-01-%02dT00:00:00.000Z" % (v + 1)
            urls.append("%s/%s" % (a.base, rel))
        doc["dist-tags"]["latest"] = version
        doc["time"]["modified"] = "2022-01-01T00:00:00.000Z"
        ppath = os.path.join(a.root, *name.split("/"))
        os.makedirs(os.path.dirname(ppath), exist_ok=True)
        text = json.dumps(doc, indent=2)
        with open(ppath, "w") as f:
            f.write(text)
        total += len(text)
        urls.append("%s/%s" % (a.base, name.replace("/", "%2f")))
    with open(os.path.join(a.lists, "packages"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(a.lists, "urls"), "w") as f:
        f.write("\n".join(urls) + "\n")
    print("%d packages, %d files, %.1f MB" % (len(names), len(urls), total / 1e6))


if __name__ == "__main__":
    main()
