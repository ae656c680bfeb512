import xmlrpc.client
from unittest.mock import patch

from odoo import api
from odoo.tests import HttpCase, tagged

from .common import PosLongpollingCase, json_rpc


@api.model
def lp_chat_send(self, text):
    """A module's own public method that ends in send_to_all_poses, as
    pos_chat's: reached through RPC, it sends as server code."""
    return self.env["pos.config"].send_to_all_poses("pos_chat", {"text": text})


@tagged("post_install", "-at_install")
class TestSendThroughRpc(HttpCase, PosLongpollingCase):
    """``send_to_all_poses`` called directly through RPC: Point of Sale
    managers only; as server code behind another RPC: anyone."""

    def setUp(self):
        super().setUp()
        for login, group in (
            ("lp_rpc_cashier", "point_of_sale.group_pos_user"),
            ("lp_rpc_manager", "point_of_sale.group_pos_manager"),
        ):
            self.env["res.users"].create(
                {
                    "name": login,
                    "login": login,
                    "password": login,
                    "groups_id": [(6, 0, self.env.ref(group).ids)],
                }
            )
        patcher = patch.object(
            type(self.env["res.partner"]), "lp_chat_send", lp_chat_send, create=True
        )
        patcher.start()
        self.addCleanup(patcher.stop)

    def call_kw(self, login, model, method, args):
        self.authenticate(login, login)
        return json_rpc(
            self,
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": args, "kwargs": {}},
        )

    def execute_kw(self, login, model, method, args):
        uid = self.xmlrpc_common.authenticate(self.dbname, login, login, {})
        return self.xmlrpc_object.execute_kw(
            self.dbname, uid, login, model, method, args
        )

    def open_poses(self):
        sessions = self.env["pos.session"].search(
            [
                ("state", "!=", "closed"),
                ("config_id.company_id", "=", self.env.company.id),
            ]
        )
        return len(sessions.config_id)

    def sent(self, last, channel_name):
        return [row for row in self.bus_rows_since(last) if row[1] == channel_name]

    def test_json_rpc(self):
        last = self.last_bus_id()
        with self.assertLogs("odoo.http", "WARNING") as logs:
            answer = self.call_kw(
                "lp_rpc_cashier", "pos.config", "send_to_all_poses", ["x", {"fake": 1}]
            )
        self.assertIn(
            "only a Point of Sale manager", answer["error"]["data"]["message"]
        )
        self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
        self.assertEqual(self.sent(last, "x"), [])
        answer = self.call_kw(
            "lp_rpc_manager", "pos.config", "send_to_all_poses", ["x", {"real": 1}]
        )
        self.assertEqual(answer["result"], 1)
        self.assertEqual(len(self.sent(last, "x")), self.open_poses())

    def test_xml_rpc(self):
        last = self.last_bus_id()
        with self.assertRaisesRegex(
            xmlrpc.client.Fault, "only a Point of Sale manager"
        ):
            self.execute_kw(
                "lp_rpc_cashier", "pos.config", "send_to_all_poses", ["x", 1]
            )
        self.assertEqual(self.sent(last, "x"), [])
        self.assertEqual(
            self.execute_kw(
                "lp_rpc_manager", "pos.config", "send_to_all_poses", ["x", 1]
            ),
            1,
        )
        self.assertEqual(len(self.sent(last, "x")), self.open_poses())

    def test_behind_a_module_s_own_rpc(self):
        last = self.last_bus_id()
        answer = self.call_kw("lp_rpc_cashier", "res.partner", "lp_chat_send", ["hi"])
        self.assertEqual(answer.get("result"), 1, answer)
        self.assertEqual(
            {row[2]["text"] for row in self.sent(last, "pos_chat")}, {"hi"}
        )
        self.assertEqual(len(self.sent(last, "pos_chat")), self.open_poses())
