import threading

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..models.pos_dispatch import BatchReader, poll
from .common import PosLongpollingCase


@tagged("post_install", "-at_install")
class TestBatchReader(PosLongpollingCase):
    """The batch reader answers each poll exactly as bus.bus._poll would."""

    def queries(self, function):
        """Queries ``function`` makes; the reader's cursor sees this test's rows."""
        before = self.cr.sql_log_count
        self.registry.enter_test_mode(self.cr)
        try:
            function()
        finally:
            self.registry.leave_test_mode()
        return self.cr.sql_log_count - before

    def test_batch_answers_like_bus_poll(self):
        Bus = self.env["bus.bus"]
        start = self.last_bus_id()
        configs = self.pos_a | self.pos_b
        configs._send_to_channel("x", {"n": 1})
        self.pos_a._send_to_channel("y", "only a")
        middle = self.last_bus_id()
        configs._send_to_channel("x", {"n": 2})
        self.pos_b._send_to_channel("pos.longpolling")
        polls = [
            ([self.pos_a._get_full_channel_name("x")], start),
            ([self.pos_a._get_full_channel_name(c) for c in ("x", "y")], start),
            (
                [
                    self.pos_b._get_full_channel_name(c)
                    for c in ("x", "pos.longpolling")
                ],
                middle,
            ),
            ([self.pos_closed._get_full_channel_name("x")], start),
            ([self.pos_a._get_full_channel_name("x")], 0),
        ]
        reader = BatchReader()
        self.env["base"].flush()
        # What one poll costs in queries, then the whole batch.
        reader.submit(self.dbname, *polls[0])
        one = self.queries(reader.flush)
        requests = [
            reader.submit(self.dbname, channels, last) for channels, last in polls[:4]
        ]
        self.assertEqual(self.queries(reader.flush), one, "four polls, one query")
        # A first poll (last == 0) is Odoo's own query.
        requests.append(reader.submit(self.dbname, *polls[4]))
        self.queries(reader.flush)
        for request, (channels, last) in zip(requests, polls):
            self.assertIsNone(request.error)
            self.assertTrue(request.done.is_set())
            self.assertEqual(request.result, Bus._poll(channels, last))
        self.assertEqual(
            [n["message"]["payload"] for n in requests[0].result], [{"n": 1}, {"n": 2}]
        )
        self.assertEqual(requests[3].result, [])

    def test_a_failed_read_fails_every_poll_of_the_batch(self):
        reader = BatchReader()
        requests = [
            reader.submit("no_such_database_pos_longpolling", ["c"], 1)
            for _i in range(2)
        ]
        reader.flush()
        for request in requests:
            self.assertTrue(request.done.is_set())
            self.assertIsNotNone(request.error)


class FakeDispatcher:
    started = True
    Event = threading.Event

    def __init__(self):
        self.channels = {}

    def waiting(self):
        return [e for events in list(self.channels.values()) for e in list(events)]


class FakeReader:
    """Answers reads in turn; ``fetched[k]`` is set once read k was answered."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.fetched = [threading.Event() for _answer in answers]
        self.calls = 0

    def fetch(self, dbname, channels, last):
        answer = self.answers[self.calls] if self.calls < len(self.answers) else []
        self.fetched[min(self.calls, len(self.fetched) - 1)].set()
        self.calls += 1
        return answer


@tagged("post_install", "-at_install")
class TestPoll(BaseCase):
    """A POS poll returns what it read, waits while there is nothing."""

    def poll(self, reader, timeout=30):
        dispatcher = FakeDispatcher()
        self.dispatcher = dispatcher
        return poll("db", ["c"], 5, timeout, dispatcher=dispatcher, batch=reader)

    def test_news_at_once(self):
        reader = FakeReader([{"id": 6}])
        self.assertEqual(self.poll(reader), [{"id": 6}])
        self.assertEqual(reader.calls, 1)
        self.assertEqual(self.dispatcher.waiting(), [])

    def test_nothing_until_the_timeout(self):
        reader = FakeReader([], [])
        self.assertEqual(self.poll(reader, timeout=0.05), [])
        self.assertEqual(reader.calls, 2, "read again at the timeout")

    def test_a_wake_up_without_news_waits_again(self):
        reader = FakeReader([], [], [{"id": 7}])

        def wake_twice():
            for fetched in reader.fetched[:2]:
                fetched.wait(10)
                for event in self.dispatcher.waiting():
                    event.set()

        waker = threading.Thread(target=wake_twice)
        waker.start()
        self.assertEqual(self.poll(reader), [{"id": 7}])
        waker.join()
        self.assertEqual(reader.calls, 3)
        self.assertEqual(self.dispatcher.waiting(), [])
