#!/usr/bin/env python3
"""Generate a yum repository with a large primary.xml for bench/yum_primary_bench.sh.

Layout under OUT:
  repodata/repomd.xml                    naming only primary (checksum, open-checksum, sizes)
  repodata/<sha256>-primary.xml.<ext>    COUNT packages, about 1.6 KB of XML each (the fields
                                         createrepo_c writes: format, provides, requires, files)
  Packages/b/blob<k>.rpm                 BLOBS small files; package i lives at blob<i % BLOBS>

Packages share BLOBS locations so a mirror run spends its time on primary (download,
decompression, parsing), not on fetching COUNT files. Deterministic: same arguments, same bytes.
"""

import argparse
import gzip
import hashlib
import lzma
import subprocess
from pathlib import Path


def package(i, href, size, sha):
    name = f"bench-pkg{i:06d}"
    reqs = "".join(f'<rpm:entry name="libdep{(i * 7 + k) % 5000}.so.{k}()(64bit)"/>' for k in range(8))
    files = "".join(f"<file>/usr/lib64/{name}/part{k}.so</file>" for k in range(3))
    return (
        f'<package type="rpm"><name>{name}</name><arch>x86_64</arch>'
        f'<version epoch="0" ver="{i % 97}.{i % 13}" rel="1.el9"/>'
        f'<checksum type="sha256" pkgid="YES">{sha}</checksum>'
        f"<summary>Benchmark package {i}</summary>"
        f"<description>Package {i} of the yum primary benchmark. It exists to give the parser "
        f"the amount of text a distribution's primary.xml holds per package.</description>"
        f"<packager>Bench Build System</packager><url>https://example.org/{name}</url>"
        f'<time file="{1700000000 + i}" build="{1690000000 + i}"/>'
        f'<size package="{size}" installed="{size * 3}" archive="{size * 3 + 512}"/>'
        f'<location href="{href}"/>'
        f"<format><rpm:license>MIT</rpm:license><rpm:vendor>Bench</rpm:vendor>"
        f"<rpm:group>Unspecified</rpm:group><rpm:buildhost>builder{i % 16}.example.org</rpm:buildhost>"
        f"<rpm:sourcerpm>{name}-1.0-1.el9.src.rpm</rpm:sourcerpm>"
        f'<rpm:header-range start="4504" end="{20000 + i % 5000}"/>'
        f'<rpm:provides><rpm:entry name="{name}" flags="EQ" epoch="0" ver="1.0" rel="1.el9"/>'
        f'<rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" ver="1.0" rel="1.el9"/></rpm:provides>'
        f"<rpm:requires>{reqs}</rpm:requires>{files}</format></package>\n"
    )


def compress(data, ext):
    if ext == "gz":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if ext == "xz":
        return lzma.compress(data, preset=6)
    if ext == "zst":
        return subprocess.run(["zstd", "-q", "-c", "-10"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    raise SystemExit(f"unknown compression {ext}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--blobs", type=int, default=64)
    ap.add_argument("--compress", default="gz", choices=["gz", "xz", "zst"])
    a = ap.parse_args()

    blobs = []
    (a.out / "Packages/b").mkdir(parents=True, exist_ok=True)
    for k in range(a.blobs):
        body = (f"rpm blob {k}\n" * (k + 1)).encode()
        (a.out / f"Packages/b/blob{k}.rpm").write_bytes(body)
        blobs.append((f"Packages/b/blob{k}.rpm", len(body), hashlib.sha256(body).hexdigest()))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<metadata '
             'xmlns="http://linux.duke.edu/metadata/common" '
             f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{a.count}">\n']
    parts += [package(i, *blobs[i % a.blobs]) for i in range(a.count)]
    parts.append("</metadata>\n")
    xml = "".join(parts).encode()
    z = compress(xml, a.compress)
    zsha = hashlib.sha256(z).hexdigest()
    href = f"repodata/{zsha}-primary.xml.{a.compress}"
    (a.out / "repodata").mkdir(exist_ok=True)
    (a.out / href).write_bytes(z)
    (a.out / "repodata/repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>'
        f'<data type="primary"><checksum type="sha256">{zsha}</checksum>'
        f'<open-checksum type="sha256">{hashlib.sha256(xml).hexdigest()}</open-checksum>'
        f'<location href="{href}"/><timestamp>1700000000</timestamp>'
        f"<size>{len(z)}</size><open-size>{len(xml)}</open-size></data></repomd>\n")
    print(f"{a.out}: {a.count} packages, primary {len(z)} bytes ({a.compress}), {len(xml)} open")


if __name__ == "__main__":
    main()
