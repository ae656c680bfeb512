import select
import socket
from unittest.mock import patch

import odoo
from odoo.tests import tagged
from odoo.tests.common import BaseCase
from odoo.tools import config

from ..patches import longpolling_socket


def nodelay(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@tagged("post_install", "-at_install")
class TestLongpollingSocket(BaseCase):
    """The gevent server's listen queue (``longpolling_backlog``) and
    ``TCP_NODELAY``."""

    def setUp(self):
        super().setUp()
        from gevent.pywsgi import WSGIServer

        self.WSGIServer = WSGIServer
        for name in ("backlog", "init_socket"):
            self.addCleanup(setattr, WSGIServer, name, getattr(WSGIServer, name))

    def listening(self, backlog):
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.bind(("127.0.0.1", 0))
        sock.listen(backlog)
        return sock

    def connected(self, address, count, wait):
        """How many of ``count`` connections to ``address`` (never accepted)
        completed their handshake within ``wait`` s: the queue's length + 1."""
        pending = []
        for _ in range(count):
            client = socket.socket()
            self.addCleanup(client.close)
            client.setblocking(False)
            client.connect_ex(address)
            pending.append(client)
        _, writable, _ = select.select([], pending, [], wait)
        done = [
            c for c in writable if not c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        ]
        return len(done)

    def gevent_server(self, **kw):
        httpd = self.WSGIServer(("127.0.0.1", 0), None, **kw)
        httpd.init_socket()
        self.addCleanup(httpd.socket.close)
        return httpd

    def test_listen_again_lengthens_the_queue(self):
        short = self.listening(1)
        self.assertLess(self.connected(short.getsockname(), 20, 0.3), 20)
        sock = self.listening(1)
        longpolling_socket.tune(sock, 64)
        self.assertEqual(self.connected(sock.getsockname(), 20, 5), 20)

    def test_accepted_connections_have_no_nagle_delay(self):
        sock = self.listening(4)
        longpolling_socket.tune(sock)
        client = socket.create_connection(sock.getsockname())
        self.addCleanup(client.close)
        accepted, _ = sock.accept()
        self.addCleanup(accepted.close)
        self.assertEqual(nodelay(accepted), 1)

    def test_a_server_created_later_gets_both(self):
        with patch.dict(config.options, {longpolling_socket.OPTION: "2048"}):
            longpolling_socket.install(evented=False)
            self.assertNotEqual(self.WSGIServer.backlog, 2048, "threaded: left alone")
            self.assertEqual(nodelay(self.gevent_server().socket), 0)
            longpolling_socket.install(evented=True)
            longpolling_socket.install(evented=True)  # once only
        self.assertEqual(self.WSGIServer.backlog, 2048)
        self.assertEqual(nodelay(self.gevent_server().socket), 1)

    def test_a_listening_gevent_server_gets_both(self):
        httpd = self.gevent_server(backlog=1)
        self.assertEqual(nodelay(httpd.socket), 0)
        running = odoo.service.server.GeventServer(None)
        running.httpd = httpd
        with patch.dict(
            config.options, {longpolling_socket.OPTION: "64"}
        ), patch.object(odoo.service.server, "server", running):
            longpolling_socket.install(evented=True)
        self.assertEqual(nodelay(httpd.socket), 1)
        self.assertEqual(self.connected(httpd.socket.getsockname(), 20, 5), 20)

    def test_without_the_option_only_nagle_changes(self):
        with patch.dict(config.options, {longpolling_socket.OPTION: ""}):
            longpolling_socket.install(evented=True)
        self.assertEqual(self.WSGIServer.backlog, 128)
        self.assertEqual(nodelay(self.gevent_server().socket), 1)

    def test_invalid_option_ignored_with_a_warning(self):
        for value in ("many", "0", "-5"):
            with patch.dict(config.options, {longpolling_socket.OPTION: value}):
                with self.assertLogs(longpolling_socket.__name__, "WARNING"):
                    self.assertIsNone(longpolling_socket.configured_backlog())
        with patch.dict(config.options, {longpolling_socket.OPTION: ""}):
            self.assertIsNone(longpolling_socket.configured_backlog())
