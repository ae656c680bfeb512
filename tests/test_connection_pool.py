import threading
import time

from odoo import sql_db
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from ..models.connection_pool import install


class WaitingPool(sql_db.ConnectionPool):
    pass


install(WaitingPool, wait=1)


@tagged("post_install", "-at_install")
class TestConnectionPool(BaseCase):
    """The gevent process's pool waits for a connection instead of failing."""

    def setUp(self):
        super().setUp()
        self.info = sql_db.connection_info_for(get_db_name())[1]
        self.pool = WaitingPool(maxconn=1)
        self.addCleanup(self.pool.close_all)

    def test_only_the_given_class_changes(self):
        self.assertFalse(
            getattr(sql_db.ConnectionPool.borrow, "waits_when_full", False)
        )

    def test_a_connection_given_back_goes_to_the_waiting_request(self):
        first = self.pool.borrow(self.info)
        threading.Timer(0.05, self.pool.give_back, (first,)).start()
        second = self.pool.borrow(self.info)  # waits for the timer
        self.assertIs(second, first)
        self.pool.give_back(second)

    def test_still_full_after_the_wait_fails_as_before(self):
        self.pool.borrow(self.info)
        start = time.monotonic()
        with self.assertRaisesRegex(sql_db.PoolError, "Full"):
            self.pool.borrow(self.info)
        self.assertGreaterEqual(time.monotonic() - start, 1)
