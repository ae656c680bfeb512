"""While PostgreSQL cannot be reached, HTTP requests get 503 and keep their session.

Before dispatching an HTTP request, Odoo 15 (``Root.dispatch``) checks the
registry's signaling and, when that raises ``OperationalError``, logs the
session out: meant for a database that was dropped, it also happens while
PostgreSQL restarts and on every pooled connection the restart killed, and
every open POS then stays unusable until the cashier logs in again.

Here, for databases with this addon and for that check only (the one whose
failure logs the session out: every HTTP route, the POS's polls and pings
included), a failure to reach the server is answered "503 Service
Unavailable" and the session is kept. Reaching the server means a
connection-level error: ``InterfaceError`` (a connection the restart
closed; Odoo answers it 500 with a traceback), or an ``OperationalError``
with no SQLSTATE, a class 08 one, 53300 (too many connections) or 57P01 to
57P03 (shutting down, starting up). The database is
missing when PostgreSQL says so (SQLSTATE 3D000, *invalid_catalog_name*):
psycopg2 gives no SQLSTATE for an error while connecting, where libpq keeps
only the server's text, so there its message ``database "…" does not exist``
is read (a server whose ``lc_messages`` is not English answers 503 then, and
the session stays until the user logs out). Anything else, and every other
caller (XML-RPC and ``/jsonrpc``'s own ``check_signaling`` in
``odoo.service.model``, cron, shell), keeps Odoo's behaviour.

In the gevent process a request never waits for a connection
(``connection_pool``), and Odoo answers a full pool with 500 and a
traceback, request after request. There a ``PoolError`` before routing
(listing databases, registry signaling: for any database, which may not be
known yet) answers "503 Service Unavailable", and in a JSON route of a
database with this addon the JSON-RPC error of a ``UserError``; one warning
line each.
"""
import functools
import logging
import sys

import psycopg2
from werkzeug.exceptions import ServiceUnavailable

import odoo
from odoo import http
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.sql_db import PoolError

from .installed import ADDON, installed_in

_logger = logging.getLogger(__name__)

UNREACHABLE_CODES = {"53300", "57P01", "57P02", "57P03"}
MISSING_DATABASE = "3D000"


def database_unreachable(error, dbname):
    """Whether ``error`` says PostgreSQL cannot be reached, not that
    ``dbname`` is missing or broken."""
    code = error.pgcode
    if code == MISSING_DATABASE:
        return False
    if code is None:
        return 'database "%s" does not exist' % dbname not in str(error)
    return code.startswith("08") or code in UNREACHABLE_CODES


def _called_by_dispatch(frame):
    return frame is not None and frame.f_code is http.Root.dispatch.__code__


def install(registry_class=Registry, called_by_dispatch=None):
    check_signaling = registry_class.check_signaling
    if getattr(check_signaling, "keeps_sessions", False):
        return
    called_by_dispatch = called_by_dispatch or _called_by_dispatch

    @functools.wraps(check_signaling)
    def keep_sessions(self):
        try:
            return check_signaling(self)
        # InterfaceError: a pooled connection the restart killed, closed while
        # the cursor unwinds ("connection already closed").
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            if not (
                called_by_dispatch(sys._getframe(1))
                and ADDON in self._init_modules
                and database_unreachable(error, self.db_name)
            ):
                raise
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            _logger.warning(
                "Database %s unreachable (%s): 503, session kept.", self.db_name, reason
            )
            raise ServiceUnavailable("The database cannot be reached.") from None

    keep_sessions.keeps_sessions = True
    registry_class.check_signaling = keep_sessions


def pool_full(error, where):
    """One warning line for ``error``, a ``PoolError`` met at ``where``."""
    _logger.warning("%s: %s: the request is refused.", where, error)


def install_pool_full(root_class=http.Root, request_class=http.JsonRequest):
    """A full connection pool answers, in one warning line: a request is
    never made to wait for a connection (``patches/connection_pool``), and
    Odoo answers 500 with a traceback."""
    # __call__, not dispatch: the root object wraps its dispatch in
    # middlewares when it first serves a request.
    call = root_class.__call__
    if getattr(call, "answers_full_pool", False) or not odoo.evented:
        return
    handle_exception = request_class._handle_exception

    @functools.wraps(call)
    def call_or_503(self, environ, start_response):
        # Before routing (listing databases, registry signaling) the
        # database may not be known yet: for every database.
        try:
            return call(self, environ, start_response)
        except PoolError as error:
            pool_full(error, environ.get("PATH_INFO"))
            response = ServiceUnavailable("The database is busy: try again.")
            return response(environ, start_response)

    @functools.wraps(handle_exception)
    def handle_full_pool(self, exception):
        # In a JSON route (authentication, the route's own queries): the
        # JSON-RPC error of a UserError, logged as a warning by Odoo.
        if isinstance(exception, PoolError) and installed_in(self.db):
            exception = UserError(
                # Not translated: translating reads the database.
                "POS longpolling: the database is unavailable (%s)."
                % exception
            )
        return handle_exception(self, exception)

    call_or_503.answers_full_pool = True
    root_class.__call__ = call_or_503
    request_class._handle_exception = handle_full_pool
