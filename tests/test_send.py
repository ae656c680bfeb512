import datetime

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.bus.models.bus import channel_with_db, get_notify_payloads

from ..models.pos_config import MAX_CHANNEL_NAME, MAX_DB_NAME, MAX_POS_ID
from .common import PosLongpollingCase


@tagged("post_install", "-at_install")
class TestSend(PosLongpollingCase):
    def test_fields_defaults(self):
        config = self.env.ref("point_of_sale.pos_config_main").copy()
        self.assertEqual(config.longpolling_max_silence_timeout, 60)
        self.assertEqual(config.longpolling_pong_timeout, 10)
        self.assertTrue(config.autostart_longpolling)

    def test_timeouts_have_sane_bounds(self):
        for field, refused, accepted in (
            ("longpolling_pong_timeout", (0, 0.001, 1.9, 121), (2, 10, 120)),
            ("longpolling_max_silence_timeout", (0, 9.9, 3601, -5), (10, 60, 3600)),
        ):
            for value in refused:
                with self.assertRaises(ValidationError), self.cr.savepoint():
                    self.pos_a.write({field: value})
                    self.pos_a.flush()
            for value in accepted:
                self.pos_a.write({field: value})
                self.pos_a.flush()

    def test_full_channel_name_is_upstreams(self):
        self.assertEqual(
            self.PosConfig._get_full_channel_name_by_id("db1", 7, "pos_partner_sync"),
            '["db1","pos_partner_sync","7"]',
        )
        self.assertEqual(
            self.pos_a._get_full_channel_name("x"),
            '["%s","x","%d"]' % (self.dbname, self.pos_a.id),
        )

    def test_send_to_all_poses_reaches_open_sessions_only(self):
        last = self.last_bus_id()
        data = {"message": "update_partner_fields", "partner_ids": [1, 2]}
        self.PosConfig.send_to_all_poses("pos_partner_sync", data)
        rows = self.bus_rows_since(last)
        channels = [row[0] for row in rows]
        self.assertIn(self.bus_channel(self.pos_a, "pos_partner_sync"), channels)
        self.assertIn(self.bus_channel(self.pos_b, "pos_partner_sync"), channels)
        self.assertNotIn(
            self.bus_channel(self.pos_closed, "pos_partner_sync"), channels
        )
        open_configs = (
            self.env["pos.session"].search([("state", "!=", "closed")]).config_id
        )
        self.assertEqual(len(rows), len(open_configs))
        for _channel, notification_type, payload in rows:
            self.assertEqual(notification_type, "pos_partner_sync")
            self.assertEqual(payload, data)

    def test_send_to_channel_targets_only_its_records(self):
        last = self.last_bus_id()
        result = self.pos_a._send_to_channel("pos_invoices", {"n": 1})
        self.assertEqual(result, 1)
        self.assertEqual(
            self.bus_rows_since(last),
            [(self.bus_channel(self.pos_a, "pos_invoices"), "pos_invoices", {"n": 1})],
        )

    def test_send_to_channel_default_message_and_closed_pos(self):
        last = self.last_bus_id()
        (self.pos_b | self.pos_closed)._send_to_channel("pos.longpolling")
        self.assertEqual(
            self.bus_rows_since(last),
            [
                (
                    self.bus_channel(self.pos_b, "pos.longpolling"),
                    "pos.longpolling",
                    "PONG",
                )
            ],
        )

    def test_closing_a_session_stops_delivery(self):
        self.pos_b.session_ids.write({"state": "closed"})
        last = self.last_bus_id()
        (self.pos_a | self.pos_b)._send_to_channel("c", 1)
        self.assertEqual(
            [row[0] for row in self.bus_rows_since(last)],
            [self.bus_channel(self.pos_a, "c")],
        )

    def test_send_to_channel_by_id(self):
        last = self.last_bus_id()
        result = self.PosConfig._send_to_channel_by_id(
            self.dbname, self.pos_closed.id, "pos.longpolling"
        )
        self.assertEqual(result, 1)
        self.assertEqual(
            self.bus_rows_since(last),
            [
                (
                    self.bus_channel(self.pos_closed, "pos.longpolling"),
                    "pos.longpolling",
                    "PONG",
                )
            ],
        )

    def test_one_batch_one_notify_for_many_poses(self):
        configs = self.pos_a | self.pos_b
        for i in range(20):
            config = self.pos_a.copy({"name": "LP many %d" % i})
            self.env["pos.session"].create(
                {"config_id": config.id, "user_id": self.env.uid}
            )
            configs |= config
        postcommit = self.env.cr.postcommit
        hooks_before = len(postcommit._funcs)
        last = self.last_bus_id()
        configs._send_to_channel("many", {"x": 1})
        self.assertEqual(len(self.bus_rows_since(last)), 22)
        # _sendmany registers one NOTIFY hook per call: one call for all POSes.
        self.assertEqual(len(postcommit._funcs) - hooks_before, 1)

    def test_dates_are_sent_as_odoo_sends_them(self):
        last = self.last_bus_id()
        self.pos_a._send_to_channel(
            "d", {"when": datetime.datetime(2024, 1, 2, 3, 4, 5)}
        )
        self.assertEqual(
            self.bus_rows_since(last)[0][2], {"when": "2024-01-02 03:04:05"}
        )

    def test_non_json_data_fails_before_writing(self):
        last = self.last_bus_id()
        for bad in ({1, 2}, {"partner": self.env.user.partner_id}, b"bytes", object()):
            with self.assertRaisesRegex(ValueError, "cannot be sent as JSON"):
                self.PosConfig.send_to_all_poses("c", {"data": bad})
            with self.assertRaisesRegex(ValueError, "cannot be sent as JSON"):
                self.PosConfig._send_to_channel_by_id(
                    self.dbname, self.pos_a.id, "c", bad
                )
        for bad_name in ("", None, 3, ["c"]):
            with self.assertRaisesRegex(ValueError, "channel name"):
                self.pos_a._send_to_channel(bad_name, 1)
        self.assertEqual(self.bus_rows_since(last), [])

    def make_user(self, login, groups, company=None):
        company = company or self.env.company
        return self.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, [self.env.ref(group).id for group in groups])],
            }
        )

    def test_poses_of_the_users_companies_only(self):
        other_company = self.env["res.company"].create({"name": "LP other company"})
        user = self.make_user(
            "lp_other_user", ["point_of_sale.group_pos_user"], other_company
        )
        last = self.last_bus_id()
        self.PosConfig.with_user(user).send_to_all_poses("c", 1)
        self.assertEqual(self.bus_rows_since(last), [])

    def test_server_code_of_a_user_without_pos_rights(self):
        """The partner-sync pattern: an employee edits a partner, and the
        server code that runs as this employee sends to the POSes."""
        employee = self.make_user("lp_employee", ["base.group_user"])
        self.assertFalse(
            self.PosConfig.with_user(employee).check_access_rights("read", False)
        )
        last = self.last_bus_id()
        self.PosConfig.with_user(employee).send_to_all_poses(
            "pos_partner_sync", {"p": 1}
        )
        self.assertEqual(
            sorted(self.bus_rows_since(last)),
            sorted(
                (
                    self.bus_channel(config, "pos_partner_sync"),
                    "pos_partner_sync",
                    {"p": 1},
                )
                for config in self.open_configs()
            ),
        )

    def open_configs(self):
        return (
            self.env["pos.session"]
            .search(
                [
                    ("state", "!=", "closed"),
                    ("config_id.company_id", "=", self.env.company.id),
                ]
            )
            .config_id
        )

    def test_every_channel_fits_one_notify(self):
        """Whatever a send or a PONG names within the bounds, its NOTIFY
        payload stays under PostgreSQL's 8,000 bytes."""
        worst = self.PosConfig._get_full_channel_name_by_id(
            "\U0001f600" * (MAX_DB_NAME // 4),
            MAX_POS_ID,
            '"\U0001f600' * (MAX_CHANNEL_NAME // 2),
        )
        (payload,) = get_notify_payloads([channel_with_db("\U0001f600" * 16, worst)])
        self.assertLess(len(payload.encode()), 8000)
        last = self.last_bus_id()
        for bad in ("x" * (MAX_CHANNEL_NAME + 1),):
            with self.assertRaisesRegex(ValueError, "channel name"):
                self.pos_a._send_to_channel(bad, 1)
        for dbname, pos_id in (
            ("d" * (MAX_DB_NAME + 1), 1),
            ("db", MAX_POS_ID + 1),
            ("db", 0),
            ("", 1),
            ("db", "1"),
        ):
            with self.assertRaisesRegex(ValueError, "no POS channel"):
                self.PosConfig._send_to_channel_by_id(dbname, pos_id, "c")
        self.assertEqual(self.bus_rows_since(last), [])
