import threading
import time

from odoo import sql_db
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from ..patches.connection_pool import PoolQueue, install, reading_for_pos_polls


class QueuedPool(sql_db.ConnectionPool):
    """A pool of the gevent process, where ``pos_poll`` says what is a POS poll."""

    pos_poll = threading.local()


install(
    QueuedPool,
    PoolQueue(wait=5, may_wait=lambda: getattr(QueuedPool.pos_poll, "on", False)),
)


@tagged("post_install", "-at_install")
class TestConnectionPool(BaseCase):
    """POS polls wait their turn for a connection; nobody else waits."""

    def setUp(self):
        super().setUp()
        self.info = sql_db.connection_info_for(get_db_name())[1]
        self.pool = QueuedPool(maxconn=1)
        self.addCleanup(self.pool.close_all)
        self.held = self.pool.borrow(self.info)

    def in_thread(self, function, pos_poll=True):
        """Runs ``function`` in a thread serving a POS poll (or not); returns
        ``[result or error]`` once ``join()``-ed, and the thread."""
        out = []

        def run():
            QueuedPool.pos_poll.on = pos_poll
            try:
                out.append(function())
            except Exception as error:  # pylint: disable=broad-except
                out.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        return out, thread

    def waiting(self, count):
        deadline = time.monotonic() + 5
        while len(QueuedPool.pos_queue.turns) < count and time.monotonic() < deadline:
            time.sleep(0.001)
        self.assertEqual(len(QueuedPool.pos_queue.turns), count)

    def test_odoo_pool_unchanged_outside_the_gevent_process(self):
        self.assertFalse(hasattr(sql_db.ConnectionPool, "pos_queue"))

    def test_a_pos_poll_waits_for_a_connection_given_back(self):
        out, thread = self.in_thread(lambda: self.pool.borrow(self.info))
        self.waiting(1)
        self.pool.give_back(self.held)
        thread.join(5)
        self.assertIs(out[0], self.held)
        self.pool.give_back(out[0])

    def test_others_fail_as_fast_as_in_odoo(self):
        out, thread = self.in_thread(lambda: self.pool.borrow(self.info), False)
        thread.join(5)
        self.assertIsInstance(out[0], sql_db.PoolError)
        self.assertEqual(len(QueuedPool.pos_queue.turns), 0)

    def test_no_connection_for_others_while_pos_polls_wait(self):
        waiter, thread = self.in_thread(lambda: self.pool.borrow(self.info))
        self.waiting(1)
        # Not even one given back meanwhile: others fail before trying.
        other, other_thread = self.in_thread(lambda: self.pool.borrow(self.info), False)
        other_thread.join(5)
        self.assertIsInstance(other[0], sql_db.PoolError)
        self.assertIn("POS polls wait", str(other[0]))
        self.pool.give_back(self.held)
        thread.join(5)
        self.assertIs(waiter[0], self.held)
        self.pool.give_back(waiter[0])

    def test_a_holder_does_not_wait_for_a_second_connection(self):
        # This thread holds one (nested borrow, as check_signaling's).
        QueuedPool.pos_poll.on = True
        self.addCleanup(setattr, QueuedPool.pos_poll, "on", False)
        start = time.monotonic()
        with self.assertRaises(sql_db.PoolError):
            self.pool.borrow(self.info)
        self.assertLess(time.monotonic() - start, 1)

    def test_batch_readers_wait_too(self):
        def read():
            with reading_for_pos_polls():
                return self.pool.borrow(self.info)

        out, thread = self.in_thread(read, pos_poll=False)
        self.waiting(1)
        self.pool.give_back(self.held)
        thread.join(5)
        self.assertIs(out[0], self.held)
        self.pool.give_back(out[0])

    def test_waiters_are_served_in_order(self):
        served = []

        def borrow(name):
            def run():
                connection = self.pool.borrow(self.info)
                served.append(name)
                self.pool.give_back(connection)

            return run

        threads = []
        for count, name in enumerate("abc", 1):
            threads.append(self.in_thread(borrow(name))[1])
            self.waiting(count)
        self.pool.give_back(self.held)
        for thread in threads:
            thread.join(5)
        self.assertEqual(served, ["a", "b", "c"])

    def test_still_full_after_the_wait_fails(self):
        QueuedPool.pos_queue.wait = 0.05
        self.addCleanup(setattr, QueuedPool.pos_queue, "wait", 5)
        out, thread = self.in_thread(lambda: self.pool.borrow(self.info))
        thread.join(5)
        self.assertIsInstance(out[0], sql_db.PoolError)
        self.assertIn("waited", str(out[0]))
        self.assertEqual(len(QueuedPool.pos_queue.turns), 0)

    def test_only_databases_with_the_addon_wait(self):
        info = dict(self.info, database="pos_longpolling_without_addon")
        out, thread = self.in_thread(
            lambda: QueuedPool.pos_queue._waits(threading.current_thread(), info)
        )
        thread.join(5)
        self.assertEqual(out, [False])
