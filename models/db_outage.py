"""While the database cannot be reached, requests get 503 and sessions stay.

Odoo 15 logs the user out when the first query of a request fails
(``Root.dispatch``: ``check_signaling`` raises ``OperationalError``). That
is meant for a database that was dropped, but it happens as well while
PostgreSQL restarts, and after it on every pooled connection the restart
killed: every POS open then loses its session and stays unusable until the
cashier logs in again. Here the request is answered "503 Service
Unavailable" and the session is kept, unless PostgreSQL answers and the
database itself cannot be opened; requests outside HTTP (cron, XML-RPC)
keep Odoo's behaviour.
"""
import functools
import logging

import psycopg2
from werkzeug.exceptions import ServiceUnavailable

import odoo
from odoo.modules.registry import Registry

_logger = logging.getLogger(__name__)


def _connects(dbname):
    """Whether a new connection to ``dbname`` opens (outside the pool)."""
    try:
        psycopg2.connect(**odoo.sql_db.connection_info_for(dbname)[1]).close()
        return True
    except psycopg2.Error:
        return False


def database_lost(dbname):
    """PostgreSQL answers, but ``dbname`` cannot be opened."""
    return _connects("postgres") and not _connects(dbname)


def install(registry_class=Registry, lost=database_lost):
    check_signaling = registry_class.check_signaling
    if getattr(check_signaling, "keeps_sessions", False):
        return

    @functools.wraps(check_signaling)
    def keep_sessions(self):
        try:
            return check_signaling(self)
        except psycopg2.OperationalError as error:
            if not odoo.http.request or lost(self.db_name):
                raise
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            _logger.warning(
                "Database %s unavailable (%s): 503, session kept.", self.db_name, reason
            )
            raise ServiceUnavailable("The database cannot be reached.") from None

    keep_sessions.keeps_sessions = True
    registry_class.check_signaling = keep_sessions


install()
