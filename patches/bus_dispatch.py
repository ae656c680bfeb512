"""Long polls of POSes in the gevent process: listen first, read in batches.

Odoo's ``ImDispatch.poll`` reads before it listens (a NOTIFY in between is
missed until the poll times out) and gives every woken poll its own cursor
and query: a message to a thousand POSes wakes a thousand polls at once,
which then exhaust the connection pool and each pay a query.

``PosDispatch.poll``, for a poll that names a POS channel in a database
with this addon (gevent process, not *peek*), listens first, then reads
through the ``BatchReader`` of its database: one cursor and one
``bus.bus._poll_batch`` call for every POS poll of that database that reads
at that moment; a *peek* reads there too and returns at once. What it
listens with is a ``Wake``: the NOTIFY that sets it queues the poll's read,
and the poll's greenlet is woken once, with what was read (a message to
5,000 POSes: one batch, no round of 5,000 greenlets asking for it first).
A wake-up with nothing to read (every poll is woken when the bus listener
reconnects) waits again. Every other poll is Odoo's.

A key of ``channels`` (what a NOTIFY wakes) is dropped once no poll waits
on it, Odoo's polls' included (Odoo leaves it): its memory is that of the
polls waiting now, whatever channel names clients make up.

Every POS poll, in either mode, also listens to the wake channel of each of
its channel names (``models/bus_bus``: one NOTIFY for a send to all POSes)
and waits ``POS_POLL_TIMEOUT`` seconds (Odoo's 50 + 5: an idle POS polls
less often, and its client counts the answer as contact within its 60 s).
"""
import time
from contextlib import closing

import psycopg2

import odoo
from odoo import SUPERUSER_ID, api
from odoo.sql_db import PoolError

from odoo.addons.bus.models import bus

from ..models.bus_bus import wake_channel
from ..models.pos_config import parse_pos_channel
from .batching import Batcher, Job
from .connection_pool import reading_for_pos_polls
from .installed import installed_in

READ_TIMEOUT = 20
POS_POLL_TIMEOUT = 55


class BatchReader(Batcher):
    """Reads the bus of one database for many polls at once."""

    timeout = READ_TIMEOUT
    what = "the bus"

    def fetch(self, channels, last, timeout=None):
        """What ``bus.bus._poll(channels, last)`` returns, read in a batch."""
        return self.run(list(channels), last, timeout=timeout)

    def serve(self, jobs):
        # Closed, not committed: it only reads.
        with reading_for_pos_polls(), closing(
            odoo.registry(self.dbname).cursor()
        ) as cr:
            self.read_jobs(api.Environment(cr, SUPERUSER_ID, {})["bus.bus"], jobs)

    @staticmethod
    def read_jobs(bus_bus, jobs):
        """Set each job's result: ``bus_bus._poll_batch`` of its
        ``(channels, last)``, or its error."""
        try:
            results = bus_bus._poll_batch([job.args for job in jobs])
        except (psycopg2.OperationalError, PoolError):
            raise
        except Exception:  # pylint: disable=broad-except
            # Not the database: one poll's data. Read each on its own, so
            # that one poll fails alone.
            bus_bus.env.cr.rollback()
            for job in jobs:
                try:
                    with bus_bus.env.cr.savepoint(flush=False):
                        (job.result,) = bus_bus._poll_batch([job.args])
                except Exception as error:  # pylint: disable=broad-except
                    job.error = error
            return
        for job, result in zip(jobs, results):
            job.result = result


class Wake(Job):
    """Stands for a waiting poll's event in the dispatcher's channel map:
    ``set()`` (Odoo's listener, on a NOTIFY) queues the poll's read in its
    database's batch, without waiting; ``done`` is set once it was read."""

    __slots__ = ("reader", "queued")

    def __init__(self, reader, event, channels, last):
        super().__init__((channels, last), event)
        self.reader = reader
        self.queued = False

    def set(self):
        if not self.queued:
            self.queued = True
            self.reader.queue(self)


class PosDispatch(bus.ImDispatch):
    """Odoo's dispatcher, with POS polls read in batches."""

    def poll(self, dbname, channels, last, options=None, timeout=None):
        options = options or {}
        pos_channels = self.pos_channels(dbname, channels)
        if not pos_channels:
            return self.odoos_poll(dbname, channels, last, options, timeout)
        timeout = timeout or POS_POLL_TIMEOUT
        if not odoo.evented:
            return self.odoos_poll(dbname, pos_channels, last, options, timeout)
        if options.get("peek"):
            return {
                "notifications": self.reader(dbname).fetch(pos_channels, last),
                "channels": [bus.channel_with_db(dbname, c) for c in pos_channels],
            }
        return self.poll_in_batch(dbname, pos_channels, last, timeout)

    def odoos_poll(self, dbname, channels, last, options, timeout):
        """Odoo's ``poll``, which leaves the key of every channel it waited
        on in ``self.channels``: dropped here once no poll waits on it."""
        try:
            return super().poll(dbname, channels, last, options, timeout)
        finally:
            self.forget_idle(
                bus.hashable(bus.channel_with_db(dbname, c)) for c in channels
            )

    def forget_idle(self, keys):
        """Drop the keys of ``keys`` on which no poll waits any more: a
        client naming new channels at every poll grows nothing. In the
        gevent process only, where no other poll runs between the check and
        the drop (threads could add a waiter to a set being dropped)."""
        if not odoo.evented:
            return
        for key in keys:
            if not self.channels.get(key, True):
                del self.channels[key]

    @staticmethod
    def pos_channels(dbname, channels, names=None):
        """``channels`` and the wake channels of their POS channel names
        (``names`` if known), if they name a POS channel of ``dbname``, which
        has this addon."""
        if names is None:
            names = {
                parsed[1]
                for parsed in map(parse_pos_channel, channels)
                if parsed and parsed[0] == dbname
            }
        if not names or not installed_in(dbname):
            return None
        return list(channels) + [wake_channel(name) for name in sorted(names)]

    @staticmethod
    def reader(dbname):
        """The batch reader of ``dbname`` (one per database and process)."""
        if dbname not in readers:
            readers[dbname] = BatchReader(dbname)
        return readers[dbname]

    def poll_in_batch(self, dbname, channels, last, timeout, reader=None, first=None):
        """Wait for a NOTIFY on one of ``channels`` (or ``timeout``), read
        through the batch reader of ``dbname``; the first read, once
        listening, by ``first()`` if given."""
        if not self.started:
            self.start()
        reader = reader or self.reader(dbname)
        keys = {bus.hashable(bus.channel_with_db(dbname, c)) for c in channels}
        deadline = time.monotonic() + timeout
        read = first or (lambda: reader.fetch(channels, last))
        while True:
            wake = Wake(reader, self.Event(), channels, last)
            # Listen before reading, so a NOTIFY during the read is not missed.
            for key in keys:
                self.channels.setdefault(key, set()).add(wake)
            try:
                notifications = read()
                read = lambda: reader.fetch(channels, last)  # noqa: E731
                remaining = deadline - time.monotonic()
                if notifications or remaining <= 0 or bus.stop_event.is_set():
                    return notifications
                if not wake.done.wait(timeout=remaining):
                    return reader.fetch(channels, last)
                if wake.error is not None:
                    raise wake.error
                if wake.result:
                    return wake.result
            finally:
                for key in keys:
                    events = self.channels.get(key)
                    if events:
                        events.discard(wake)
                self.forget_idle(keys)


readers = {}


def install(dispatcher=bus.dispatch, evented=None):
    """Make Odoo's dispatcher (one per process) a ``PosDispatch``; in the
    gevent process, start its listener now, not at the first poll that
    waits: a NOTIFY before the listener listens wakes no poll."""
    if not isinstance(dispatcher, PosDispatch):
        dispatcher.__class__ = PosDispatch
    if (odoo.evented if evented is None else evented) and not dispatcher.started:
        dispatcher.start()
