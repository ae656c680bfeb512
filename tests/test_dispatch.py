import threading
from unittest.mock import patch

from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import mute_logger

from odoo.addons.bus.models import bus

from ..models.bus_bus import wake_channel
from ..patches import bus_dispatch
from ..patches.bus_dispatch import BatchReader, PosDispatch, Wake
from ..patches.installed import installed_in
from .common import PosLongpollingCase


@tagged("post_install", "-at_install")
class TestPollBatch(PosLongpollingCase):
    """``bus.bus._poll_batch`` answers each poll exactly as ``_poll``."""

    def setUp(self):
        super().setUp()
        self.Bus = self.env["bus.bus"]
        self.start = self.last_bus_id()
        configs = self.pos_a | self.pos_b
        configs._send_to_channel("x", {"n": 1})
        self.pos_a._send_to_channel("y", "only a")
        self.middle = self.last_bus_id()
        configs._send_to_channel("x", {"n": 2})
        self.pos_b._send_to_channel("pos.longpolling")
        self.env["base"].flush()

    def polls(self):
        a, b = self.pos_a, self.pos_b
        return [
            ([a._get_full_channel_name("x")], self.start),
            ([a._get_full_channel_name(c) for c in ("x", "y")], self.start),
            (
                [b._get_full_channel_name(c) for c in ("x", "pos.longpolling")],
                self.middle,
            ),
            ([self.pos_closed._get_full_channel_name("x")], self.start),
            (["broadcast", a._get_full_channel_name("y")], self.start),
            ([a._get_full_channel_name("x")], 0),
            ([b._get_full_channel_name("x"), "broadcast"], 0),
        ]

    def test_same_answers_as_poll(self):
        polls = self.polls()
        results = self.Bus._poll_batch(polls)
        self.assertEqual(results, [self.Bus._poll(c, last) for c, last in polls])
        self.assertEqual(
            [n["message"]["payload"] for n in results[0]], [{"n": 1}, {"n": 2}]
        )
        self.assertEqual(results[3], [])
        self.assertTrue(results[5], "a first poll gets the recent buffer")

    def test_one_query_for_all_later_polls_one_for_all_first(self):
        polls = self.polls()
        for kind in ([p for p in polls if p[1]], [p for p in polls if not p[1]]):
            before = self.cr.sql_log_count
            self.Bus._poll_batch(kind[:1])
            one = self.cr.sql_log_count - before
            before = self.cr.sql_log_count
            self.Bus._poll_batch(kind * 3)
            self.assertEqual(self.cr.sql_log_count - before, one)
        before = self.cr.sql_log_count
        self.Bus._poll_batch(polls)
        self.assertEqual(self.cr.sql_log_count - before, 2)

    def test_a_channel_named_twice_gets_each_notification_once(self):
        channel = self.pos_a._get_full_channel_name("x")
        (result,) = self.Bus._poll_batch([([channel, channel], self.start)])
        self.assertEqual(result, self.Bus._poll([channel], self.start))
        self.assertEqual(len(result), 2)


@tagged("post_install", "-at_install")
class TestBatchReader(PosLongpollingCase):
    """One read serves every pending poll; one poll's bad data fails alone."""

    def flush(self, reader):
        # The reader's cursor sees this test's rows.
        self.env["base"].flush()
        self.registry.enter_test_mode(self.cr)
        try:
            reader.flush()
        finally:
            self.registry.leave_test_mode()

    def test_a_bad_poll_among_good_ones(self):
        start = self.last_bus_id()
        (self.pos_a | self.pos_b)._send_to_channel("x", "news")
        reader = BatchReader(self.dbname)
        good = [
            reader.submit([config._get_full_channel_name("x")], start)
            for config in (self.pos_a, self.pos_b)
        ]
        # What the route refuses, had it reached the reader.
        bad = reader.submit([self.pos_a._get_full_channel_name("x")], "1 OR 1=1")
        with mute_logger("odoo.sql_db"):
            self.flush(reader)
        for read in good:
            self.assertTrue(read.done.is_set())
            self.assertIsNone(read.error)
            self.assertEqual([n["message"]["payload"] for n in read.result], ["news"])
        self.assertTrue(bad.done.is_set())
        self.assertIsNotNone(bad.error)

    def test_a_database_that_fails_fails_its_own_polls(self):
        reader = BatchReader("pos_longpolling_no_such_database")
        reads = [reader.submit(["c"], 1) for _i in range(2)]
        reader.flush()
        for read in reads:
            self.assertTrue(read.done.is_set())
            self.assertIsNotNone(read.error)

    def test_a_wake_is_read_with_the_batch(self):
        """What a NOTIFY sets: the poll's read, queued once, done with the
        others of the batch; its own event tells the poll."""
        start = self.last_bus_id()
        self.pos_a._send_to_channel("x", "news")
        reader = BatchReader(self.dbname, spawn=lambda *args: None)
        other = reader.submit(["c"], start)
        wake = Wake(
            reader, threading.Event(), [self.pos_a._get_full_channel_name("x")], start
        )
        wake.set()
        wake.set()
        self.assertEqual(len(reader._pending), 2, "queued once")
        self.assertFalse(wake.done.is_set())
        self.flush(reader)
        self.assertTrue(wake.done.is_set())
        self.assertTrue(other.done.is_set())
        self.assertIsNone(wake.error)
        self.assertEqual([n["message"]["payload"] for n in wake.result], ["news"])

    def test_a_wake_of_a_database_that_fails(self):
        reader = BatchReader("pos_longpolling_no_such_database", spawn=lambda *a: None)
        wake = Wake(reader, threading.Event(), ["c"], 1)
        wake.set()
        reader.flush()
        self.assertTrue(wake.done.is_set())
        self.assertIsNotNone(wake.error)

    def test_fetch_waits_a_bounded_time(self):
        reader = BatchReader(self.dbname, spawn=lambda *args: None)  # never reads
        with self.assertRaisesRegex(TimeoutError, "not done in"):
            reader.fetch(["c"], 1, timeout=0.01)


class FakeReader:
    """Answers reads in turn; ``fetched[k]`` is set once read k was answered."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.fetched = [threading.Event() for _answer in answers]
        self.calls = 0

    def fetch(self, channels, last):
        answer = self.answers[self.calls] if self.calls < len(self.answers) else []
        self.fetched[min(self.calls, len(self.fetched) - 1)].set()
        self.calls += 1
        return answer

    def queue(self, job):
        """A wake's read, at once."""
        job.result = self.fetch(*job.args)
        job.done.set()


class FakeDispatch(PosDispatch):
    def __init__(self):
        super().__init__()
        self.started = True
        self.Event = threading.Event

    def waiting(self):
        return [e for events in list(self.channels.values()) for e in list(events)]


@tagged("post_install", "-at_install")
class TestDispatchStart(BaseCase):
    """The gevent process listens from the start, not from the first poll."""

    @staticmethod
    def dispatcher():
        """Odoo's dispatcher, counting its starts instead of listening."""
        dispatcher = bus.ImDispatch()
        dispatcher.starts = 0

        def start():
            dispatcher.starts += 1
            dispatcher.started = True
            return dispatcher

        dispatcher.start = start
        return dispatcher

    def test_gevent_process_starts_the_listener_at_install(self):
        dispatcher = self.dispatcher()
        bus_dispatch.install(dispatcher, evented=True)
        self.assertIsInstance(dispatcher, PosDispatch)
        self.assertEqual(dispatcher.starts, 1)
        bus_dispatch.install(dispatcher, evented=True)
        self.assertEqual(dispatcher.starts, 1, "once")

    def test_threaded_server_starts_it_lazily_as_odoo(self):
        dispatcher = self.dispatcher()
        bus_dispatch.install(dispatcher, evented=False)
        self.assertIsInstance(dispatcher, PosDispatch)
        self.assertEqual(dispatcher.starts, 0)


@tagged("post_install", "-at_install")
class TestPosDispatch(BaseCase):
    """A POS poll returns what it read, waits while there is nothing."""

    def poll(self, reader, timeout=30):
        self.dispatcher = FakeDispatch()
        return self.dispatcher.poll_in_batch("db", ["c"], 5, timeout, reader=reader)

    def test_news_at_once(self):
        reader = FakeReader([{"id": 6}])
        self.assertEqual(self.poll(reader), [{"id": 6}])
        self.assertEqual(reader.calls, 1)
        self.assertEqual(self.dispatcher.waiting(), [])

    def test_nothing_until_the_timeout(self):
        reader = FakeReader([], [])
        self.assertEqual(self.poll(reader, timeout=0.05), [])
        self.assertEqual(reader.calls, 2, "read again at the timeout")

    def test_a_wake_up_reads_once_for_the_poll(self):
        reader = FakeReader([], [{"id": 7}])

        def wake():
            reader.fetched[0].wait(10)
            for event in self.dispatcher.waiting():
                event.set()
                event.set()  # a second NOTIFY before the read: still one

        waker = threading.Thread(target=wake)
        waker.start()
        self.assertEqual(self.poll(reader), [{"id": 7}])
        waker.join()
        self.assertEqual(reader.calls, 2, "the first read, then the wake's")
        self.assertEqual(self.dispatcher.waiting(), [])

    def test_a_wake_whose_read_failed_raises_its_error(self):
        reader = FakeReader([])
        error = TimeoutError("the bus of db was not done in 20 s")

        def fail(job):
            job.error = error
            job.done.set()

        reader.queue = fail

        def wake():
            reader.fetched[0].wait(10)
            for event in self.dispatcher.waiting():
                event.set()

        waker = threading.Thread(target=wake)
        waker.start()
        with self.assertRaises(TimeoutError):
            self.poll(reader)
        waker.join()
        self.assertEqual(self.dispatcher.waiting(), [])

    def test_a_wake_up_without_news_waits_again(self):
        # The first read; the wake's; the one after listening again (a
        # NOTIFY meanwhile had nobody to wake); the second wake's.
        reader = FakeReader([], [], [], [{"id": 7}])

        def wake_twice():
            for fetched in (reader.fetched[0], reader.fetched[2]):
                fetched.wait(10)
                for event in self.dispatcher.waiting():
                    event.set()

        waker = threading.Thread(target=wake_twice)
        waker.start()
        self.assertEqual(self.poll(reader), [{"id": 7}])
        waker.join()
        self.assertEqual(reader.calls, 4)
        self.assertEqual(self.dispatcher.waiting(), [])

    def test_each_database_has_its_own_reader(self):
        """A database whose reads hang delays no poll of another."""
        stuck = BatchReader("pos_longpolling_stuck", spawn=lambda *args: None)
        errors = []

        def wait_on_stuck():
            try:
                stuck.fetch(["c"], 5, timeout=1)
            except TimeoutError as error:
                errors.append(error)

        waiting = threading.Thread(target=wait_on_stuck)
        waiting.start()
        reader = FakeReader([{"id": 1}])
        with patch.object(bus_dispatch, "BatchReader", lambda dbname: reader):
            answer = FakeDispatch().poll_in_batch("pos_longpolling_other", ["c"], 5, 30)
        self.addCleanup(bus_dispatch.readers.pop, "pos_longpolling_other")
        self.assertEqual(answer, [{"id": 1}])
        self.assertTrue(waiting.is_alive(), "the other database still waits")
        waiting.join(10)
        self.assertEqual(len(errors), 1, "and its wait is bounded")

    def test_installed_on_odoo_dispatcher(self):
        self.assertIsInstance(bus.dispatch, PosDispatch)
        self.assertEqual(bus.dispatch.channels.__class__, dict)


class FakeRegistry:
    _init_modules = {"base", "bus", "point_of_sale"}


@tagged("post_install", "-at_install")
class TestWhichPollsAreBatched(BaseCase):
    """Only POS polls of databases with this addon, in the gevent process,
    are read in batches (a peek too) and listen to their wake channels; all
    others take Odoo's ``ImDispatch.poll``."""

    def setUp(self):
        super().setUp()
        self.dispatcher = FakeDispatch()
        self.routes = []

        def record(route):
            return lambda _self, _db, channels, *args, **kw: self.routes.append(
                (route, list(channels), args)
            )

        class PeekReader:
            fetch = staticmethod(lambda channels, last: self.routes.append(("peek",)))

        for target, name, value in (
            (bus.ImDispatch, "poll", record("odoo")),
            (PosDispatch, "poll_in_batch", record("batch")),
            (PosDispatch, "reader", staticmethod(lambda dbname: PeekReader)),
        ):
            patcher = patch.object(target, name, value)
            patcher.start()
            self.addCleanup(patcher.stop)
        Registry.registries["pos_longpolling_without_addon"] = FakeRegistry()
        self.addCleanup(
            Registry.registries.__delitem__, "pos_longpolling_without_addon"
        )

    def route(self, dbname, channels, options=None, evented=True):
        with patch.object(bus_dispatch.odoo, "evented", evented):
            self.dispatcher.poll(dbname, channels, 0, options)
        return self.routes.pop()

    def test_routes(self):
        dbname = get_db_name()
        self.assertTrue(installed_in(dbname))
        pos_channel = '["%s","x","1"]' % dbname
        wake = wake_channel("x")
        self.assertEqual(
            self.route(dbname, [pos_channel, "broadcast"]),
            ("batch", [pos_channel, "broadcast", wake], (0, 55)),
        )
        self.assertEqual(
            self.route(dbname, ["broadcast"]), ("odoo", ["broadcast"], (0, {}, None))
        )
        self.assertEqual(self.route(dbname, [pos_channel], {"peek": True}), ("peek",))
        self.assertEqual(
            self.route(dbname, [pos_channel], evented=False),
            ("odoo", [pos_channel, wake], (0, {}, 55)),
        )
        self.assertFalse(installed_in("pos_longpolling_without_addon"))
        other = '["pos_longpolling_without_addon","x","1"]'
        self.assertEqual(
            self.route("pos_longpolling_without_addon", [other]),
            ("odoo", [other], (0, {}, None)),
        )
