import sys
from unittest.mock import patch

import psycopg2
from werkzeug.exceptions import ServiceUnavailable

from odoo import sql_db
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from ..patches import db_outage
from ..patches.db_outage import database_unreachable, install, install_pool_full


class FakeRegistry:
    db_name = "fake"
    _init_modules = {"base", "bus", "point_of_sale", "pos_longpolling"}
    error = None

    def check_signaling(self):
        if self.error:
            raise self.error
        return self


class Error(psycopg2.OperationalError):
    """An OperationalError with the SQLSTATE a test gives it."""

    code = None

    @property
    def pgcode(self):
        return self.code


def error(message, code=None):
    result = Error(message)
    result.code = code
    return result


@tagged("post_install", "-at_install")
class TestDatabaseOutage(BaseCase):
    """PostgreSQL unreachable before a request: 503, the session is kept."""

    by_dispatch = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install(FakeRegistry, called_by_dispatch=lambda frame: cls.by_dispatch)

    def setUp(self):
        super().setUp()
        self.registry_ = FakeRegistry()
        self.registry_.error = error(
            "connection to server failed: Connection refused\nmore"
        )

    def test_installed_on_odoo_registry(self):
        self.assertTrue(Registry.check_signaling.keeps_sessions)

    def test_what_postgresql_says(self):
        """Told from its SQLSTATE; at connect time, libpq's text."""
        try:
            sql_db.db_connect("pos_longpolling_no_such_database").cursor()
        except psycopg2.OperationalError as missing:
            self.assertIsNone(missing.pgcode, "psycopg2 has no SQLSTATE at connect")
            self.assertFalse(
                database_unreachable(missing, "pos_longpolling_no_such_database")
            )
        else:
            self.fail("connected to a database that does not exist")
        self.assertFalse(database_unreachable(error("x", "3D000"), "db"))
        for message, code in (
            ('FATAL:  database "db" does not exist', "3D000"),
            ("relation does not exist", "42P01"),
            ("deadlock detected", "40P01"),
        ):
            self.assertFalse(database_unreachable(error(message, code), "db"), code)
        for message, code in (
            ("server closed the connection unexpectedly", None),
            ('FATAL:  too many connections for database "db"', None),
            ("FATAL:  sorry, too many clients already", "53300"),
            ("FATAL:  the database system is starting up", "57P03"),
            ("terminating connection due to administrator command", "57P01"),
            ("connection failure", "08006"),
        ):
            self.assertTrue(database_unreachable(error(message, code), "db"), message)

    def test_no_error_no_change(self):
        self.registry_.error = None
        self.assertIs(self.registry_.check_signaling(), self.registry_)

    def test_unreachable_before_a_request_is_503(self):
        with self.assertLogs("odoo.addons.pos_longpolling.patches.db_outage") as logs:
            with self.assertRaises(ServiceUnavailable):
                self.registry_.check_signaling()
        self.assertEqual(len(logs.output), 1)
        self.assertIn("Connection refused", logs.output[0])
        self.assertNotIn("more", logs.output[0])

    def test_a_connection_closed_under_the_cursor_is_503(self):
        self.registry_.error = psycopg2.InterfaceError("connection already closed")
        with self.assertRaises(ServiceUnavailable), self.assertLogs():
            self.registry_.check_signaling()

    def test_connection_limit_is_503(self):
        self.registry_.error = error('FATAL:  too many connections for role "odoo"')
        with self.assertRaises(ServiceUnavailable), self.assertLogs():
            self.registry_.check_signaling()

    def test_database_missing_keeps_odoo_behaviour(self):
        self.registry_.error = error('FATAL:  database "fake" does not exist')
        with self.assertRaises(psycopg2.OperationalError):
            self.registry_.check_signaling()

    def test_other_callers_keep_odoo_behaviour(self):
        type(self).by_dispatch = False
        self.addCleanup(setattr, type(self), "by_dispatch", True)
        with self.assertRaises(psycopg2.OperationalError):
            self.registry_.check_signaling()

    def test_databases_without_the_addon_keep_odoo_behaviour(self):
        self.registry_._init_modules = {"base", "bus"}
        with self.assertRaises(psycopg2.OperationalError):
            self.registry_.check_signaling()

    def test_only_dispatch_counts_as_dispatch(self):
        self.assertFalse(db_outage._called_by_dispatch(None))
        self.assertFalse(db_outage._called_by_dispatch(sys._getframe()))


class FullPoolRoot:
    def __call__(self, environ, start_response):
        raise sql_db.PoolError("The Connection Pool Is Full")


class FullPoolRequest:
    """A JSON request of ``db`` whose route met a full pool."""

    httprequest = type("HttpRequest", (), {"path": "/longpolling/poll"})

    def __init__(self, db):
        self.db = db

    def _handle_exception(self, exception):
        return exception


@tagged("post_install", "-at_install")
class TestFullPool(BaseCase):
    """In the gevent process a full pool answers 503 before routing, the
    JSON-RPC error of a UserError in a route; one warning line each."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with patch.object(db_outage.odoo, "evented", True):
            install_pool_full(FullPoolRoot, FullPoolRequest)

    def test_before_routing_503(self):
        started = []
        with self.assertLogs(db_outage.__name__) as logs:
            body = FullPoolRoot()(
                {"PATH_INFO": "/longpolling/poll", "REQUEST_METHOD": "POST"},
                lambda status, headers: started.append(status),
            )
        self.assertEqual(started, ["503 SERVICE UNAVAILABLE"])
        self.assertIn(b"busy", b"".join(body))
        self.assertEqual(len(logs.output), 1)
        self.assertIn("Pool Is Full", logs.output[0])

    def test_only_in_the_gevent_process(self):
        class Root(FullPoolRoot):
            pass

        install_pool_full(Root, FullPoolRequest)
        self.assertNotIn("__call__", Root.__dict__)

    def test_in_a_json_route_a_user_error(self):
        request = FullPoolRequest(get_db_name())
        answer = request._handle_exception(sql_db.PoolError("Full"))
        self.assertIsInstance(answer, UserError)
        self.assertIn("database is unavailable (Full)", str(answer))
        # A database without the addon: Odoo's answer.
        other = FullPoolRequest("pos_longpolling_without_addon")
        self.assertIsInstance(
            other._handle_exception(sql_db.PoolError("x")), sql_db.PoolError
        )
