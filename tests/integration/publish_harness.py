"""Helpers for `depot daemon` / `depot repo` scenarios: a daemon on a private root and unix
socket (stopped by PID), .debs built with dpkg-deb, the published tree served by `depot serve`,
apt-get clients (apt_harness.AptClient) with the daemon's signing key that really install into
private roots, and a checker of a published tree that reads only its public paths
(<root>/public/<repo>/dists/..., .../pool/...), never the generations behind them."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from apt_harness import AptClient
from depot_harness import DepotTestCase, depot_bin, terminate
from serve_harness import ServeMixin

import make_apt_repo as mar  # noqa: E402

KEY_ID = "archive@depot.test"
DEB_PAYLOAD = 2048  # bytes of /usr/share/<name>/data.bin in PublishTestCase.deb packages
TERMINAL = ("done", "failed")


class Daemon:
    def __init__(self, root, workdir, gnupghome, *extra):
        self.root, self.workdir = Path(root), Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket = self.workdir / "depot.sock"
        self.gnupghome = gnupghome
        self.extra = [str(e) for e in extra]
        self.proc = None

    def start(self):
        cmd = [depot_bin(), "daemon", "--root", str(self.root), "--socket", str(self.socket),
               "--signing-key", KEY_ID, "--gnupg-home", str(self.gnupghome), "--arch", "amd64",
               "--workers", "2"] + self.extra
        if "--pdiff-generations" not in self.extra:  # no follow-up publications unless asked
            cmd += ["--pdiff-generations", "0"]
        with open(self.workdir / "daemon.log", "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("depot daemon exited %s: %s" % (self.proc.returncode,
                                                                   self.describe()))
            if self.socket.exists() and self.repo("list", check=False)[0] == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("depot daemon did not start: " + self.describe())

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            terminate(self.proc, timeout=10)
            self.proc = None
        mar.stop_agent(self.gnupghome)

    def job(self, job_id):
        """The job's entry in `depot jobs` (the 50 newest), or None."""
        rc, jobs = self.repo("jobs")
        return next((j for j in jobs if j["id"] == job_id), None)

    def wait_job(self, job_id, timeout=120, states=TERMINAL):
        """Polls `depot jobs` until the job is in one of `states`; returns its entry."""
        deadline = time.monotonic() + timeout
        while True:
            j = self.job(job_id)
            if j is not None and j["state"] in states:
                return j
            if time.monotonic() > deadline:
                raise AssertionError("job %s not %s after %ss: %s\n%s"
                                     % (job_id, "/".join(states), timeout, j, self.describe()))
            time.sleep(0.005 if "running" in states else 0.05)

    def packages(self, repo):
        """{name: version} of what `depot repo packages REPO` lists."""
        rc, pkgs = self.repo("packages", repo)
        return {p["name"]: p["version"] for p in pkgs}

    def describe(self):
        p = self.workdir / "daemon.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def repo(self, *args, check=True, timeout=300):
        """`depot repo ARGS --socket S` (or `depot jobs` when args[0] == "jobs")."""
        cmd = [depot_bin()] + (["jobs"] + list(args[1:]) if args[0] == "jobs" else
                               ["repo"] + list(args))
        cmd += ["--socket", str(self.socket), "--json"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s\n%s" % (" ".join(cmd), p.returncode, out,
                                                             p.stderr.decode(errors="replace"),
                                                             self.describe()))
        try:
            return p.returncode, json.loads(out) if out.strip() else None
        except ValueError:
            return p.returncode, out


def proc_status(pid):
    """{field: value} of /proc/PID/status; memory fields (VmRSS, VmHWM, ...) in KiB as ints."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            value = value.strip()
            out[key] = int(value.split()[0]) if value.split() and value.split()[0].isdigit() \
                else value
    return out


def control_request(sock_path, method, target, body=b"", timeout=60, headers=None):
    """One HTTP/1.1 request over the daemon's unix socket, connection closed after it; returns
    (status, body bytes). Raw, so that it can send what `depot repo` never would."""
    if isinstance(body, str):
        body = body.encode()
    head = ["%s %s HTTP/1.1" % (method, target), "Host: depot", "Connection: close"]
    if body or method == "POST":
        head.append("Content-Length: %d" % len(body))
    head += ["%s: %s" % kv for kv in (headers or {}).items()]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(sock_path))
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


HASHES = {"MD5Sum": hashlib.md5, "SHA1": hashlib.sha1, "SHA256": hashlib.sha256}


def paragraphs(text):
    """Deb822 paragraphs as dicts; a multi-line field's value keeps its continuation lines."""
    out = []
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if fields:
            out.append(fields)
    return out


def _gpgv(keyring, *files):
    home = Path(keyring).parent / "gpgv-home"
    home.mkdir(mode=0o700, exist_ok=True)
    p = subprocess.run(["gpgv", "--homedir", str(home), "--keyring", str(keyring)]
                       + [str(f) for f in files], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return p.returncode == 0, p.stdout.decode(errors="replace")


def _clearsigned_text(inrelease):
    """The signed text of a clearsigned InRelease, dash-escaping undone."""
    head, _, rest = inrelease.partition("\n\n")
    body, _, _ = rest.partition("\n-----BEGIN PGP SIGNATURE-----")
    return "\n".join(l[2:] if l.startswith("- ") else l for l in body.split("\n"))


def published_tree_problems(public, repo, keyring):
    """Checks <public>/<repo> as a client would find it, through its public paths only.

    Returns (problems, packages): problems lists every inconsistency (empty when the tree is
    complete): InRelease and Release.gpg verify with `keyring` and sign the same Release; every
    file Release lists exists with that size and every digest, and as by-hash/<algo>/<digest>;
    every by-hash file is named after its own digest; Packages.gz/.xz decompress to Packages;
    every Filename of every Packages exists with its Size, MD5sum, SHA1 and SHA256.
    packages: {name: version} of the published Packages."""
    import gzip
    import lzma
    top = Path(public) / repo
    dists = top / "dists" / repo
    problems, packages = [], {}
    try:
        release = (dists / "Release").read_text()
        inrelease = (dists / "InRelease").read_text()
    except OSError as e:
        return ["cannot read Release/InRelease: %s" % e], packages
    for sig in ((dists / "InRelease",), (dists / "Release.gpg", dists / "Release")):
        ok, out = _gpgv(keyring, *sig)
        if not ok:
            problems.append("%s does not verify: %s" % (sig[0].name, out.strip()[-300:]))
    if _clearsigned_text(inrelease).rstrip("\n") != release.rstrip("\n"):
        problems.append("InRelease signs another text than Release")
    fields = paragraphs(release)[0]
    listed = {}  # path -> {algo: digest, "size": n}
    for algo in HASHES:
        for line in fields.get(algo, "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                listed.setdefault(parts[2], {"size": int(parts[1])})[algo] = parts[0]
    if not any(p.endswith("/Packages") for p in listed):
        problems.append("Release lists no Packages")
    by_hash = fields.get("Acquire-By-Hash") == "yes"
    for rel, want in sorted(listed.items()):
        f = dists / rel
        if not f.is_file():
            problems.append("missing " + rel)
            continue
        data = f.read_bytes()
        if len(data) != want["size"]:
            problems.append("%s: size %d, Release says %d" % (rel, len(data), want["size"]))
        for algo, fn in HASHES.items():
            if algo in want and fn(data).hexdigest() != want[algo]:
                problems.append("%s: %s differs from Release" % (rel, algo))
            if by_hash and algo in want:
                bh = f.parent / "by-hash" / algo / want[algo]
                if not bh.is_file() or bh.read_bytes() != data:
                    problems.append("%s: by-hash/%s/%s missing or different" % (rel, algo,
                                                                                want[algo]))
    for bh in dists.rglob("by-hash/*/*"):
        fn = HASHES.get(bh.parent.name)
        if fn and fn(bh.read_bytes()).hexdigest() != bh.name:
            problems.append("%s is not named after its digest" % bh.relative_to(top))
    for rel in sorted(r for r in listed if r.endswith("/Packages")):
        if not (dists / rel).is_file():
            continue
        plain = (dists / rel).read_bytes()
        for ext, dec in ((".gz", gzip.decompress), (".xz", lzma.decompress)):
            if (dists / (rel + ext)).is_file() and dec((dists / (rel + ext)).read_bytes()) != plain:
                problems.append("%s%s does not decompress to %s" % (rel, ext, rel))
        for st in paragraphs(plain.decode("utf-8", "replace")):
            packages[st.get("Package")] = st.get("Version")
            f = top / st.get("Filename", "?")
            if not f.is_file():
                problems.append("%s: missing %s" % (rel, st.get("Filename")))
                continue
            data = f.read_bytes()
            if str(len(data)) != st.get("Size"):
                problems.append("%s: size of %s" % (rel, st["Filename"]))
            for key, fn in (("MD5sum", hashlib.md5), ("SHA1", hashlib.sha1),
                            ("SHA256", hashlib.sha256)):
                if fn(data).hexdigest() != st.get(key):
                    problems.append("%s: %s of %s" % (rel, key, st["Filename"]))
    return problems, packages


class PublishTestCase(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        self.gnupg = self.tmp / "gnupg"
        self.keyring = self.tmp / "archive-key.gpg"
        mar.make_key(self.gnupg, self.keyring)
        self.root = self.tmp / "depot-root"
        self.debs = self.tmp / "debs"
        self.debs.mkdir()
        self.daemon = Daemon(self.root, self.tmp / "daemon", self.gnupg, *self.daemon_args())
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        (self.root / "public").mkdir(parents=True, exist_ok=True)
        self.web = self.start_serve(self.root / "public", name="web")

    def daemon_args(self):
        """More `depot daemon` options for this test case."""
        return []

    def deb(self, name, version, extra=""):
        return mar.build_deb(self.debs, name, version, payload=DEB_PAYLOAD, extra=extra)

    def client(self, repo, name=None):
        return AptClient(self.tmp / (name or ("apt-" + repo)), "%s/%s" % (self.web.base, repo),
                         self.keyring, dist=repo)

    def assertAptInstalls(self, apt, want, downgrade=False):
        """apt-get update, then apt-get install of name=version for each of `want`
        {name: version} into apt's private root: its dpkg status lists each installed at that
        version and the installed payload is that version's. The update is apt's own, with
        If-Modified-Since: it must see a publication made in the same second as its previous
        update."""
        ok, out = apt.update()
        self.assertTrue(ok, "apt-get update failed:\n" + out)
        ok, out = apt.install(*["%s=%s" % (n, v) for n, v in sorted(want.items())],
                              downgrade=downgrade)
        self.assertTrue(ok, "apt-get install %s failed:\n%s" % (want, out))
        installed = apt.installed()
        for n, v in sorted(want.items()):
            self.assertEqual(installed.get(n), v, "%s after install:\n%s" % (installed, out))
            self.assertEqual(apt.payload(n), mar.payload_bytes(n, v, DEB_PAYLOAD),
                             "installed files of %s are not those of %s" % (n, v))
        return apt

    def assertPublishedTreeComplete(self, repo):
        """published_tree_problems finds nothing; returns the published {name: version}."""
        problems, packages = published_tree_problems(self.root / "public", repo, self.keyring)
        self.assertEqual(problems, [], "published tree of %s is inconsistent" % repo)
        return packages
