import psycopg2
from werkzeug.exceptions import ServiceUnavailable

from odoo import http
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from ..models.db_outage import database_lost, install


class FakeRegistry:
    db_name = "fake"
    error = None

    def check_signaling(self):
        if self.error:
            raise self.error
        return self


@tagged("post_install", "-at_install")
class TestDatabaseOutage(BaseCase):
    """PostgreSQL unreachable during a request: 503, the session is kept."""

    lost = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install(FakeRegistry, lost=lambda dbname: cls.lost)

    def setUp(self):
        super().setUp()
        self.registry_ = FakeRegistry()
        self.registry_.error = psycopg2.OperationalError(
            "connection to server failed: Connection refused\nmore"
        )

    def in_request(self):
        http._request_stack.push(object())
        self.addCleanup(http._request_stack.pop)

    def test_installed_on_odoo_registry(self):
        self.assertTrue(Registry.check_signaling.keeps_sessions)
        self.assertFalse(database_lost(get_db_name()))
        self.assertTrue(database_lost("pos_longpolling_no_such_database"))

    def test_no_error_no_change(self):
        self.registry_.error = None
        self.in_request()
        self.assertIs(self.registry_.check_signaling(), self.registry_)

    def test_unreachable_in_a_request_is_503(self):
        self.in_request()
        with self.assertLogs("odoo.addons.pos_longpolling.models.db_outage") as logs:
            with self.assertRaises(ServiceUnavailable):
                self.registry_.check_signaling()
        self.assertEqual(len(logs.output), 1)
        self.assertIn("Connection refused", logs.output[0])
        self.assertNotIn("more", logs.output[0])

    def test_database_lost_keeps_odoo_behaviour(self):
        type(self).lost = True
        self.addCleanup(setattr, type(self), "lost", False)
        self.in_request()  # Odoo logs the session out
        with self.assertRaises(psycopg2.OperationalError):
            self.registry_.check_signaling()

    def test_outside_a_request_keeps_odoo_behaviour(self):
        with self.assertRaises(psycopg2.OperationalError):
            self.registry_.check_signaling()
