import json

from odoo import http
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.bus.models import bus

from ..models.pos_config import MAX_POS_ID, parse_pos_channel
from ..patches.bus_dispatch import PosDispatch
from ..patches.pos_poll import read_poll
from .common import json_rpc, poll_environ


def odd_channels(dbname):
    """Channel strings a POS channel parser must not choke on."""
    return [
        json.dumps([dbname, "x", "²"]),
        json.dumps([dbname, "x", "٣"]),
        json.dumps([dbname, "x", "٣"], ensure_ascii=False),
        json.dumps([dbname, "x", "1" * 5000]),
        json.dumps([dbname, "x", "2147483648"]),
        json.dumps([dbname, "x", "0"]),
        json.dumps([dbname, "x", "007"]),
        json.dumps([dbname, "x", "-1"]),
        json.dumps([dbname, "x", " 1"]),
        json.dumps([dbname, "x", "1\n"]),
        json.dumps([dbname, ["x"], "1"]),
        json.dumps([dbname, "x", ["1"]]),
        json.dumps([dbname, "x", 1]),
        json.dumps([[dbname, "x", "1"]]),
        "[" * 5000 + "]" * 5000,
        "[" * 100,
        '["%s","x","1"' % dbname,
        json.dumps({"0": dbname}),
        "[" + "x" * 20000 + "]",
    ]


@tagged("post_install", "-at_install")
class TestOddChannels(HttpCase):
    """A POS id is ASCII digits, of a POS id's bounds: any other channel
    string is answered (a JSON-RPC error or Odoo's own answer), never a 500."""

    def setUp(self):
        super().setUp()
        self.dbname = self.env.cr.dbname
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.odd = odd_channels(self.dbname)

    def test_parsed_as_no_pos_channel(self):
        for channel in self.odd:
            with self.subTest(channel[:40]):
                self.assertIsNone(parse_pos_channel(channel))
        for text, pos_id in (("1", 1), ("2147483647", MAX_POS_ID)):
            self.assertEqual(
                parse_pos_channel(json.dumps([self.dbname, "x", text])),
                (self.dbname, "x", pos_id),
            )

    def test_the_checks_and_the_dispatcher_take_them(self):
        configs = self.env["pos.config"].with_user(self.env.ref("base.user_admin"))
        self.assertEqual(configs._check_longpolling_channels(self.odd, 1), 0)
        self.assertEqual(configs._check_longpolling_polls([(self.odd, 1)]), [0])
        self.assertIsNone(PosDispatch.pos_channels(self.dbname, self.odd))
        # The bus's clean-up reads channels of rows anyone could have sent.
        rows = self.env["bus.bus"].sudo()
        for channel in self.odd[:4]:
            rows |= rows.create(
                {
                    "channel": bus.json_dump(bus.channel_with_db(self.dbname, channel)),
                    "message": "{}",
                }
            )
        rows.unlink()
        self.assertEqual(
            configs._longpolling_deleted_ids([self.pos.id]), {self.pos.id: 0}
        )

    def test_a_poll_beside_odoos_stack_leaves_them_to_odoo(self):
        sid = self.authenticate("admin", "admin").sid
        for channel in self.odd:
            environ = poll_environ(sid, {"channels": [channel], "last": 0})
            with self.subTest(channel[:40]):
                self.assertIsNone(read_poll(environ, http.root.session_store))

    def poll_route(self):
        """Each odd channel's answer from the poll route: never a 500."""
        names = set()
        for channel in self.odd:
            params = {"channels": [channel], "last": 0, "options": {"peek": True}}
            answer = json_rpc(self, "/longpolling/poll", params)
            names.add(answer["error"]["data"]["name"] if "error" in answer else "ok")
        return names

    def test_the_poll_route_answers_them_logged_in_or_not(self):
        # In test mode Odoo answers every poll that passed the checks with
        # its UserError; the longer ones fail the poll's check.
        expected = {"odoo.exceptions.UserError", "odoo.exceptions.ValidationError"}
        self.assertEqual(self.poll_route(), expected)
        self.authenticate("admin", "admin")
        self.assertEqual(self.poll_route(), expected)

    def test_the_ping_route_refuses_digit_like_ids(self):
        self.authenticate("admin", "admin")
        for pos_id in ("²", "٣", "1" * 5000, "007", "0", " 1", "2147483648"):
            with self.subTest(pos_id[:20]), self.assertLogs("odoo.http", "WARNING"):
                answer = json_rpc(
                    self,
                    "/pos_longpolling/update",
                    {"pos_id": pos_id, "message": "PING"},
                )
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions.ValidationError"
            )
            self.assertIn("pos_id must be a POS id", answer["error"]["data"]["message"])
        with self.assertRaisesRegex(ValidationError, "pos_id must be"):
            self.env["pos.config"]._longpolling_answer_ping("²", "PING")
        self.assertEqual(
            self.env["pos.config"]._longpolling_answer_ping(str(self.pos.id), "PING"), 1
        )
