"""Proves impossible: --log-format json emitting a line a log tool cannot parse (on success
and on failure, at every level); and a run ending without its summary line (even --quiet)."""

import json
import unittest

from depot_harness import DepotTestCase, mcc


class JsonLogUnparseable(DepotTestCase):
    def assertJsonLines(self, res):
        objs = []
        for stream, text in (("stdout", res.out), ("stderr", res.err)):
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    self.fail("%s line is not JSON: %r%s" % (stream, line, res))
                self.assertIsInstance(obj, dict, "%s line is not a JSON object: %r" % (stream, line))
                objs.append(obj)
        self.assertTrue(any("event" in o for o in objs), "no object has an 'event' key%s" % res)
        self.assertTrue(res.out.strip(), "no summary line on stdout%s" % res)
        return objs

    def test_success_json_at_debug_level(self):
        self.gen(count=10, bz2_variant=True, current=True)
        res = self.mirror_conda("--log-format", "json", "--log-level", "debug")
        self.assertExit(res, 0)
        self.assertJsonLines(res)
        res = self.mirror_conda("--log-format", "json", "--log-level", "info")  # no-op run
        self.assertExit(res, 0)
        self.assertJsonLines(res)

    def test_failure_json_names_the_file(self):
        self.gen(count=10)
        victim = sorted(mcc.read_repodata(self.updir())["packages.conda"])[0]
        self.server.set_rules([{"glob": "*/" + victim, "action": "error", "status": 503}])
        res = self.mirror_conda("--log-format", "json", "--retries", "1")
        self.assertExit(res, 1)
        self.assertJsonLines(res)
        self.assertIn(victim, res.text)

    def test_hostile_name_json_escaped(self):
        """A control character in an upstream filename must not break a JSON line."""
        self.gen(count=4)
        mcc.add_hostile(str(self.up), "newline", self.CHANNEL, "noarch")
        res = self.mirror_conda("--log-format", "json", "--log-level", "debug")
        self.assertExit(res, 3)
        self.assertJsonLines(res)

    def test_quiet_still_prints_summary(self):
        self.gen(count=6)
        res = self.mirror_conda("--quiet")
        self.assertExit(res, 0)
        self.assertTrue(res.out.strip(), "--quiet dropped the summary line%s" % res)


if __name__ == "__main__":
    unittest.main()
