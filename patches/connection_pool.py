"""In the gevent process, POS polls wait their turn for a database connection.

A message to hundreds of POSes wakes all their polls at once, and each POS
polls again at once: every one of those requests takes a connection for a
moment (registry signaling, session, access check), and Odoo's pool
(``db_maxconn``) fails each borrow over its size with ``PoolError``. Here a
borrow for a database with this addon, made by the greenlets that read for
POS polls that passed Odoo's check (``reading_for_pos_polls``: the batch
reader of ``bus_dispatch``, which serves polls the poll controller or
``pos_poll`` let listen; ``pos_poll``'s checks, for sessions that passed
Odoo's check before), waits up to ``WAIT`` seconds, in arrival order, for
a connection given back. A request's own borrows never wait: anonymous,
logged-out and refused requests fail as fast as in Odoo, whatever they
look like, and while POS polls wait they get no connection of such a
database at all (other databases', ``postgres``'s for the bus listener
and the database list, are Odoo's as ever). It never waits when its greenlet already holds a
connection (Odoo nests borrows: ``check_signaling`` keeps its cursor while
``Registry.new`` opens more), so holders cannot wait on each other. Every
other borrower fails as fast as in Odoo.
"""
import collections
import contextlib
import functools
import threading
import time

import odoo
from odoo import sql_db

from .installed import installed_in

WAIT = 15
POLL_PATH = "/longpolling/poll"
_readers = set()


@contextlib.contextmanager
def reading_for_pos_polls(may_wait=True):
    """The current greenlet reads for POS polls that passed Odoo's check:
    its borrows may wait (unless not ``may_wait``)."""
    me = threading.current_thread()
    if not may_wait:
        yield
        return
    _readers.add(me)
    try:
        yield
    finally:
        _readers.discard(me)


class PoolQueue:
    """Who may wait for a connection of one pool class, and in what order."""

    def __init__(self, wait=WAIT, may_wait=lambda: False):
        self.wait = wait
        self.may_wait = may_wait
        # threading is gevent's own in the gevent process (monkey patched).
        self.turns = collections.deque()
        self.owners = {}

    def borrow(self, borrow, pool, connection_info):
        me = threading.current_thread()
        if me in self.owners.values():
            connection = borrow(pool, connection_info)
        elif self._waits(me, connection_info):
            connection = self._borrow_in_turn(borrow, pool, connection_info)
        elif self.turns and installed_in(connection_info.get("database")):
            # POS polls wait for a connection: none for others meanwhile.
            raise sql_db.PoolError(
                "The Connection Pool Is Full (POS polls wait for a connection)"
            )
        else:
            connection = borrow(pool, connection_info)
        self.owners[id(connection)] = me
        return connection

    def given_back(self, connection):
        self.owners.pop(id(connection), None)
        if self.turns:
            self.turns.popleft().set()

    def _waits(self, me, connection_info):
        return (me in _readers or self.may_wait()) and installed_in(
            connection_info.get("database")
        )

    def _borrow_in_turn(self, borrow, pool, connection_info):
        if not self.turns:
            with contextlib.suppress(sql_db.PoolError):
                return borrow(pool, connection_info)
        deadline = time.monotonic() + self.wait
        turn = threading.Event()
        self.turns.append(turn)
        try:
            while turn.wait(deadline - time.monotonic()):
                turn.clear()
                try:
                    return borrow(pool, connection_info)
                except sql_db.PoolError:
                    # Taken by a borrower that does not wait: stay first.
                    self.turns.appendleft(turn)
            raise sql_db.PoolError(
                "The Connection Pool Is Full (waited %s s for a connection)" % self.wait
            )
        finally:
            if turn in self.turns:
                self.turns.remove(turn)
            elif turn.is_set() and self.turns:
                # Woken but leaving without it: pass the turn on.
                self.turns.popleft().set()


def install(pool_class=sql_db.ConnectionPool, queue=None):
    """Make ``pool_class`` serve POS polls in turn (gevent process only)."""
    if hasattr(pool_class, "pos_queue") or (queue is None and not odoo.evented):
        return
    queue = queue or PoolQueue()
    borrow, give_back = pool_class.borrow, pool_class.give_back

    @functools.wraps(borrow)
    def borrow_in_turn(self, connection_info):
        return queue.borrow(borrow, self, connection_info)

    @functools.wraps(give_back)
    def give_back_and_wake(self, connection, keep_in_pool=True):
        try:
            return give_back(self, connection, keep_in_pool)
        finally:
            queue.given_back(connection)

    pool_class.pos_queue = queue
    pool_class.borrow = borrow_in_turn
    pool_class.give_back = give_back_and_wake
