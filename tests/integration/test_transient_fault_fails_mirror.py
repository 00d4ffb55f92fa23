"""Proves impossible: a transient upstream fault (503, 429 + Retry-After, dropped connection,
truncated body, corrupted bytes once, slow response) leaving the mirror incomplete, or a
damaged body being accepted."""

import shutil
import unittest

from depot_harness import DepotTestCase, mcc

RETRIES = ("--retries", "5")


class TransientFaultFailsMirror(DepotTestCase):
    def setUp(self):
        super().setUp()
        self.gen(count=12, min_size=4096, max_size=40000, bz2_variant=True, current=True)
        repodata = mcc.read_repodata(self.updir())
        self.pkgs = sorted(list(repodata["packages"]) + list(repodata["packages.conda"]))

    def path(self, fn):
        return "/%s/noarch/%s" % (self.CHANNEL, fn)

    def run_and_check(self, rules, *extra):
        self.server.set_rules(rules)
        res = self.mirror_conda(*(RETRIES + extra))
        self.assertExit(res, 0, "transient faults must be retried")
        self.assertMirrorEqualsUpstream(res=res)
        self.assertConsistent(res=res)
        self.assertTmpEmpty(res=res)
        for r in self.server.rules():
            if r["remaining"] is not None:
                self.assertEqual(r["remaining"], 0, "fault never triggered: %s" % r)
        return res

    def gets(self, fn):
        return [e for e in self.server.log() if e["method"] == "GET" and e["path"] == self.path(fn)]

    def test_503_twice(self):
        rules = [{"glob": self.path(fn), "action": "error", "status": 503, "times": 2}
                 for fn in self.pkgs[:3]]
        self.run_and_check(rules)

    def test_429_with_retry_after_is_honoured(self):
        fn = self.pkgs[0]
        self.run_and_check([{"glob": self.path(fn), "action": "retry_after", "status": 429,
                             "retry_after": 1, "times": 1}])
        g = self.gets(fn)
        self.assertEqual([e["status"] for e in g[:2]], [429, 200], g)
        gap = g[1]["t"] - g[0]["t"]
        self.assertGreaterEqual(gap, 0.9, "retried %.2fs after 'Retry-After: 1'" % gap)

    def test_dropped_connection_mid_body(self):
        rules = [{"glob": self.path(fn), "action": "drop", "after": 0.5, "times": 1}
                 for fn in self.pkgs[:3]]
        self.run_and_check(rules)

    def test_connection_reset_before_headers(self):
        rules = [{"glob": self.path(fn), "action": "drop", "after": -1, "times": 1}
                 for fn in self.pkgs[:3]]
        self.run_and_check(rules)

    def test_truncated_body(self):
        rules = [{"glob": self.path(fn), "action": "truncate", "missing": 100, "times": 1}
                 for fn in self.pkgs[:3]]
        self.run_and_check(rules)

    def test_corrupted_bytes_once(self):
        rules = [{"glob": self.path(fn), "action": "corrupt", "flips": 3, "times": 1}
                 for fn in self.pkgs[:3]]
        self.run_and_check(rules)
        for fn in self.pkgs[:3]:
            self.assertGreaterEqual(len(self.gets(fn)), 2, "corrupt body accepted for " + fn)

    def test_slow_responses(self):
        rules = [{"glob": self.path(fn), "action": "slow", "bps": 32768} for fn in self.pkgs[:4]]
        self.run_and_check(rules)

    def test_stalled_transfer_times_out_and_retries(self):
        rules = [{"glob": self.path(fn), "action": "stall", "after": 0.3, "seconds": 60,
                  "times": 1} for fn in self.pkgs[:2]]
        res = self.run_and_check(rules, "--stall-timeout", "1")
        self.assertLess(res.elapsed, 30, "a stalled transfer was not abandoned quickly%s" % res)

    def test_redirects_followed(self):
        """CDN-style 302 for every package (and the index) to another path."""
        shutil.copytree(self.up / self.CHANNEL, self.up / "cdn" / self.CHANNEL)
        self.run_and_check([{"glob": "/%s/noarch/*" % self.CHANNEL, "action": "redirect",
                             "location": "/cdn{path}"}])
        cdn = [e for e in self.server.log() if e["path"].startswith("/cdn/") and e["status"] == 200]
        self.assertGreaterEqual(len(cdn), len(self.pkgs))

    def test_large_file_dropped_twice(self):
        """A multi-MB package whose connection drops twice late in the body.  If depot resumes
        with Range, this server answers 200 with the whole body: it must not append."""
        shutil.rmtree(self.updir())
        self.gen(count=3, sizes=[3 * 1024 * 1024, 2000, 5000])
        big = [fn for fn, sha in self.expected().items()
               if (self.updir() / fn).stat().st_size > 1000000]
        self.assertEqual(len(big), 1)
        self.run_and_check([{"glob": self.path(big[0]), "action": "drop", "after": 0.8,
                             "times": 2}])

    def test_index_503_twice(self):
        self.run_and_check([{"glob": self.path("repodata.json"), "action": "error",
                             "status": 503, "times": 2}])

    def test_all_faults_at_once(self):
        shutil.rmtree(self.updir())
        self.gen(count=60, min_size=1000, max_size=20000, bz2_variant=True, current=True)
        repodata = mcc.read_repodata(self.updir())
        p = sorted(list(repodata["packages"]) + list(repodata["packages.conda"]))
        kinds = [
            {"action": "error", "status": 503, "times": 2},
            {"action": "retry_after", "status": 429, "retry_after": 1, "times": 1},
            {"action": "drop", "after": 0.3, "times": 1},
            {"action": "drop", "after": -1, "times": 1},
            {"action": "truncate", "missing": 1, "times": 1},
            {"action": "corrupt", "times": 2},
            {"action": "slow", "bps": 65536},
            {"action": "error", "status": 500, "times": 1},
        ]
        rules = []
        for i, fn in enumerate(p[:24]):
            r = dict(kinds[i % len(kinds)])
            r["glob"] = self.path(fn)
            rules.append(r)
        self.run_and_check(rules, "--concurrency", "8")


if __name__ == "__main__":
    unittest.main()
