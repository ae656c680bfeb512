"""Odoo's bus listener, made to survive a large fleet and a database restart.

``ImDispatch.loop`` waits for PostgreSQL's NOTIFY with ``select.select``,
retries 50 s after losing its connection and, meanwhile, misses every
NOTIFY. Three changes, through the names the bus module uses:

* ``select`` (gevent process): gevent runs ``select.select`` first as the
  system call, which raises "filedescriptor out of range" for a descriptor
  above 1023, as the listener gets when it (re)connects while about a
  thousand POSes are connected; it then fails every 50 s and no poll is ever
  woken. The wait for the listener's one connection goes through gevent's
  hub instead.
* ``time``: the listener retries after ``RETRY`` seconds, not 50.
* When the listener waits on a new connection after losing one, every
  waiting poll is woken once to read what it may have missed.

The listener serves every database of the process: these changes cannot be
limited to the databases that have this addon.
"""
import select
import socket
import time

import odoo

from odoo.addons.bus.models import bus

RETRY = 5


class HubSelect:
    """Stands for the ``select`` module in ``odoo.addons.bus.models.bus``."""

    def __init__(self, on_reconnect=None, through_hub=True):
        self.on_reconnect = on_reconnect
        self.through_hub = through_hub
        self.connection = None

    def __getattr__(self, name):
        return getattr(select, name)

    def select(self, rlist, wlist, xlist, timeout=None):
        if wlist or xlist or len(rlist) != 1:
            return select.select(rlist, wlist, xlist, timeout)
        (conn,) = rlist
        if conn is not self.connection:
            reconnected = self.connection is not None
            self.connection = conn
            if reconnected and self.on_reconnect:
                self.on_reconnect()
        if not self.through_hub:
            return select.select(rlist, wlist, xlist, timeout)
        from gevent.socket import wait_read  # pylint: disable=import-outside-toplevel

        try:
            wait_read(conn if isinstance(conn, int) else conn.fileno(), timeout)
        except socket.timeout:
            return [], [], []
        return list(rlist), [], []


class RetryClock:
    """Stands for the ``time`` module in ``odoo.addons.bus.models.bus``."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def delay(seconds):
        return min(seconds, RETRY)

    def sleep(self, seconds):
        time.sleep(self.delay(seconds))


def wake_waiting_polls(dispatcher):
    """``dispatcher.wakeup_workers()`` on a snapshot: in threaded mode,
    request threads change the channel map meanwhile."""
    for events in list(dispatcher.channels.values()):
        for event in list(events):
            event.set()


def install(module=bus):
    if not isinstance(module.select, HubSelect):
        module.select = HubSelect(
            lambda: wake_waiting_polls(module.dispatch), through_hub=odoo.evented
        )
        module.time = RetryClock()
