"""Requests whose framing is ambiguous must never be misparsed: a Transfer-Encoding whose final
coding is not chunked gets 400 and the connection is closed (its body never runs as a
pipelined request), as does Transfer-Encoding together with Content-Length; an HTTP/1.1 request
without a Host, or any request with two, gets 400; an absolute-form target naming another host
is refused (this server is no proxy), never served as a local path. A well-framed HTTP/1.0
request without Host is still served."""

import re
import unittest

from depot_harness import DepotTestCase
from serve_harness import ServeMixin, raw_exchange, read_responses, status_line


class HttpFramingSmugglesRequests(ServeMixin, DepotTestCase):
    def setUp(self):
        super().setUp()
        (self.mirror / "pub").mkdir(parents=True)
        (self.mirror / "pub" / "a.txt").write_bytes(b"public\n")
        (self.mirror / "pub" / "secret.txt").write_bytes(b"smuggled\n")
        self.srv = self.start_serve(self.mirror)

    def exchange(self, data):
        got, _ = raw_exchange(self.srv.port, data, timeout=5)
        return got

    def assertRefusedAlone(self, request, why):
        got = self.exchange(request + b"GET /pub/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        status, line = status_line(got)
        self.assertEqual(status, 400, "%s: %r" % (why, got[:300]))
        responses = re.findall(rb"(?:^|\n)HTTP/1\.[01] \d{3} ", got)
        self.assertEqual(len(responses), 1, "%s: a second response followed: %r" % (why, got))
        self.assertNotIn(b"smuggled", got, why)
        self.assertIn(b"connection: close", got.lower(), why)

    def test_transfer_encoding_not_ending_in_chunked(self):
        for te in (b"gzip", b"chunked, gzip", b"identity", b"chunkedx"):
            self.assertRefusedAlone(b"GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                    + te + b"\r\n\r\n", te.decode())

    def test_transfer_encoding_with_content_length(self):
        self.assertRefusedAlone(b"GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "TE + CL")

    def test_host_missing_or_duplicated(self):
        self.assertRefusedAlone(b"GET /pub/a.txt HTTP/1.1\r\n\r\n", "no Host")
        self.assertRefusedAlone(b"GET /pub/a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                                "two Hosts")

    def test_absolute_form_is_refused(self):
        got = self.exchange(b"GET http://example.org/pub/a.txt HTTP/1.1\r\nHost: example.org"
                            b"\r\n\r\n")
        self.assertEqual(status_line(got)[0], 403, got[:300])
        self.assertIn(b"example.org", got)
        self.assertNotIn(b"public", got)

    def test_well_framed_requests_are_served(self):
        got = self.exchange(b"GET /pub/a.txt HTTP/1.0\r\n\r\n")
        responses, _ = read_responses(got, ["GET"])
        self.assertEqual(responses[0].status, 200, got[:300])
        self.assertEqual(responses[0].body, b"public\n")
        got = self.exchange(b"GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                            b"\r\n\r\n0\r\n\r\nGET /pub/a.txt HTTP/1.1\r\nHost: x\r\n"
                            b"Connection: close\r\n\r\n")
        responses, _ = read_responses(got, ["GET", "GET"])
        self.assertEqual([r.status for r in responses], [200, 200], got[:600])


if __name__ == "__main__":
    unittest.main()
