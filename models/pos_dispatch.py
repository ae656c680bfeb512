"""Long polls of POSes, read in batches (gevent process).

Odoo's dispatcher gives every woken poll its own cursor and query to read
``bus.bus``: a message to a thousand POSes wakes a thousand polls at the same
instant, which then exhaust the connection pool (``PoolError``) and each pay
a query. POS polls still wait on Odoo's dispatcher, but read through one
``BatchReader``: a read serves, with one cursor and one query, every POS poll
that wants to read at that moment. Other polls (discuss, presence) keep
Odoo's own path.
"""
import json
import threading
import time
from collections import defaultdict

import odoo
from odoo import SUPERUSER_ID, api

from odoo.addons.bus.models.bus import (
    TIMEOUT,
    channel_with_db,
    dispatch,
    hashable,
    json_dump,
    stop_event,
)


class _Read:
    __slots__ = ("dbname", "channels", "last", "done", "result", "error")

    def __init__(self, dbname, channels, last):
        self.dbname = dbname
        self.channels = channels
        self.last = last
        # threading is gevent's own in the gevent process (monkey patched).
        self.done = threading.Event()
        self.result = []
        self.error = None


class BatchReader:
    """Reads bus notifications for many polls with one query."""

    def __init__(self):
        self._pending = []
        self._running = False

    def fetch(self, dbname, channels, last):
        """What ``bus.bus._poll(channels, last)`` returns, read in a batch."""
        request = self.submit(dbname, channels, last)
        if not self._running:
            import gevent  # pylint: disable=import-outside-toplevel

            self._running = True
            gevent.spawn(self._run)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def submit(self, dbname, channels, last):
        request = _Read(dbname, list(channels), last)
        self._pending.append(request)
        return request

    def flush(self):
        """Answer every request submitted so far."""
        batch, self._pending = self._pending, []
        by_db = defaultdict(list)
        for request in batch:
            by_db[request.dbname].append(request)
        for dbname, requests in by_db.items():
            try:
                with odoo.registry(dbname).cursor() as cr:
                    self._read(cr, requests)
            except Exception as error:  # pylint: disable=broad-except
                for request in requests:
                    request.error = error
            for request in requests:
                request.done.set()

    def _run(self):
        try:
            while self._pending:
                self.flush()
        finally:
            self._running = False

    @staticmethod
    def _read(cr, requests):
        # A first poll (last == 0) gets the recent buffer: Odoo's own query.
        bus = api.Environment(cr, SUPERUSER_ID, {})["bus.bus"]
        for request in requests:
            if not request.last:
                request.result = bus._poll(request.channels, 0)
        requests = [request for request in requests if request.last]
        if not requests:
            return
        keys = {
            id(request): [
                json_dump(channel_with_db(cr.dbname, c)) for c in request.channels
            ]
            for request in requests
        }
        cr.execute(
            "SELECT id, channel, message FROM bus_bus"
            " WHERE id > %s AND channel IN %s ORDER BY id",
            (
                min(request.last for request in requests),
                tuple({key for request_keys in keys.values() for key in request_keys}),
            ),
        )
        by_channel = defaultdict(list)
        for notification_id, channel, message in cr.fetchall():
            by_channel[channel].append(
                {"id": notification_id, "message": json.loads(message)}
            )
        for request in requests:
            found = [
                notification
                for key in keys[id(request)]
                for notification in by_channel.get(key, ())
                if notification["id"] > request.last
            ]
            request.result = sorted(found, key=lambda notification: notification["id"])


reader = BatchReader()


def poll(dbname, channels, last, timeout=TIMEOUT, dispatcher=dispatch, batch=reader):
    """Odoo's long poll, for POS channels: wait for a NOTIFY on one of
    ``channels`` (or ``timeout``), read through the batch reader. A wake-up
    with nothing to read (all polls are woken when the bus listener
    reconnects) waits again instead of making the POS poll again."""
    if not dispatcher.started:
        dispatcher.start()
    keys = [hashable(channel_with_db(dbname, channel)) for channel in channels]
    deadline = time.monotonic() + timeout
    while True:
        event = dispatcher.Event()
        # Listen before reading, so a NOTIFY during the read is not missed.
        for key in keys:
            dispatcher.channels.setdefault(key, set()).add(event)
        try:
            notifications = batch.fetch(dbname, channels, last)
            remaining = deadline - time.monotonic()
            if notifications or remaining <= 0 or stop_event.is_set():
                return notifications
            if not event.wait(timeout=remaining):
                return batch.fetch(dbname, channels, last)
        finally:
            for key in keys:
                events = dispatcher.channels.get(key)
                if events:
                    events.discard(event)
