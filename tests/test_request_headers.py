import io

from gevent import pywsgi

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..patches import request_headers

BROWSER = (
    b"Host: 127.0.0.1:8072\r\nContent-Type: application/json\r\n"
    b"Content-Length: 180\r\nCookie: session_id=0123abcd\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120\r\nAccept: */*\r\n"
    b"Origin: http://127.0.0.1:8069\r\nConnection: keep-alive\r\n\r\nbody"
)
# What the email parser reads otherwise than plain lines, or refuses.
ODD = [
    b"X: a\r\n folded\r\n\r\n",
    b"X: caf\xc3\xa9\r\n\r\n",
    b"X: a\x00b\r\n\r\n",
    b"X: a\rb\r\n\r\n",
    b"Bad Line\r\n\r\n",
    b"From someone\r\n\r\n",
    b"X: no end",
    b"X " + b"a" * 70000 + b"\r\n\r\n",
    b"".join(b"H%d: v\r\n" % i for i in range(150)) + b"\r\n",
]
PLAIN = [
    BROWSER,
    b"X:  a b  \r\nEmpty:\r\nTab:\tt\t\r\n\r\n",
    b"A: 1\r\nA: 2\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
    b"X: a\n\n",
    b"\r\n",
]
NAMES = ("x", "a", "content-length", "content-type", "cookie", "empty", "tab")


def parse(factory, raw):
    """What pywsgi keeps of the headers ``raw``, or the error raised."""
    try:
        headers = factory(io.BytesIO(raw), 0)
    except Exception as error:  # pylint: disable=broad-except
        return repr(error)
    return headers._headers, headers.status, [headers.get(n) for n in NAMES]


@tagged("post_install", "-at_install")
class TestRequestHeaders(BaseCase):
    """The gevent process reads plain headers as gevent does, faster."""

    def setUp(self):
        super().setUp()
        self.addCleanup(setattr, pywsgi, "headers_factory", pywsgi.headers_factory)
        self.gevents = pywsgi.headers_factory
        request_headers.install(evented=True)

    def test_same_headers_as_gevent(self):
        self.assertTrue(pywsgi.headers_factory.plain_headers)
        for raw in PLAIN + ODD:
            with self.subTest(raw=raw[:40]):
                self.assertEqual(
                    parse(pywsgi.headers_factory, raw), parse(self.gevents, raw)
                )

    def test_plain_lines_skip_the_email_parser(self):
        for raw in PLAIN:
            with self.subTest(raw=raw[:40]):
                headers = pywsgi.headers_factory(io.BytesIO(raw), 0)
                self.assertIsInstance(headers, request_headers.PlainHeaders)
        for raw in ODD:
            with self.subTest(raw=raw[:40]):
                lines = request_headers.read_lines(io.BytesIO(raw))
                self.assertIsNone(request_headers.plain_fields(lines))

    def test_the_body_is_left_unread(self):
        stream = io.BytesIO(BROWSER)
        pywsgi.headers_factory(stream, 0)
        self.assertEqual(stream.read(), b"body")

    def test_installed_once_and_only_in_the_gevent_process(self):
        factory = pywsgi.headers_factory
        request_headers.install(evented=True)
        self.assertIs(pywsgi.headers_factory, factory)
        pywsgi.headers_factory = self.gevents
        request_headers.install(evented=False)
        self.assertIs(pywsgi.headers_factory, self.gevents)
