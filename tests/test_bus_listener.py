import os
import select
import threading
import time

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from odoo.addons.bus.models import bus

from ..patches import bus_listener
from ..patches.bus_listener import HubSelect, RetryClock, wake_waiting_polls

HIGH_FD = 1500


class ChangingEvent(threading.Event):
    """Changes the channel map when set, as request threads may meanwhile."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels

    def set(self):
        self.channels[("db", id(self))] = {threading.Event()}
        self.channels[("db", "a")].discard(self)
        return super().set()


@tagged("post_install", "-at_install")
class TestBusListener(BaseCase):
    """The bus listener's wait, retry and reconnection (gevent process)."""

    def setUp(self):
        super().setUp()
        read, write = os.pipe()
        self.addCleanup(os.close, write)
        try:
            self.read = os.dup2(read, HIGH_FD)
        finally:
            os.close(read)
        self.addCleanup(os.close, self.read)
        self.write = write
        self.reconnects = []
        self.hub_select = HubSelect(on_reconnect=lambda: self.reconnects.append(1))

    def test_select_itself_fails_above_1023(self):
        with self.assertRaisesRegex(ValueError, "out of range"):
            select.select([self.read], [], [], 0)

    def test_nothing_to_read_times_out(self):
        self.assertEqual(
            self.hub_select.select([self.read], [], [], 0.01), ([], [], [])
        )

    def test_a_notification_wakes_it(self):
        os.write(self.write, b"x")
        self.assertEqual(
            self.hub_select.select([self.read], [], [], 5), ([self.read], [], [])
        )

    def test_other_calls_go_to_select(self):
        self.assertIs(self.hub_select.error, select.error)
        with self.assertRaisesRegex(ValueError, "out of range"):
            self.hub_select.select([self.read, self.write], [], [], 0)

    def test_a_new_connection_wakes_waiting_polls_once(self):
        self.hub_select.select([self.read], [], [], 0)
        self.hub_select.select([self.read], [], [], 0)
        self.assertEqual(self.reconnects, [], "first connection: nothing missed")
        self.hub_select.select([self.write], [], [], 0)
        self.hub_select.select([self.write], [], [], 0)
        self.assertEqual(self.reconnects, [1])

    def test_threaded_server_keeps_select(self):
        hub_select = HubSelect(through_hub=False)
        with self.assertRaisesRegex(ValueError, "out of range"):
            hub_select.select([self.read], [], [], 0)

    def test_installed_in_the_bus(self):
        self.assertIsInstance(bus.select, HubSelect)
        self.assertIsInstance(bus.time, RetryClock)

    def test_retry_sooner(self):
        clock = RetryClock()
        self.assertIs(clock.time, time.time)
        self.assertEqual(clock.delay(50), bus_listener.RETRY)
        self.assertEqual(clock.delay(0.5), 0.5)

    def test_reconnect_wakes_every_waiting_poll_on_a_snapshot(self):
        channels = {}
        events = [ChangingEvent(channels) for _i in range(3)]
        channels[("db", "a")] = set(events[:2])
        channels[("db", "b")] = {events[2]}
        wake_waiting_polls(type("Dispatcher", (), {"channels": channels}))
        self.assertTrue(all(event.is_set() for event in events))
