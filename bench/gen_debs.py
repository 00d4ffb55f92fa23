#!/usr/bin/env python3
"""Writes one tiny but valid .deb per paragraph of an apt Packages file.

Each .deb is an ar archive of debian-binary, control.tar.gz (./control: the paragraph without
Filename, Size and checksum fields) and data.tar.gz (one 64-byte file unique to the package).
Every byte is a function of the input (mtimes 0, fixed owners), so a rerun writes the same files.

  gen_debs.py PACKAGES OUT_DIR [--limit N] [--changes R] [--jobs J]

PACKAGES may be compressed with lz4, xz, gzip or not at all. Writes OUT_DIR/debs/*.deb and,
with --changes R, OUT_DIR/change/<n>.deb for n = 1..R: the middle package of the set with
version "<version>+bench<n>" (a newer version replacing it). OUT_DIR/done records the
parameters; an OUT_DIR whose done file matches is reused as is.
"""
import argparse
import gzip
import io
import lzma
import multiprocessing
import os
import subprocess
import sys
import tarfile

DROP = {"filename", "size", "md5sum", "sha1", "sha256", "sha512"}


def read_text(path):
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x04\x22\x4d\x18"):
        return subprocess.run(["lz4", "-dc", path], check=True, capture_output=True).stdout
    if head.startswith(b"\xfd7zXZ"):
        return lzma.open(path).read()
    if head.startswith(b"\x1f\x8b"):
        return gzip.open(path).read()
    return open(path, "rb").read()


def paragraphs(data, limit):
    out = []
    for para in data.split(b"\n\n"):
        if not para.strip():
            continue
        lines, keep = [], True
        for line in para.split(b"\n"):
            if line[:1] in (b" ", b"\t"):
                if keep:
                    lines.append(line)
                continue
            name = line.split(b":", 1)[0].decode().lower()
            keep = name not in DROP
            if keep:
                lines.append(line)
        out.append(b"\n".join(lines) + b"\n")
        if limit and len(out) >= limit:
            break
    return out


def field(control, name):
    for line in control.split(b"\n"):
        if line.lower().startswith(name.lower() + b":"):
            return line.split(b":", 1)[1].strip().decode()
    raise ValueError("no %s field" % name.decode())


def targz(members):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name, data in members:
                if data is None:
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                    continue
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ar_member(name, data):
    head = b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 0, 0, 0, b"100644", len(data))
    return head + data + (b"\n" if len(data) % 2 else b"")


def deb_bytes(control):
    pkg = field(control, b"Package")
    ver = field(control, b"Version")
    payload = ("depot bench %s %s\n" % (pkg, ver)).encode()
    payload = (payload * (64 // len(payload) + 1))[:63] + b"\n"
    doc = "./usr/share/doc/%s/" % pkg
    data = targz([("./", None), ("./usr/", None), ("./usr/share/", None),
                  ("./usr/share/doc/", None), (doc, None), (doc + "bench", payload)])
    ctrl = targz([("./", None), ("./control", control)])
    return (b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") +
            ar_member("control.tar.gz", ctrl) + ar_member("data.tar.gz", data))


def deb_name(control):
    ver = field(control, b"Version")
    ver = ver.split(":", 1)[1] if ":" in ver else ver
    return "%s_%s_%s.deb" % (field(control, b"Package"), ver, field(control, b"Architecture"))


def write_one(args):
    control, out_dir = args
    path = os.path.join(out_dir, deb_name(control))
    with open(path + ".tmp", "wb") as f:
        f.write(deb_bytes(control))
    os.replace(path + ".tmp", path)


def with_version(control, version):
    lines = []
    for line in control.split(b"\n"):
        if line.lower().startswith(b"version:"):
            line = b"Version: " + version.encode()
        lines.append(line)
    return b"\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("packages")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--changes", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    stamp = "%s limit=%d changes=%d v1\n" % (os.path.realpath(a.packages), a.limit, a.changes)
    done = os.path.join(a.out, "done")
    if os.path.exists(done) and open(done).read() == stamp:
        print("gen_debs: reusing %s" % a.out, file=sys.stderr)
        return
    paras = paragraphs(read_text(a.packages), a.limit)
    debs = os.path.join(a.out, "debs")
    change = os.path.join(a.out, "change")
    os.makedirs(debs, exist_ok=True)
    os.makedirs(change, exist_ok=True)
    with multiprocessing.Pool(a.jobs) as pool:
        pool.map(write_one, ((p, debs) for p in paras), chunksize=256)
    middle = sorted(paras, key=lambda p: field(p, b"Package"))[len(paras) // 2]
    for n in range(1, a.changes + 1):
        ctrl = with_version(middle, field(middle, b"Version") + "+bench%d" % n)
        with open(os.path.join(change, "%d.deb" % n), "wb") as f:
            f.write(deb_bytes(ctrl))
    with open(done, "w") as f:
        f.write(stamp)
    print("gen_debs: %d packages in %s" % (len(paras), debs), file=sys.stderr)


if __name__ == "__main__":
    main()
