from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import BaseCase

from ..controllers.main import check_poll
from ..models.pos_config import (
    MAX_NOTIFICATION_ID,
    MAX_POLL_CHANNEL_LENGTH,
    MAX_POLL_CHANNELS,
)
from .common import json_rpc

# (what a client sends, part of the error it gets)
MALFORMED = [
    ({"channels": "x", "last": 0}, "channels must be a list"),
    ({"channels": {"a": 1}, "last": 0}, "channels must be a list"),
    ({"channels": ["c"] * (MAX_POLL_CHANNELS + 1), "last": 0}, "at most"),
    ({"channels": [5], "last": 0}, "a channel must be a string"),
    ({"channels": [None], "last": 0}, "a channel must be a string"),
    ({"channels": [""], "last": 0}, "a channel must be a string"),
    ({"channels": ["c" * (MAX_POLL_CHANNEL_LENGTH + 1)], "last": 0}, "1 to 512"),
    ({"channels": ["c"], "last": "5"}, "last must be"),
    ({"channels": ["c"], "last": [1]}, "last must be"),
    ({"channels": ["c"], "last": 10**30}, "last must be"),
    ({"channels": ["c"], "last": -1}, "last must be"),
    ({"channels": ["c"], "last": 1.5}, "last must be"),
    ({"channels": ["c"], "last": True}, "last must be"),
    ({"channels": ["c"]}, "last must be"),
    ({"last": 0}, "channels must be a list"),
    ({"channels": ["c"], "last": 0, "options": "x"}, "options must be"),
    ({"channels": ["c"], "last": 0, "options": [1]}, "options must be"),
    ({"channels": ["c"], "last": 0, "options": {"peek": "yes"}}, "options must be"),
    (
        {"channels": ["c"], "last": 0, "options": {"bus_inactivity": "1"}},
        "options must",
    ),
    (
        {"channels": ["c"], "last": 0, "options": dict.fromkeys("abcdefghijk", 1)},
        "options",
    ),
    (
        {"channels": ["c"], "last": 0, "extra": 1},
        "unexpected poll argument(s) ['extra']",
    ),
]


@tagged("post_install", "-at_install")
class TestCheckPoll(BaseCase):
    def test_well_formed(self):
        self.assertEqual(check_poll(["a", "b", "a"], 0, None, {}), (["a", "b"], 0, {}))
        options = {"peek": True, "bus_inactivity": 12.5, "other_module": [1]}
        self.assertEqual(
            check_poll(["c"] * 2, MAX_NOTIFICATION_ID, options, {}),
            (["c"], MAX_NOTIFICATION_ID, options),
        )
        self.assertEqual(check_poll([], 7, {}, {}), ([], 7, {}))
        # Odoo's web client: its presence, negative when another tab's clock
        # is ahead.
        odoo_client = {"bus_inactivity": -3}
        self.assertEqual(check_poll(["c"], 0, odoo_client, {}), (["c"], 0, odoo_client))

    def test_malformed(self):
        for params, message in MALFORMED:
            params = dict(params)
            arguments = [
                params.pop(name, None) for name in ("channels", "last", "options")
            ]
            with self.assertRaises(ValidationError) as caught:
                check_poll(*arguments, params)
            self.assertIn(message, str(caught.exception))

    def test_the_error_line_stays_short(self):
        with self.assertRaises(ValidationError) as caught:
            check_poll(["x" * 100000], 0, None, {})
        self.assertLess(len(str(caught.exception)), 200)


@tagged("post_install", "-at_install")
class TestPollRoute(HttpCase):
    """``/longpolling/poll``: a malformed poll gets a JSON-RPC error of its
    own and one warning line, before anything else reads it."""

    def poll(self, params):
        return json_rpc(self, "/longpolling/poll", params)

    def test_malformed_polls(self):
        self.authenticate("admin", "admin")
        for params, message in MALFORMED:
            with self.assertLogs("odoo.http", "WARNING") as logs:
                answer = self.poll(params)
            self.assertIn(message, answer["error"]["data"]["message"], params)
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions.ValidationError"
            )
            self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
            self.assertIsNone(logs.records[0].exc_info)

    def test_a_well_formed_poll_goes_on_to_odoo(self):
        # Odoo's own answer in test mode: the arguments passed the check.
        answer = self.poll({"channels": ["c", "c"], "last": 0, "options": {}})
        self.assertIn(
            "not available in test mode", answer["error"]["data"]["message"], answer
        )

    def assert_bad_request(self, bodies, message):
        """Each of ``bodies`` gets 400 saying ``message``, one warning line."""
        self.authenticate("admin", "admin")
        for body in bodies:
            with self.assertLogs(
                "odoo.addons.pos_longpolling.patches.json_request"
            ) as logs:
                response = self.url_open(
                    "/longpolling/poll",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
            self.assertEqual(response.status_code, 400, body[:40])
            self.assertIn(message, response.text)
            self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
            self.assertIsNone(logs.records[0].exc_info)

    def test_a_body_or_params_that_is_not_an_object(self):
        self.assert_bad_request(
            ("[1, 2]", '"x"', "null", '{"params": [1]}', '{"params": "xy"}'),
            "must be objects",
        )

    def test_a_body_nested_too_deeply(self):
        self.assert_bad_request(
            ("[" * 100000, '{"params": {"channels": %s}}' % ("[" * 100000)),
            "nested too deeply",
        )
