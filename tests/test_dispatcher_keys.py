import threading
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.bus.models import bus

from ..patches import bus_dispatch
from ..patches.bus_dispatch import PosDispatch
from .common import PosLongpollingCase


class Dispatch(PosDispatch):
    def __init__(self):
        super().__init__()
        self.started = True
        self.Event = threading.Event


class NothingToRead:
    @staticmethod
    def fetch(channels, last):
        return []


@tagged("post_install", "-at_install")
class TestDispatcherKeys(PosLongpollingCase):
    """The dispatcher keeps a key per channel only while a poll waits on it:
    new channel names at every poll grow nothing (gevent process)."""

    def setUp(self):
        super().setUp()
        self.dispatcher = Dispatch()
        patcher = patch.object(bus_dispatch.odoo, "evented", True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_pos_polls_leave_no_key(self):
        for number in range(100):
            channels = ['["%s","name %d","1"]' % (self.dbname, number)]
            self.dispatcher.poll_in_batch(
                self.dbname, channels, 5, 0.001, reader=NothingToRead
            )
        self.assertEqual(self.dispatcher.channels, {})

    def test_a_key_another_poll_waits_on_stays(self):
        channel = '["%s","x","1"]' % self.dbname
        key = bus.hashable(bus.channel_with_db(self.dbname, channel))
        other = threading.Event()
        self.dispatcher.channels[key] = {other}
        self.dispatcher.poll_in_batch(
            self.dbname, [channel], 5, 0.001, reader=NothingToRead
        )
        self.assertEqual(self.dispatcher.channels, {key: {other}})

    def test_odoos_polls_leave_no_key(self):
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        last = self.last_bus_id()
        # Odoo's own poll leaves its keys (what this addon's dispatcher drops).
        bus.ImDispatch.poll(self.dispatcher, self.dbname, ["lp new"], last, {}, 0.001)
        self.assertEqual(len(self.dispatcher.channels), 1)
        self.dispatcher.channels.clear()
        for number in range(100):
            self.dispatcher.poll(
                self.dbname, ["lp new %d" % number], last, {}, timeout=0.001
            )
        self.assertEqual(self.dispatcher.channels, {})
