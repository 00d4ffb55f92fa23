#!/usr/bin/env python3
"""make_corpus.py — writes the seed corpora fuzz/corpus/<target>/ (kept in git).

Files named regress-* are inputs of crashes found and fixed, kept as they are. The other
seeds come from the test fixture generators (tests/fixtures: real apt, conda, PyPI and yum
repositories built with dpkg-deb, apt-ftparchive, gpg, createrepo_c) and from inputs of the unit
tests, trimmed to small files. Run it again after a fixture or a target changes:

  python3 fuzz/make_corpus.py            # rewrites fuzz/corpus/
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fixtures"))
import make_apt_repo  # noqa: E402
import make_conda_channel  # noqa: E402
import make_crates_registry  # noqa: E402
import make_opam_repo  # noqa: E402
import make_npm_registry  # noqa: E402
import make_pypi_index  # noqa: E402
import make_rustup_dist  # noqa: E402
import make_yum_repo  # noqa: E402

MAX_SEED = 16 * 1024  # bytes per seed file; longer fixtures are cut


class Corpus:
    def __init__(self, root):
        self.root = root
        self.total = 0

    def add(self, target, name, data):
        if isinstance(data, str):
            data = data.encode()
        data = data[:MAX_SEED]
        d = self.root / target
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        self.total += len(data)

    def add_compressed(self, name, data):
        """A seed of both decompression targets (read_decompressed and PushDecompressor)."""
        for target in ("decompress", "push_decompress"):
            self.add(target, name, data)


def tool(cmd, data=None):
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


def ar_member(name, data):
    head = b"%-16s%-12s%-6s%-6s%-8s%-10d`\n" % (name.encode(), b"0", b"0", b"0", b"100644",
                                                len(data))
    return head + data + (b"\n" if len(data) % 2 else b"")


def control_tar(control, compress):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo("./control")
        info.size = len(control)
        t.addfile(info, io.BytesIO(control))
    raw = buf.getvalue()
    return {"": raw, ".gz": gzip.compress(raw, mtime=0), ".xz": lzma.compress(raw),
            ".bz2": bz2.compress(raw), ".zst": tool(["zstd", "-q", "-c"], raw)}[compress]


def small_deb(control, compress=""):
    return (b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") +
            ar_member("control.tar" + compress, control_tar(control, compress)) +
            ar_member("data.tar", b""))


CONTROL = ("Package: tiny\nVersion: 1:1.2-3~b1\nArchitecture: amd64\nSource: tiny-src (1.2-3)\n"
           "Maintainer: depot tests <t@depot.test>\nDepends: libc6 (>= 2.36), a | b:any (<< 2)\n"
           "Pre-Depends: dpkg (>= 1.19) [amd64] <!nocheck>\nProvides: tiny-virtual (= 1.2)\n"
           "Conffiles:\n /etc/tiny.conf 0123456789abcdef0123456789abcdef\n"
           "Description: a tiny package\n first line\n .\n second paragraph\n")


def apt_seeds(c, work):
    gnupg = work / "gnupg"
    make_apt_repo.make_key(gnupg, work / "keyring.gpg")
    root = work / "apt"
    make_apt_repo.add_packages(root, [("pkg%02d" % i, "1.%d" % i, "amd64") for i in range(3)],
                               payload=64)
    extra = ("Package: hostile\nVersion: 1\nArchitecture: amd64\nFilename: ../../etc/passwd\n"
             "Size: 12\nSHA256: " + "ab" * 32 + "\n")
    ddir = make_apt_repo.publish(root, "stable", gnupg, extra=extra)
    packages = (ddir / "main/binary-amd64/Packages").read_bytes()
    c.add("apt_packages", "packages", packages)
    c.add("deb822", "packages", packages)
    sources = ("Package: tiny\nBinary: tiny\nVersion: 1.2-3\nDirectory: pool/main/t/tiny\n"
               "Files:\n 0123456789abcdef0123456789abcdef 1234 tiny_1.2-3.dsc\n"
               "Checksums-Sha256:\n " + "cd" * 32 + " 1234 tiny_1.2-3.dsc\n " + "ef" * 32 +
               " 99 tiny_1.2.orig.tar.xz\n")
    c.add("apt_packages", "sources", sources)
    c.add("deb822", "sources", sources)
    c.add("deb822", "comments", "# c\nA: b\n c\n#x\n d\n\n\n\nB:\n e\r\n\nC: \t\n")
    for name in ("Release", "InRelease"):
        c.add("apt_release", name, (ddir / name).read_bytes())
    c.add("gpgv", "release.gpg", (ddir / "Release.gpg").read_bytes())
    armored = tool(["gpg", "--homedir", str(gnupg), "--armor", "--export"])
    c.add("gpgv", "keyring.asc", armored)
    status = subprocess.run(["gpgv", "--homedir", str(gnupg), "--status-fd", "1", "--keyring",
                             str(work / "keyring.gpg"), str(ddir / "InRelease")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    c.add("gpgv", "status-good", status)
    c.add("gpgv", "status-bad", "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 0123456789ABCDEF x\n")
    make_apt_repo.stop_agent(gnupg)
    debs = sorted((root / "pool").rglob("*.deb"))
    c.add("deb_reader", "dpkg-deb-gzip.deb", debs[0].read_bytes())
    for comp in ("", ".gz", ".xz", ".bz2", ".zst"):
        c.add("deb_reader", "control%s.deb" % (comp or ".tar"), small_deb(CONTROL.encode(), comp))
    c.add("deb_control", "full", CONTROL)
    control = tool(["dpkg-deb", "-f", str(debs[0])])
    c.add("deb_control", "dpkg-deb", control)
    c.add("deb_control", "minimal", "Package: ab\nVersion: 0\nArchitecture: all\n")
    for name in ("Packages.gz", "Packages.xz"):
        c.add_compressed(name, (ddir / "main/binary-amd64" / name).read_bytes())
    c.add_compressed("Translation-en.bz2", (ddir / "main/i18n/Translation-en.bz2").read_bytes())
    c.add_compressed("plain", packages[:512])
    c.add_compressed("lz4", tool(["lz4", "-q", "-c"], packages[:512]))
    c.add_compressed("zst", tool(["zstd", "-q", "-c"], packages[:512]))
    plain = packages[:512]
    c.add("push_decompress", "multi.gz",
          gzip.compress(plain[:200], mtime=0) + gzip.compress(plain[200:], mtime=0))
    c.add("push_decompress", "multi.bz2", bz2.compress(plain[:200]) + bz2.compress(plain[200:]))


def conda_seeds(c, work):
    root = work / "conda"
    make_conda_channel.generate(root, count=4, min_size=16, max_size=64, zst_variant=False)
    d = Path(make_conda_channel.subdir_path(root, "conda-forge", "noarch"))
    c.add("conda_repodata", "repodata.json", (d / "repodata.json").read_bytes())
    c.add("conda_repodata", "current_repodata.json", (d / "current_repodata.json").read_bytes())
    c.add_compressed("repodata.json.bz2", (d / "repodata.json.bz2").read_bytes())
    make_conda_channel.add_hostile(root, "dotdot")
    c.add("conda_repodata", "hostile-dotdot", (d / "repodata.json").read_bytes())
    c.add("conda_repodata", "v2-base-url",
          json.dumps({"info": {"subdir": "linux-64", "base_url": "https://cdn.example/x/"},
                      "repodata_version": 2, "packages": {},
                      "packages.conda": {"a-1-0.conda": {"size": 1, "md5": "0" * 32}}}))


def crates_seeds(c, work):
    """Each index file of the default registry (first line: the crate), a hostile line, and the
    config.json forms."""
    root = str(work / "crates")
    make_crates_registry.generate(root, make_crates_registry.dl_for("http://up.example"))
    index = Path(make_crates_registry.index_dir(root))
    for name in make_crates_registry.ALL_CRATES:
        path = index / make_crates_registry.index_path(name)
        c.add("crates_index", "index-" + name, name.encode() + b"\n" + path.read_bytes())
    make_crates_registry.add_hostile(root, "vers-dotdot")
    path = index / make_crates_registry.index_path("multi-ver")
    c.add("crates_index", "hostile-vers-dotdot", b"multi-ver\n" + path.read_bytes())
    for form in ("plain", "static", "prefix", "checksum"):
        dl = make_crates_registry.dl_for("http://up.example", form)
        c.add("crates_index", "config-" + form, "x\n" + json.dumps({"dl": dl}))


def opam_seeds(c, work):
    """The fixture repository's opam files and repo file, and the older url-file forms."""
    root, src = str(work / "opam"), str(work / "opam-src")
    make_opam_repo.generate(root, src, "http://src.example", make_opam_repo.GEN2)
    for dirpath, _, files in os.walk(os.path.join(root, "packages")):
        for fn in files:
            c.add("opam_file", os.path.basename(dirpath), Path(dirpath, fn).read_bytes())
    c.add("opam_file", "repo", make_opam_repo.REPO_FILE)
    c.add("opam_file", "url-1.2", 'archive: "http://x/a.tgz"\nchecksum: "%s"\n' % ("0" * 32))
    c.add("opam_file", "extra-source",
          'extra-source "p.diff" {\n  src: "http://x/p.diff"\n  checksum: "sha512=%s"\n}\n'
          'build: [ ["sh" "-c" "a \\\n  b"] {os = "linux" & !(x | ?y)} ]\n'
          '(* c (* d *) *) # e\ndescription: """t\\x41\\066"""\n' % ("a" * 128))
def rustup_seeds(c, work):
    """The fixture's channel manifests, a hostile one, a .sha256 file and release-stable.toml."""
    root = work / "rustup"
    make_rustup_dist.generate(str(root), with_rustup=False)
    stable = (root / "dist" / "channel-rust-stable.toml").read_text()
    c.add("rustup_manifest", "channel-stable", stable)
    c.add("rustup_manifest", "hostile-dotdot",
          stable.replace("/dist/2026-04-14/rustc-", "/dist/2026-04-14/../../rustc-", 1))
    c.add("rustup_manifest", "sha256",
          (root / "dist" / "channel-rust-stable.toml.sha256").read_bytes())
    c.add("rustup_manifest", "release-stable", 'schema-version = "1"\nversion = "1.29.0"\n')
def npm_seeds(c, work):
    """Each packument of the default registry (first line: the package), one with a hostile
    tarball name, and SRI forms."""
    root = str(work / "npm")
    make_npm_registry.generate(root, "http://up.example")
    for name in make_npm_registry.names(root):
        body = Path(make_npm_registry.packument_path(root, name)).read_bytes()
        c.add("npm_packument", "packument-" + name.replace("/", "-"), name.encode() + b"\n" + body)
    doc = make_npm_registry.read_packument(root, "fix-app")
    doc["versions"]["1.1.0"]["dist"]["tarball"] = "http://up.example/x/..%2f..%2fetc.tgz"
    c.add("npm_packument", "hostile-tarball", "fix-app\n" + json.dumps(doc))
    c.add("npm_packument", "sri-forms", "x\nsha512-" + "A" * 86 + "== sha1-" + "B" * 27 + "=")


def pypi_seeds(c, work):
    root = work / "pypi"
    make_pypi_index.generate(str(root))
    for proj in ("tiny-alpha", "tiny-beta"):
        html = (root / "simple" / proj / "index.html").read_bytes()
        js = (root / "simple" / proj / "index.json").read_bytes()
        for target in ("pypi_page", "page_rewrite"):
            c.add(target, proj + ".html", html)
            c.add(target, proj + ".json", js)
    c.add("pypi_page", "base-and-entities",
          '<html><base href="https://files.example/p/"><!-- x --><a href="a-1.whl#sha256=' +
          "ab" * 32 + '" data-yanked="&lt;old&gt;&#39;" data-core-metadata="true">'
          "a-1.whl</a><a href='../b%2B1.whl#SHA256=" + "CD" * 32 + "'></a></html>")
    c.add("url_text", "relative", "https://pypi.example/simple/proj/\n../../packages/a%20b.whl")
    c.add("url_text", "absolute", "https://pypi.example/simple/\nhttps://files.example/a.whl#x")
    c.add("url_text", "scheme-relative", "https://pypi.example/s/?q=1\n//cdn.example/./a/../b")
    c.add("url_text", "names", "http://a\nTiny__Beta.-x &amp;&#x27;&lt;")


def yum_seeds(c, work):
    root = work / "yum"
    make_yum_repo.make_repo(root, count=2, payload=64)
    repodata = root / "repodata"
    c.add("yum_repomd", "repomd.xml", (repodata / "repomd.xml").read_bytes())
    primary_gz = next(repodata.glob("*-primary.xml.gz")).read_bytes()
    c.add("yum_primary", "primary.xml", gzip.decompress(primary_gz))
    c.add_compressed("primary.xml.gz", primary_gz)
    c.add_compressed("primary.xml.xz", lzma.compress(gzip.decompress(primary_gz)))
    c.add("push_decompress", "primary.xml.zst",
          tool(["zstd", "-q", "-c"], gzip.decompress(primary_gz)))


def serve_seeds(c):
    for i, t in enumerate(["/", "/debian/dists/stable/InRelease", "/a//b/%2Bc/?x=1",
                           "/debian/dists/stable/main/binary-amd64/by-hash/SHA256/" + "ab" * 32,
                           "/centos/repodata/primary.xml.gz", "/conda/noarch/repodata.json",
                           "/.depot/x", "/a/%2e%2e/b", "/simple/proj/", "/a%zz"]):
        c.add("serve_path", "target%02d" % i, t)
    requests = {
        "get": "GET /debian/dists/stable/Release HTTP/1.1\r\nHost: x\r\n\r\n",
        "range": "GET /a.deb HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n"
                 "If-Range: \"5f-1a\"\r\n\r\n",
        "conditional": "HEAD /a HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"5f-1a\", \"x\"\r\n"
                       "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "Connection: close\r\n\r\n",
        "accept": "GET /simple/proj/ HTTP/1.0\r\nAccept: application/vnd.pypi.simple.v1+json, "
                  "text/html;q=0.1\r\nUser-Agent: pip/23\r\n\r\n",
        "body": "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        "chunked": "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    }
    for name, r in requests.items():
        c.add("http_request", name, r)
    c.add("http_headers", "range-etag",
          "bytes=-500\n\"5f-1a\"\n\"5f-1a\"\n*\nSunday, 06-Nov-94 08:49:37 GMT\n"
          "Sun Nov  6 08:49:37 1994\napplication/vnd.pypi.simple.v1+json;q=0.5")
    c.add("http_headers", "range-open", "bytes=100-\n\n\n\n\nSun, 06 Nov 1994 08:49:37 GMT\n120")


def xz_block(data):
    """One xz block of `data` (as xz_chunk makes): (block, unpadded size)."""
    stream = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64)
    backward = (struct.unpack("<I", stream[-8:-4])[0] + 1) * 4
    index = stream[len(stream) - 12 - backward:len(stream) - 12]

    def varint(b, i):
        v, shift = 0, 0
        while True:
            v |= (b[i] & 0x7F) << shift
            shift += 7
            i += 1
            if not b[i - 1] & 0x80:
                return v, i

    _, i = varint(index, 1)  # number of records (1)
    unpadded, _ = varint(index, i)
    return stream[12:len(stream) - 12 - backward], unpadded


def chunk_seeds(c):
    # In the harness' form: the cache file header before its sha256, then the payload.
    def head(kind, a, b, payload):
        return b"DPCHUNK1" + kind + struct.pack("<QQQ", a, b, len(payload)) + payload

    text = b"Package: a\nVersion: 1\n\n" * 4
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
    c.add("chunk_decode", "gzip", head(b"G", zlib.crc32(text), len(text), deflate))
    block, unpadded = xz_block(text)
    c.add("chunk_decode", "xz", head(b"X", unpadded, len(text), block))
    c.add("chunk_decode", "empty-gzip", head(b"G", 0, 0, b""))


def ed_patch_seeds(c):
    # base NUL script
    c.add("ed_patch", "acd", b"a\nb\nc\nd\ne\n\0" b"5a\nf\ng\n.\n3,4c\nC\n.\n1d\n0a\nstart\n.\n")
    c.add("ed_patch", "packages",
          b"Package: a\nVersion: 1\n\nPackage: b\nVersion: 1\n\n\0" b"5c\nVersion: 2\n.\n")


def site_config_seeds(c):
    docs = (HERE.parent / "docs" / "site.md").read_text()
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    c.add("site_config", "documented", example.encode())
    c.add("site_config", "cron-zone",
          b'0 */6 * * 1-5\ndata_root = "/srv"\ntimezone = "Europe/Berlin"\n'
          b'[[mirror]]\nname = "a"\nregistry = "apt"\nupstream = "http://x.example/debian"\n'
          b'interval = "30 2 * * sun"\ndist = ["bookworm"]\n'
          b'[[mirror]]\nname = "b"\nregistry = "conda"\nupstream = "http://x.example/c"\n'
          b'dir = "b"\ninterval = "1h30m"\ntimezone = "Asia/Kolkata"\n')
    c.add("site_config", "interval", b"@weekly\n")


def main():
    corpus_dir = HERE / "corpus"
    # Generated seeds are replaced; "regress-*" files (fixed crash inputs) are kept.
    for f in corpus_dir.glob("*/*"):
        if not f.name.startswith("regress-"):
            f.unlink()
    c = Corpus(corpus_dir)
    with tempfile.TemporaryDirectory(prefix="depot-corpus-") as tmp:
        work = Path(tmp)
        apt_seeds(c, work)
        conda_seeds(c, work)
        crates_seeds(c, work)
        opam_seeds(c, work)
        npm_seeds(c, work)
        pypi_seeds(c, work)
        rustup_seeds(c, work)
        yum_seeds(c, work)
    serve_seeds(c)
    chunk_seeds(c)
    ed_patch_seeds(c)
    site_config_seeds(c)
    print("make_corpus: %d bytes in %s" % (c.total, corpus_dir))


if __name__ == "__main__":
    main()
