import select
import socket
from unittest.mock import patch

import odoo
from odoo.tests import tagged
from odoo.tests.common import BaseCase
from odoo.tools import config

from ..patches import listen_backlog


@tagged("post_install", "-at_install")
class TestListenBacklog(BaseCase):
    """``longpolling_backlog`` sets the gevent server's listen queue."""

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
        done = [c for c in writable if not c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)]
        return len(done)

    def test_listen_again_lengthens_the_queue(self):
        short = self.listening(1)
        self.assertLess(self.connected(short.getsockname(), 20, 0.3), 20)
        sock = self.listening(1)
        listen_backlog.relisten(sock, 64)
        self.assertEqual(self.connected(sock.getsockname(), 20, 5), 20)

    def test_option_read_from_the_configuration(self):
        from gevent.pywsgi import WSGIServer

        self.addCleanup(setattr, WSGIServer, "backlog", WSGIServer.backlog)
        with patch.dict(config.options, {listen_backlog.OPTION: "2048"}):
            listen_backlog.install(evented=False)
            self.assertNotEqual(WSGIServer.backlog, 2048, "threaded: left alone")
            listen_backlog.install(evented=True)
            self.assertEqual(WSGIServer.backlog, 2048)

    def test_a_listening_gevent_server_gets_the_longer_queue(self):
        from gevent.pywsgi import WSGIServer

        self.addCleanup(setattr, WSGIServer, "backlog", WSGIServer.backlog)
        httpd = WSGIServer(("127.0.0.1", 0), None, backlog=1)
        httpd.init_socket()
        self.addCleanup(httpd.socket.close)
        running = odoo.service.server.GeventServer(None)
        running.httpd = httpd
        with patch.dict(config.options, {listen_backlog.OPTION: "64"}), patch.object(
            odoo.service.server, "server", running
        ):
            listen_backlog.install(evented=True)
        self.assertEqual(self.connected(httpd.socket.getsockname(), 20, 5), 20)

    def test_invalid_option_ignored_with_a_warning(self):
        for value in ("many", "0", "-5"):
            with patch.dict(config.options, {listen_backlog.OPTION: value}):
                with self.assertLogs(listen_backlog.__name__, "WARNING"):
                    self.assertIsNone(listen_backlog.configured_backlog())
        with patch.dict(config.options, {listen_backlog.OPTION: ""}):
            self.assertIsNone(listen_backlog.configured_backlog())
