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
57P03 (shutting down, starting up); so is a full connection pool
(``PoolError``), which Odoo answers 500 with a traceback. The database is
missing when PostgreSQL says so (SQLSTATE 3D000, *invalid_catalog_name*):
psycopg2 gives no SQLSTATE for an error while connecting, where libpq keeps
only the server's text, so there its message ``database "…" does not exist``
is read (a server whose ``lc_messages`` is not English answers 503 then, and
the session stays until the user logs out). Anything else, and every other
caller (XML-RPC and ``/jsonrpc``'s own ``check_signaling`` in
``odoo.service.model``, cron, shell), keeps Odoo's behaviour.
"""
import functools
import logging
import sys

import psycopg2
from werkzeug.exceptions import ServiceUnavailable

from odoo import http
from odoo.modules.registry import Registry
from odoo.sql_db import PoolError

from .installed import ADDON

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
        except PoolError as error:
            # A full pool: no one waits here (patches/connection_pool), and
            # Odoo would answer 500 with a traceback.
            if not (
                called_by_dispatch(sys._getframe(1)) and ADDON in self._init_modules
            ):
                raise
            _logger.warning("Database %s: %s: 503.", self.db_name, error)
            raise ServiceUnavailable("The database is busy.") from None

    keep_sessions.keeps_sessions = True
    registry_class.check_signaling = keep_sessions
