"""Contacts of POS screens, kept in this process's memory and written at most
every ``INTERVAL`` seconds in one statement for all POSes of a database
(``pos.longpolling.contact._write_contacts``): a poll or a ping writes
nothing itself, and nothing is written when no screen was answered.

Each process (threaded server, prefork worker, gevent process, another
node) writes what it saw; the rows are the union of all.
"""
import datetime
import logging
import os
import re
import threading
import time

import odoo

from .pos_config import parse_pos_channel

_logger = logging.getLogger(__name__)

INTERVAL = 30  # seconds
KEEP_UNWRITTEN = datetime.timedelta(minutes=10)
# Screens of one POS noted between two writes: screen ids are the client's,
# a client making up new ones at every request adds no more rows.
MAX_SCREENS = 20
SCREEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_screen_id(value):
    """Whether ``value`` is a screen id a client may send."""
    return isinstance(value, str) and bool(SCREEN_RE.match(value))


class ContactRecorder:
    def __init__(self, interval=INTERVAL):
        self.interval = interval
        self.lock = threading.Lock()
        self.pending = {}  # {dbname: {(pos id, screen): utc datetime}}
        self.screens = {}  # {dbname: {pos id: screens in pending}}
        self.flusher_pid = None

    def note(self, dbname, pos_ids, screen=None):
        """The server answers POSes ``pos_ids`` of ``dbname`` now, on
        ``screen`` (a screen id, else ``""``)."""
        screen = screen if is_screen_id(screen) else ""
        now = datetime.datetime.utcnow().replace(microsecond=0)
        self._add(dbname, (((pos_id, screen), now) for pos_id in pos_ids))
        self._start_flusher()

    def _add(self, dbname, contacts):
        """Note ``contacts``, ``((pos id, screen), when)``, keeping the
        newest time of each, at most ``MAX_SCREENS`` screens a POS."""
        with self.lock:
            seen = self.pending.setdefault(dbname, {})
            screens = self.screens.setdefault(dbname, {})
            for key, when in contacts:
                if key not in seen:
                    if screens.get(key[0], 0) >= MAX_SCREENS:
                        continue
                    screens[key[0]] = screens.get(key[0], 0) + 1
                elif seen[key] >= when:
                    continue
                seen[key] = when

    def note_channels(self, dbname, channels, screen=None):
        """As ``note``, for the POS channels of ``dbname`` among ``channels``."""
        parsed = (parse_pos_channel(channel) for channel in channels)
        self.note(dbname, {p[2] for p in parsed if p and p[0] == dbname}, screen)

    def take(self, dbname):
        """What was noted for ``dbname`` since the last take, forgotten here."""
        with self.lock:
            self.screens.pop(dbname, None)
            return self.pending.pop(dbname, {})

    def flush(self):
        """Write what every database got noted, one statement each."""
        for dbname in list(self.pending):
            contacts = self.take(dbname)
            if not contacts:
                continue
            try:
                registry = odoo.registry(dbname)
                if registry.in_test_mode():
                    # Tests share one cursor: they take and write themselves.
                    with self.lock:
                        self.pending.setdefault(dbname, {}).update(contacts)
                    continue
                with registry.cursor() as cr:
                    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                    env["pos.longpolling.contact"]._write_contacts(contacts)
                # The harness counts these lines per process.
                _logger.debug("last contacts of %d screen(s) written", len(contacts))
            except Exception as error:  # pylint: disable=broad-except
                # Kept for the next writes (a POS gone meanwhile keeps its
                # time), but not for ever: a dropped database stays failing.
                since = datetime.datetime.utcnow() - KEEP_UNWRITTEN
                self._add(dbname, ((k, w) for k, w in contacts.items() if w >= since))
                _logger.warning(
                    "pos_longpolling: last contacts of %d screen(s) not written"
                    " (kept for the next write, %d minutes at most): %s",
                    len(contacts),
                    KEEP_UNWRITTEN.total_seconds() // 60,
                    error,
                )

    def _start_flusher(self):
        # One thread per process (a prefork worker starts its own).
        if self.flusher_pid == os.getpid():
            return
        with self.lock:
            if self.flusher_pid == os.getpid():
                return
            self.flusher_pid = os.getpid()
        thread = threading.Thread(
            target=self._run, name="pos_longpolling.contacts", daemon=True
        )
        thread.start()

    def _run(self):
        while True:
            time.sleep(self.interval)
            self.flush()


contacts = ContactRecorder()
