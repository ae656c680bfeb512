"""The gevent (longpolling) process's listening socket: queue and Nagle.

Odoo 15's ``GeventServer`` passes no backlog to gevent's ``WSGIServer``,
which then listens with ``StreamServer.backlog``, 128 connections. When
thousands of POSes reconnect at once (a restart), the connections beyond
the queue are dropped and their clients retry a second or more later, or
fail. The option ``longpolling_backlog`` of Odoo's configuration file
raises the queue (the kernel caps it at ``net.core.somaxconn``).

gevent's ``pywsgi`` writes an answer's headers and body in two ``send()``
calls: on a connection kept alive (a browser's, or a proxy's with
upstream keep-alive), Nagle's algorithm holds the body until the client
acknowledges the headers, which a client may delay by 40 ms. The
listening socket gets ``TCP_NODELAY``, which the connections it accepts
inherit.

Loaded server-wide (``server_wide_modules``), this runs before the gevent
process listens: its server's socket is made so. Otherwise it runs when
the first database is loaded there, and changes the listening socket: on
Linux ``listen`` on a listening socket only changes the length of its
queue.
"""
import functools
import logging
import socket

import odoo
from odoo.tools import config

_logger = logging.getLogger(__name__)

OPTION = "longpolling_backlog"


def configured_backlog():
    """The option's value, or None when unset or not a positive integer."""
    value = config.get(OPTION)
    if value in (None, "", False):
        return None
    try:
        backlog = int(value)
    except (TypeError, ValueError):
        backlog = 0
    if backlog <= 0:
        _logger.warning("%s = %r ignored: not a positive integer", OPTION, value)
        return None
    return backlog


def tune(sock, backlog=None):
    """``TCP_NODELAY`` on the listening ``sock`` and, with ``backlog``,
    that length of queue."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if backlog:
        sock.listen(backlog)
        _logger.info("longpolling listen queue: %d", backlog)


def install(evented=None):
    evented = odoo.evented if evented is None else evented
    if not evented:
        return
    from gevent.pywsgi import WSGIServer

    backlog = configured_backlog()
    if backlog:
        # a server created later (server-wide load) listens with it
        WSGIServer.backlog = backlog
    init_socket = WSGIServer.init_socket
    if not getattr(init_socket, "tunes", False):

        @functools.wraps(init_socket)
        def tuned_init_socket(self):
            init_socket(self)
            tune(self.socket)

        tuned_init_socket.tunes = True
        WSGIServer.init_socket = tuned_init_socket
    server = odoo.service.server.server
    if isinstance(server, odoo.service.server.GeventServer):
        sock = getattr(server.httpd, "socket", None)
        if sock is not None:
            tune(sock, backlog)
