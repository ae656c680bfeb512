import json

from odoo.tests import HttpCase, tagged

from ..models.pos_config import ALLOW_PUBLIC_PARAM
from .common import json_rpc


@tagged("post_install", "-at_install")
class TestUpdateRoute(HttpCase):
    """``/pos_longpolling/update``: a PING answered by a PONG on the bus."""

    def setUp(self):
        super().setUp()
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.dbname = self.env.cr.dbname
        self.pong_channel = [
            self.dbname,
            self.pos._get_full_channel_name("pos.longpolling"),
        ]

    def last_bus_id(self):
        return self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def rows_since(self, last):
        rows = self.env["bus.bus"].sudo().search([("id", ">", last)])
        return [(json.loads(r.channel), json.loads(r.message)) for r in rows]

    def call(self, params):
        return json_rpc(self, "/pos_longpolling/update", params)

    def assert_refused(self, params, message_part):
        last = self.last_bus_id()
        with self.assertLogs("odoo.http", level="WARNING") as logs:
            answer = self.call(params)
        self.assertNotIn("result", answer)
        self.assertIn(message_part, answer["error"]["data"]["message"])
        # One warning line, no traceback, nothing written.
        self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
        self.assertIsNone(logs.records[0].exc_info)
        self.assertEqual(self.rows_since(last), [])

    def test_ping_gets_pong(self):
        self.authenticate("admin", "admin")
        last = self.last_bus_id()
        answer = self.call(
            {"pos_id": self.pos.id, "message": "PING", "db_name": self.dbname}
        )
        self.assertEqual(answer["result"], 1)
        self.assertEqual(
            self.rows_since(last),
            [(self.pong_channel, {"type": "pos.longpolling", "payload": "PONG"})],
        )

    def test_db_name_is_optional_and_pos_id_may_be_a_string(self):
        self.authenticate("admin", "admin")
        last = self.last_bus_id()
        self.assertEqual(
            self.call({"pos_id": str(self.pos.id), "message": "PING"})["result"], 1
        )
        self.assertEqual(len(self.rows_since(last)), 1)

    def test_malformed_requests(self):
        self.authenticate("admin", "admin")
        ok = {"pos_id": self.pos.id, "message": "PING", "db_name": self.dbname}
        self.assert_refused(dict(ok, message="HELLO"), 'must be "PING"')
        self.assert_refused({"pos_id": self.pos.id}, 'must be "PING"')
        self.assert_refused({"message": "PING"}, "pos_id must be a POS id")
        for bad in ("x", 1.5, [1], True, -3, None):
            self.assert_refused(dict(ok, pos_id=bad), "pos_id must be a POS id")
        self.assert_refused(dict(ok, db_name=5), "db_name must be a database name")
        self.assert_refused(
            dict(ok, db_name="another_db"), "is not this server's database"
        )
        self.assert_refused(dict(ok, channel="x"), "unexpected argument(s) ['channel']")
        self.assert_refused(dict(ok, pos_id=999999), "no POS with id 999999")

    def test_logged_out_visitor_is_refused(self):
        self.assert_refused({"pos_id": self.pos.id, "message": "PING"}, "log in")

    def test_user_of_another_company_is_refused(self):
        company = self.env["res.company"].create({"name": "LP route company"})
        self.env["res.users"].create(
            {
                "name": "LP route user",
                "login": "lp_route_user",
                "password": "lp_route_user",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [
                    (6, 0, [self.env.ref("point_of_sale.group_pos_user").id])
                ],
            }
        )
        self.authenticate("lp_route_user", "lp_route_user")
        self.assert_refused(
            {"pos_id": self.pos.id, "message": "PING"}, "may not use POS"
        )

    def test_allow_public(self):
        self.env["ir.config_parameter"].sudo().set_param(ALLOW_PUBLIC_PARAM, "1")
        last = self.last_bus_id()
        self.assertEqual(
            self.call({"pos_id": self.pos.id, "message": "PING"})["result"], 1
        )
        # A public sync server relays POSes of other databases too.
        self.assertEqual(
            self.call({"pos_id": 4, "message": "PING", "db_name": "pos_db"})["result"],
            1,
        )
        self.assertEqual(
            [row[0] for row in self.rows_since(last)],
            [self.pong_channel, [self.dbname, '["pos_db","pos.longpolling","4"]']],
        )
        self.assert_refused(
            {"pos_id": 999999, "message": "PING"}, "no POS with id 999999"
        )
