"""The gevent process reads plain request headers without the email parser.

gevent's ``pywsgi`` reads every request's headers with
``http.client.parse_headers``, which hands them to the email package's
parser: some 30 µs for the four headers of the harness's polls, 50 µs for
the eleven a browser sends (8 and 18 µs here). Here a
header block of plain lines (a token, a colon, a value of printable ASCII,
spaces and tabs) becomes the same header object, with the same fields in
the same order, without that parser. Any other block (a folded line, a
control or non-ASCII byte, a line without a colon, the end of the stream)
goes to gevent's own reader, which reads it as before: the size limits are
``http.client``'s and apply alike.
"""
import functools
import io
import re
from http import client

from gevent import pywsgi

import odoo

TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# Plain header lines, and a field of one (its value as email's compat32
# policy reads it: leading blanks dropped, trailing ones kept).
PLAIN_LINES = re.compile(r"(?:%s:[\t -~]*\r?\n)*" % TOKEN)
FIELD = re.compile(r"(%s):[ \t]*([\t -~]*?)\r?\n" % TOKEN)
END_LINES = (b"\r\n", b"\n")


class PlainHeaders(pywsgi.OldMessage):
    """pywsgi's headers, whose ``get`` skips the email policy: a plain
    ASCII value comes back as it is."""

    def get(self, name, failobj=None):
        name = name.lower()
        for key, value in self._headers:
            if key.lower() == name:
                return value
        return failobj


def read_lines(fp):
    """The lines ``client.parse_headers`` would read of ``fp``, up to and
    including the one it stops at."""
    lines = []
    while len(lines) <= client._MAXHEADERS:
        line = fp.readline(client._MAXLINE + 1)
        lines.append(line)
        if len(line) > client._MAXLINE or line in END_LINES or not line:
            break
    return lines


def plain_fields(lines):
    """``[(name, value)]`` as the email parser reads ``lines``, if they are
    plain header lines ended by an empty line, else ``None``."""
    if lines[-1] not in END_LINES:
        return None
    text = b"".join(lines[:-1]).decode("latin-1")
    if not PLAIN_LINES.fullmatch(text):
        return None
    return FIELD.findall(text)


def install(evented=None):
    evented = odoo.evented if evented is None else evented
    factory = pywsgi.headers_factory
    if not evented or getattr(factory, "plain_headers", False):
        return

    @functools.wraps(factory)
    def headers_factory(fp, *args):
        lines = read_lines(fp)
        fields = plain_fields(lines)
        if fields is None:
            return factory(io.BytesIO(b"".join(lines)), *args)
        headers = PlainHeaders()
        headers._headers = fields
        return headers

    headers_factory.plain_headers = True
    pywsgi.headers_factory = headers_factory
