import gevent
from gevent import pywsgi, socket

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..patches import response_write

BODY = b'{"jsonrpc": "2.0", "id": 7, "result": []}'


class Recording:
    """A connection's socket that records each ``sendall``."""

    def __init__(self, sock, sent):
        # Not "_sock": pywsgi reads what is left of a socket that has one.
        self.wrapped = sock
        self.sent = sent

    def __getattr__(self, name):
        return getattr(self.wrapped, name)

    def sendall(self, data):
        self.sent.append(bytes(data))
        return self.wrapped.sendall(data)


@tagged("post_install", "-at_install")
class TestResponseWrite(BaseCase):
    """The gevent process sends an answer's headers and body together; the
    bytes on the wire are pywsgi's own. A real pywsgi server, run here by
    gevent's hub (this process is not monkey patched)."""

    def setUp(self):
        super().setUp()
        handler = pywsgi.WSGIHandler
        self.addCleanup(
            setattr, handler, "_write_with_headers", handler._write_with_headers
        )

    def exchange(self, body, chunked=False):
        """``(the bytes the client got, the handler's sends)`` for one
        answer with ``body``, with its length or chunked."""
        sent = []

        class Handler(pywsgi.WSGIHandler):
            def handle(self):
                self.socket = Recording(self.socket, sent)
                return super().handle()

        def app(environ, start_response):
            if chunked:
                start_response("200 OK", [])
                return iter([body])  # of unknown length
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]

        server = pywsgi.WSGIServer(
            ("127.0.0.1", 0), app, handler_class=Handler, log=None
        )
        server.start()
        self.addCleanup(server.stop)
        client = socket.create_connection(("127.0.0.1", server.server_port))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        with gevent.Timeout(10):
            while True:
                chunk = client.recv(1 << 20)
                if not chunk:
                    break
                received += chunk
        client.close()
        # The Date header changes with the second.
        received = b"\r\n".join(
            line for line in received.split(b"\r\n") if not line.startswith(b"Date:")
        )
        return received, sent

    def test_one_send_same_bytes(self):
        stock, stock_sent = self.exchange(BODY)
        self.assertEqual(len(stock_sent), 2, "pywsgi: headers, then body")
        response_write.install(evented=True)
        joined, joined_sent = self.exchange(BODY)
        self.assertEqual(joined, stock)
        self.assertEqual(len(joined_sent), 1)
        self.assertTrue(joined.endswith(b"\r\n\r\n" + BODY))

    def test_chunked_answer(self):
        stock, stock_sent = self.exchange(BODY, chunked=True)
        response_write.install(evented=True)
        joined, joined_sent = self.exchange(BODY, chunked=True)
        self.assertEqual(joined, stock)
        self.assertIn(b"Transfer-Encoding: chunked", joined)
        self.assertEqual(len(joined_sent), len(stock_sent) - 1)

    def test_a_large_body_as_pywsgi(self):
        large = b"x" * (response_write.MAX_JOINED + 1)
        stock, stock_sent = self.exchange(large)
        response_write.install(evented=True)
        joined, joined_sent = self.exchange(large)
        self.assertEqual(joined, stock)
        self.assertEqual(len(joined_sent), len(stock_sent))

    def test_only_in_the_gevent_process(self):
        stock = pywsgi.WSGIHandler._write_with_headers
        response_write.install(evented=False)
        self.assertIs(pywsgi.WSGIHandler._write_with_headers, stock)
        response_write.install(evented=True)
        joined = pywsgi.WSGIHandler._write_with_headers
        response_write.install(evented=True)
        self.assertIs(pywsgi.WSGIHandler._write_with_headers, joined, "once")
