from odoo.tests import tagged

from ..models.pos_dispatch import BatchReader
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
