"""A longer listen queue for the gevent (longpolling) process.

Odoo 15's ``GeventServer`` passes no backlog to gevent's ``WSGIServer``,
which then listens with ``StreamServer.backlog``, 128 connections. When
thousands of POSes reconnect at once (a restart), the connections beyond
the queue are dropped and their clients retry a second or more later, or
fail. The option ``longpolling_backlog`` of Odoo's configuration file
raises the queue (the kernel caps it at ``net.core.somaxconn``).

Loaded server-wide (``server_wide_modules``), this runs before the gevent
process listens: its server listens with the option. Otherwise it runs when
the first database is loaded there, and listens again: on Linux ``listen``
on a listening socket only changes the length of its queue.
"""
import logging

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


def relisten(sock, backlog):
    """Give the listening socket ``sock`` a queue of ``backlog``."""
    sock.listen(backlog)
    _logger.info("longpolling listen queue: %d", backlog)


def install(evented=None):
    evented = odoo.evented if evented is None else evented
    backlog = configured_backlog()
    if not evented or not backlog:
        return
    from gevent.pywsgi import WSGIServer

    if WSGIServer.backlog == backlog:
        return
    # a server created later (server-wide load) listens with it
    WSGIServer.backlog = backlog
    server = odoo.service.server.server
    if not isinstance(server, odoo.service.server.GeventServer):
        return
    sock = getattr(server.httpd, "socket", None)
    if sock is not None:
        relisten(sock, backlog)
