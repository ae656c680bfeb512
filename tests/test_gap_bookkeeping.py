from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..controllers.main import with_gap
from ..models.pos_config import GAP_TYPE, MAX_POS_ID
from .common import json_rpc, set_deleted_id


@tagged("post_install", "-at_install")
class TestGapBookkeeping(HttpCase):
    """What a user can write cannot change what a POS receives: no user may
    touch the gap bookkeeping, and a gap's id never passes the bus's newest."""

    def setUp(self):
        super().setUp()
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.Gap = self.env["pos.longpolling.gap"].sudo()
        self.cashier = self.env["res.users"].create(
            {
                "name": "LP gap cashier",
                "login": "lp_gap_cashier",
                "password": "lp_gap_cashier-pw",
                "groups_id": [(6, 0, self.env.ref("point_of_sale.group_pos_user").ids)],
            }
        )
        self.channels = [self.pos._get_full_channel_name("x")]

    def call_kw(self, model, method, args, kwargs=None):
        return json_rpc(
            self,
            "/web/dataset/call_kw/%s/%s" % (model, method),
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def deleted_id(self):
        return self.env["pos.config"]._longpolling_deleted_ids([self.pos.id])[
            self.pos.id
        ]

    def test_a_pos_user_may_write_pos_config_but_not_the_bookkeeping(self):
        self.authenticate("lp_gap_cashier", "lp_gap_cashier-pw")
        # Allowed: what a POS user may write on pos.config (Odoo 15's rule).
        answer = self.call_kw("pos.config", "write", [[self.pos.id], {"name": "Mine"}])
        self.assertIs(answer.get("result"), True, answer)
        # Refused: the old field is gone (Odoo's error for an unknown field,
        # logged with its traceback), the new model is no one's.
        with mute_logger("odoo.http"):
            answer = self.call_kw(
                "pos.config",
                "write",
                [[self.pos.id], {"longpolling_deleted_id": MAX_POS_ID}],
            )
        self.assertIn("error", answer)
        self.assertIn("longpolling_deleted_id", answer["error"]["data"]["message"])
        set_deleted_id(self.env, self.pos, 5)
        (gap,) = self.Gap.search([("config_id", "=", self.pos.id)]).ids
        for method, args in (
            ("create", [{"config_id": self.pos.id, "deleted_id": MAX_POS_ID}]),
            ("write", [[gap], {"deleted_id": MAX_POS_ID}]),
            ("unlink", [[gap]]),
            ("search_read", [[]]),
        ):
            with self.subTest(method), self.assertLogs("odoo.http", "WARNING"):
                answer = self.call_kw("pos.longpolling.gap", method, args)
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions.AccessError"
            )
        self.assertEqual(self.deleted_id(), 5)
        # Even the administrator: only the server writes it, by SQL.
        self.authenticate("admin", "admin")
        answer = self.call_kw(
            "pos.longpolling.gap", "write", [[gap], {"deleted_id": 9}]
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")

    def test_a_gap_is_never_beyond_the_bus_newest_id(self):
        newest = self.Gap._newest_bus_id()
        self.assertGreaterEqual(
            newest, self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        )
        # A value beyond the bus, however it got there (an old version's
        # field a user wrote, kept by the migration).
        self.env.cr.execute(
            "INSERT INTO pos_longpolling_gap (config_id, deleted_id) VALUES (%s, %s)",
            (self.pos.id, MAX_POS_ID),
        )
        self.assertEqual(self.deleted_id(), newest)
        configs = self.env["pos.config"].with_user(self.cashier)
        self.assertEqual(configs._check_longpolling_channels(self.channels, 1), newest)
        self.assertEqual(
            configs._check_longpolling_polls([(self.channels, 1)]), [newest]
        )
        # The bus moves on: never beyond its newest still.
        self.env["pos.config"]._send_to_channel_by_id(
            self.env.cr.dbname, self.pos.id, "x", "after"
        )
        self.env["base"].flush()
        self.assertEqual(self.Gap._newest_bus_id(), newest + 1)
        self.assertEqual(self.deleted_id(), newest + 1)
        # A value the bus reached: as it is.
        set_deleted_id(self.env, self.pos, 7)
        self.env.cr.execute("UPDATE pos_longpolling_gap SET deleted_id = 7")
        self.assertEqual(configs._check_longpolling_channels(self.channels, 1), 7)

    def test_the_gap_tells_the_newest_id(self):
        answer = with_gap({"notifications": [], "channels": []}, 40, 3, 41)
        self.assertEqual(
            answer,
            [
                {
                    "id": 40,
                    "message": {"type": GAP_TYPE, "payload": {"last": 3, "newest": 41}},
                }
            ],
        )
