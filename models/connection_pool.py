"""In the gevent process, a full connection pool makes a request wait.

Every long poll takes a database connection for a moment when it arrives
and again when it is answered. A message to hundreds of POSes wakes them all
at once, and Odoo's pool (``db_maxconn``) fails every request over its size
with ``PoolError: The Connection Pool Is Full``; the POS only retries
seconds later. Here such a request waits until a connection is given back,
up to ``POOL_WAIT`` seconds, then fails as before. Only the gevent process
(long polls) is changed, and only for requests that would have failed.
"""
import functools
import threading
import time

import odoo
from odoo import sql_db

POOL_WAIT = 30


def install(pool_class=sql_db.ConnectionPool, wait=POOL_WAIT):
    """Make ``pool_class`` wait up to ``wait`` seconds for a connection."""
    if getattr(pool_class.borrow, "waits_when_full", False):
        return
    borrow, give_back = pool_class.borrow, pool_class.give_back
    # threading is gevent's own in the gevent process (monkey patched).
    given_back = threading.Condition()

    @functools.wraps(borrow)
    def waiting_borrow(self, connection_info):
        deadline = time.monotonic() + wait
        while True:
            try:
                return borrow(self, connection_info)
            except sql_db.PoolError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                with given_back:
                    given_back.wait(remaining)

    @functools.wraps(give_back)
    def notifying_give_back(self, connection, keep_in_pool=True):
        try:
            return give_back(self, connection, keep_in_pool)
        finally:
            with given_back:
                given_back.notify()

    waiting_borrow.waits_when_full = True
    pool_class.borrow = waiting_borrow
    pool_class.give_back = notifying_give_back


if odoo.evented:
    install()
