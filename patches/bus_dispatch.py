"""Long polls of POSes in the gevent process: listen first, read in batches.

Odoo's ``ImDispatch.poll`` reads before it listens (a NOTIFY in between is
missed until the poll times out) and gives every woken poll its own cursor
and query: a message to a thousand POSes wakes a thousand polls at once,
which then exhaust the connection pool and each pay a query.

``PosDispatch.poll``, for a poll that names a POS channel in a database
with this addon (gevent process, not *peek*), listens first, then reads
through the ``BatchReader`` of its database: one cursor and one
``bus.bus._poll_batch`` call for every POS poll of that database that reads
at that moment. A wake-up with nothing to read (every poll is woken when
the bus listener reconnects) waits again. Every other poll is Odoo's.
"""
import threading
import time

import psycopg2

import odoo
from odoo import SUPERUSER_ID, api
from odoo.sql_db import PoolError

from odoo.addons.bus.models import bus

from ..models.pos_config import parse_pos_channel
from .connection_pool import reading_for_pos_polls
from .installed import installed_in

READ_TIMEOUT = 20


class _Read:
    __slots__ = ("channels", "last", "done", "result", "error")

    def __init__(self, channels, last):
        self.channels = channels
        self.last = last
        # threading is gevent's own in the gevent process (monkey patched).
        self.done = threading.Event()
        self.result = None
        self.error = None


class BatchReader:
    """Reads the bus of one database for many polls at once."""

    def __init__(self, dbname, spawn=None):
        self.dbname = dbname
        self._spawn = spawn
        self._pending = []
        self._running = False

    def fetch(self, channels, last, timeout=READ_TIMEOUT):
        """What ``bus.bus._poll(channels, last)`` returns, read in a batch."""
        read = self.submit(channels, last)
        if not self._running:
            self._running = True
            (self._spawn or _gevent_spawn)(self._run)
        if not read.done.wait(timeout):
            raise TimeoutError(
                "the bus of %s was not read in %s s" % (self.dbname, timeout)
            )
        if read.error is not None:
            raise read.error
        return read.result

    def submit(self, channels, last):
        read = _Read(list(channels), last)
        self._pending.append(read)
        return read

    def flush(self):
        """Answer every read submitted so far."""
        batch, self._pending = self._pending, []
        try:
            with reading_for_pos_polls(), odoo.registry(self.dbname).cursor() as cr:
                self._read(api.Environment(cr, SUPERUSER_ID, {})["bus.bus"], batch)
        except Exception as error:  # pylint: disable=broad-except
            for read in batch:
                read.error = error
        for read in batch:
            read.done.set()

    @staticmethod
    def _read(bus_bus, batch):
        try:
            results = bus_bus._poll_batch([(r.channels, r.last) for r in batch])
        except (psycopg2.OperationalError, PoolError):
            raise
        except Exception:  # pylint: disable=broad-except
            # Not the database: one poll's data. Read each on its own, so
            # that one poll fails alone.
            bus_bus.env.cr.rollback()
            for read in batch:
                try:
                    with bus_bus.env.cr.savepoint(flush=False):
                        (read.result,) = bus_bus._poll_batch(
                            [(read.channels, read.last)]
                        )
                except Exception as error:  # pylint: disable=broad-except
                    read.error = error
            return
        for read, result in zip(batch, results):
            read.result = result

    def _run(self):
        try:
            while self._pending:
                self.flush()
        finally:
            self._running = False


def _gevent_spawn(function):
    import gevent  # pylint: disable=import-outside-toplevel

    gevent.spawn(function)


class PosDispatch(bus.ImDispatch):
    """Odoo's dispatcher, with POS polls read in batches."""

    def poll(self, dbname, channels, last, options=None, timeout=None):
        if (
            odoo.evented
            and not (options or {}).get("peek")
            and any(parse_pos_channel(channel) for channel in channels)
            and installed_in(dbname)
        ):
            return self.poll_in_batch(dbname, channels, last, timeout or bus.TIMEOUT)
        return super().poll(dbname, channels, last, options, timeout)

    def poll_in_batch(self, dbname, channels, last, timeout, reader=None):
        """Wait for a NOTIFY on one of ``channels`` (or ``timeout``), read
        through the batch reader of ``dbname``."""
        if not self.started:
            self.start()
        if reader is None:
            if dbname not in readers:
                readers[dbname] = BatchReader(dbname)
            reader = readers[dbname]
        keys = {bus.hashable(bus.channel_with_db(dbname, c)) for c in channels}
        deadline = time.monotonic() + timeout
        while True:
            event = self.Event()
            # Listen before reading, so a NOTIFY during the read is not missed.
            for key in keys:
                self.channels.setdefault(key, set()).add(event)
            try:
                notifications = reader.fetch(channels, last)
                remaining = deadline - time.monotonic()
                if notifications or remaining <= 0 or bus.stop_event.is_set():
                    return notifications
                if not event.wait(timeout=remaining):
                    return reader.fetch(channels, last)
            finally:
                for key in keys:
                    events = self.channels.get(key)
                    if events:
                        events.discard(event)


readers = {}


def install(dispatcher=bus.dispatch):
    """Make Odoo's dispatcher (one per process) a ``PosDispatch``."""
    if not isinstance(dispatcher, PosDispatch):
        dispatcher.__class__ = PosDispatch
