import json
import re
from urllib.parse import quote, urlencode

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from ..wizard.pos_announcement_wizard import ANNOUNCEMENT_CHANNEL
from .common import PosLongpollingCase


def bus_rows_since(env, last_id):
    """``(channel, type, payload)`` of the bus rows written after ``last_id``."""
    rows = env["bus.bus"].sudo().search([("id", ">", last_id)], order="id")
    result = []
    for row in rows:
        message = json.loads(row.message)
        result.append((json.loads(row.channel), message["type"], message["payload"]))
    return result


def last_bus_id(env):
    return env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0


class AnnouncementCase(PosLongpollingCase):
    """A POS manager, a cashier, and the wizard as the manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="lp_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
        )
        cls.cashier = new_test_user(
            cls.env,
            login="lp_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
        )
        cls.Wizard = cls.env["pos.announcement.wizard"].with_user(cls.manager)


@tagged("post_install", "-at_install")
class TestAnnouncement(AnnouncementCase):
    def test_sends_to_the_chosen_open_poses_only(self):
        last = self.last_bus_id()
        wizard = self.Wizard.create(
            {
                "config_ids": [(6, 0, (self.pos_a | self.pos_closed).ids)],
                "title": "Closing",
                "body": "Close the till at 18:00",
                "needs_ack": True,
            }
        )
        action = wizard.action_send()
        rows = self.bus_rows_since(last)
        self.assertEqual(len(rows), 1)
        channel, notification_type, payload = rows[0]
        self.assertEqual(channel, self.bus_channel(self.pos_a, ANNOUNCEMENT_CHANNEL))
        self.assertEqual(notification_type, ANNOUNCEMENT_CHANNEL)
        self.assertRegex(payload.pop("id"), r"^[0-9a-f]{32}$")
        self.assertEqual(payload.pop("announcement_id"), action["res_id"])
        self.assertEqual(
            payload,
            {"title": "Closing", "body": "Close the till at 18:00", "needs_ack": True},
        )
        self.assertEqual(action["res_model"], "pos.announcement")

    def test_each_send_has_its_own_id(self):
        last = self.last_bus_id()
        wizard = self.Wizard.create(
            {"config_ids": [(6, 0, self.pos_a.ids)], "body": "x"}
        )
        wizard.action_send()
        wizard.action_send()
        ids = [row[2]["id"] for row in self.bus_rows_since(last)]
        self.assertEqual(len(set(ids)), 2)

    def test_defaults_to_all_open_poses(self):
        open_configs = (
            self.env["pos.session"].search([("state", "!=", "closed")]).config_id
        )
        self.assertIn(self.pos_a, open_configs)
        self.assertNotIn(self.pos_closed, open_configs)
        wizard = self.Wizard.create({"body": "To everyone"})
        self.assertEqual(wizard.config_ids, open_configs)
        last = self.last_bus_id()
        wizard.action_send()
        rows = self.bus_rows_since(last)
        self.assertEqual(
            sorted(map(json.dumps, (row[0] for row in rows))),
            sorted(
                json.dumps(self.bus_channel(config, ANNOUNCEMENT_CHANNEL))
                for config in open_configs
            ),
        )
        self.assertEqual({row[2]["body"] for row in rows}, {"To everyone"})

    def test_defaults_to_the_poses_selected_in_the_list(self):
        selected = self.pos_b | self.pos_closed
        wizard = self.Wizard.with_context(
            active_model="pos.config", active_ids=selected.ids
        ).create({"body": "x"})
        self.assertEqual(wizard.config_ids, selected)

    def test_text_is_sent_unchanged(self):
        body = "<b>x</b> & <script>alert(1)</script>\n'quotes' \"ünïcödé\" 🧾"
        title = "<i>T</i>"
        last = self.last_bus_id()
        self.Wizard.create(
            {"config_ids": [(6, 0, self.pos_a.ids)], "title": title, "body": body}
        ).action_send()
        payload = self.bus_rows_since(last)[0][2]
        self.assertEqual((payload["title"], payload["body"]), (title, body))
        self.assertIs(payload["needs_ack"], False)

    def test_bounds(self):
        config_ids = [(6, 0, self.pos_a.ids)]
        self.Wizard.create(
            {"config_ids": config_ids, "title": "t" * 80, "body": "b" * 1000}
        ).action_send()
        cases = [
            ({"title": "t" * 81, "body": "b"}, "title .* at most 80"),
            ({"body": "b" * 1001}, "text .* at most 1000"),
            ({"body": "  \n "}, "needs a text"),
        ]
        for vals, message in cases:
            last = self.last_bus_id()
            with self.assertRaisesRegex(ValidationError, message):
                self.Wizard.create(dict(vals, config_ids=config_ids))
            self.assertEqual(self.bus_rows_since(last), [])

    def test_no_open_session_among_the_chosen(self):
        wizard = self.Wizard.create(
            {"config_ids": [(6, 0, self.pos_closed.ids)], "body": "x"}
        )
        last = self.last_bus_id()
        with self.assertRaises(UserError):
            wizard.action_send()
        self.assertEqual(self.bus_rows_since(last), [])

    def test_cashier_cannot_send(self):
        Wizard = self.env["pos.announcement.wizard"].with_user(self.cashier)
        with self.assertRaises(AccessError):
            Wizard.create({"config_ids": [(6, 0, self.pos_a.ids)], "body": "x"})
        # Nor through a manager's wizard: the send method checks the group.
        wizard = self.Wizard.create(
            {"config_ids": [(6, 0, self.pos_a.ids)], "body": "x"}
        )
        last = self.last_bus_id()
        with self.assertRaises(AccessError):
            wizard.with_user(self.cashier).action_send()
        self.assertEqual(self.bus_rows_since(last), [])

    def test_action_is_offered_to_managers_on_pos_configs(self):
        action = self.env.ref("pos_longpolling.action_pos_announcement_wizard")
        self.assertEqual(action.binding_model_id.model, "pos.config")
        self.assertEqual(set(action.binding_view_types.split(",")), {"list", "form"})
        self.assertEqual(
            action.groups_id, self.env.ref("point_of_sale.group_pos_manager")
        )


@tagged("post_install", "-at_install")
class TestAnnouncementHttp(HttpCase):
    def setUp(self):
        super().setUp()
        self.config = self.env.ref("point_of_sale.pos_config_main")
        if not self.config.current_session_id:
            self.config.with_user(self.env.ref("base.user_admin")).open_session_cb(
                check_coa=False
            )
        self.channel = [
            self.env.cr.dbname,
            self.config._get_full_channel_name(ANNOUNCEMENT_CHANNEL),
        ]
        new_test_user(
            self.env,
            login="lp_rpc_cashier",
            password="lp_rpc_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
        )

    def call_kw(self, model, method, args, kwargs=None):
        response = self.url_open(
            "/web/dataset/call_kw/%s/%s" % (model, method),
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": model,
                        "method": method,
                        "args": args,
                        "kwargs": kwargs or {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def assert_refused(self, answer, exception):
        self.assertNotIn("result", answer)
        self.assertEqual(answer["error"]["data"]["name"], exception)

    def test_rpc_by_a_cashier_is_refused(self):
        """A cashier's JSON-RPC can neither create the wizard nor send one
        a manager made; a manager's goes through (the same calls)."""
        vals = {"config_ids": [(6, 0, self.config.ids)], "body": "x"}
        self.authenticate("lp_rpc_cashier", "lp_rpc_cashier")
        last = last_bus_id(self.env)
        with self.assertLogs("odoo.http", level="WARNING"):
            answer = self.call_kw("pos.announcement.wizard", "create", [vals])
        self.assert_refused(answer, "odoo.exceptions.AccessError")
        wizard = (
            self.env["pos.announcement.wizard"]
            .with_user(self.env.ref("base.user_admin"))
            .create(vals)
        )
        with self.assertLogs("odoo.http", level="WARNING"):
            answer = self.call_kw(
                "pos.announcement.wizard", "action_send", [wizard.ids]
            )
        self.assert_refused(answer, "odoo.exceptions.AccessError")
        self.assertEqual(bus_rows_since(self.env, last), [])

        self.authenticate("admin", "admin")
        answer = self.call_kw("pos.announcement.wizard", "create", [vals])
        answer = self.call_kw(
            "pos.announcement.wizard", "action_send", [[answer["result"]]]
        )
        self.assertEqual(answer["result"]["res_model"], "pos.announcement")
        self.assertEqual(
            [row[:2] for row in bus_rows_since(self.env, last)],
            [(self.channel, ANNOUNCEMENT_CHANNEL)],
        )

    def test_announcement_tour(self):
        """Announcements sent from the backend show on the POS: a
        notification at once, an acknowledged one in a popup that stays
        until closed and waits while another popup is open, text never
        HTML, each once, also after a reload.

        Test mode refuses ``/longpolling/poll`` ("bus.Bus not available in
        test mode"), so the POS cannot receive them over the bus here: the
        wizard writes the bus rows, their payloads go to the tour in the
        URL, and the tour hands them to the channel's callback as the bus
        would. The bus's own delivery is tested in static/tests/node.
        """
        Wizard = self.env["pos.announcement.wizard"].with_user(
            self.env.ref("base.user_admin")
        )
        last = last_bus_id(self.env)
        for vals in (
            {"title": "Notice", "body": "<b>x</b>"},
            {"title": "Closing", "body": "Close the till at 18:00", "needs_ack": True},
            {"body": "<b>x</b>", "needs_ack": True},
        ):
            Wizard.create(
                dict(vals, config_ids=[(6, 0, self.config.ids)])
            ).action_send()
        payloads = [
            payload
            for channel, _type, payload in bus_rows_since(self.env, last)
            if channel == self.channel
        ]
        self.assertEqual(len(payloads), 3)
        self.assertTrue(all(re.match(r"^[0-9a-f]{32}$", p["id"]) for p in payloads))
        url = "/pos/ui?" + urlencode(
            {
                "config_id": self.config.id,
                "pos_longpolling_announcements": json.dumps(
                    payloads, separators=(",", ":")
                ),
            },
            # %20, not "+": Odoo's router re-encodes the query as it reads it.
            quote_via=quote,
        )
        self.start_tour(url, "pos_longpolling_announcement", login="admin")
        # Each shown once on this POS; the two popups acknowledged.
        receipts = self.env["pos.announcement.receipt"].search(
            [("announcement_id", "in", [p["announcement_id"] for p in payloads])],
            order="id",
        )
        self.assertTrue(all(receipts.mapped("shown_at")))
        admin = self.env.ref("base.user_admin")
        self.assertEqual(receipts.mapped("acknowledged_by"), admin)
        self.assertEqual(
            [bool(r.acknowledged_at) for r in receipts], [False, True, True]
        )

    def test_announcement_receipt_tour(self):
        """An announcement that asks for acknowledgement shows on the POS;
        the cashier's *Got it* then shows on its record in the backend."""
        # Past the opening cash control.
        self.config.current_session_id.set_cashbox_pos(0, "")
        last = last_bus_id(self.env)
        action = (
            self.env["pos.announcement.wizard"]
            .with_user(self.env.ref("base.user_admin"))
            .create(
                {
                    "config_ids": [(6, 0, self.config.ids)],
                    "body": "The card terminal of till 3 is down",
                    "needs_ack": True,
                }
            )
            .action_send()
        )
        payloads = [p for _c, _t, p in bus_rows_since(self.env, last)]
        url = "/pos/ui?" + urlencode(
            {
                "config_id": self.config.id,
                "pos_longpolling_announcements": json.dumps(payloads),
            },
            quote_via=quote,
        )
        self.start_tour(url, "pos_longpolling_announcement_receipt", login="admin")
        receipt = self.env["pos.announcement"].browse(action["res_id"]).receipt_ids
        self.assertEqual(receipt.config_id, self.config)
        self.assertEqual(receipt.acknowledged_by, self.env.ref("base.user_admin"))


class AnnouncementFits:
    """A long announcement's notification fits the screen. Headless Chrome
    keeps windows at least 500 px wide: the page is given the screen's size
    through the DevTools protocol; the tour checks the width it got."""

    screen = (1280, 800)

    @classmethod
    def start_browser(cls):
        result = super().start_browser()
        width, height = cls.screen
        browser = cls.browser
        browser._websocket_wait_id(
            browser._websocket_send(
                "Emulation.setDeviceMetricsOverride",
                params={
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
            )
        )
        return result

    def test_long_announcement_fits(self):
        config = self.env.ref("point_of_sale.pos_config_main")
        config.with_user(self.env.ref("base.user_admin")).open_session_cb(
            check_coa=False
        )
        self.start_tour(
            "/pos/ui?config_id=%d&pos_longpolling_width=%d"
            % (config.id, self.screen[0]),
            "pos_longpolling_announcement_fits",
            login="admin",
        )


@tagged("post_install", "-at_install")
class TestAnnouncementFitsNarrow(AnnouncementFits, HttpCase):
    screen = (400, 800)


@tagged("post_install", "-at_install")
class TestAnnouncementFitsMedium(AnnouncementFits, HttpCase):
    screen = (1024, 768)


@tagged("post_install", "-at_install")
class TestAnnouncementFitsWide(AnnouncementFits, HttpCase):
    screen = (1280, 800)
