from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.pos_config import ALLOW_PUBLIC_PARAM, parse_pos_channel
from .common import PosLongpollingCase, set_deleted_id


@tagged("post_install", "-at_install")
class TestChannelAccess(PosLongpollingCase):
    """What the poll controller lets a client listen to."""

    def setUp(self):
        super().setUp()
        self.other_company = self.env["res.company"].create({"name": "LP company 2"})
        pos_user = self.env.ref("point_of_sale.group_pos_user")
        self.cashier = self.env["res.users"].create(
            {
                "name": "LP cashier",
                "login": "lp_cashier",
                "groups_id": [(6, 0, pos_user.ids)],
            }
        )
        self.foreign_cashier = self.env["res.users"].create(
            {
                "name": "LP foreign cashier",
                "login": "lp_foreign_cashier",
                "company_id": self.other_company.id,
                "company_ids": [(6, 0, self.other_company.ids)],
                "groups_id": [(6, 0, pos_user.ids)],
            }
        )
        self.public = self.env.ref("base.public_user")
        self.channels_a = [
            self.pos_a._get_full_channel_name("pos.longpolling"),
            self.pos_a._get_full_channel_name("pos_partner_sync"),
            "broadcast",
        ]

    def check(self, user, channels):
        return self.PosConfig.with_user(user)._check_longpolling_channels(channels)

    def test_parse(self):
        self.assertEqual(parse_pos_channel('["db","c","12"]'), ("db", "c", 12))
        for other in (
            "broadcast",
            '["db","c"]',
            '["db","c","x"]',
            "[oops",
            '["a",1,"2"]',
            5,
            None,
        ):
            self.assertIsNone(parse_pos_channel(other))

    def test_pos_users_may_listen(self):
        self.check(self.cashier, self.channels_a)
        self.check(self.env.ref("base.user_admin"), self.channels_a)

    def test_logged_out_visitor_may_not_listen(self):
        with self.assertRaisesRegex(AccessError, "log in"):
            self.check(self.public, self.channels_a)

    def test_user_of_another_company_may_not_listen(self):
        with self.assertRaisesRegex(AccessError, "may not use POS %d" % self.pos_a.id):
            self.check(self.foreign_cashier, self.channels_a)

    def test_unknown_pos_or_other_database(self):
        with self.assertRaisesRegex(AccessError, "no POS with id 999999"):
            self.check(self.cashier, ['["%s","c","999999"]' % self.dbname])
        with self.assertRaisesRegex(AccessError, "not of this database"):
            self.check(self.cashier, ['["another_db","c","%d"]' % self.pos_a.id])

    def test_polls_checked_together_as_one_by_one(self):
        set_deleted_id(self.env, self.pos_b, 90)
        polls = [
            (self.channels_a, 0),
            ([self.pos_b._get_full_channel_name("x")], 50),
            ([self.pos_b._get_full_channel_name("x")], 95),
            (self.channels_a + [self.pos_b._get_full_channel_name("x")], 10),
        ]
        configs = self.PosConfig.with_user(self.cashier)
        self.assertEqual(configs._check_longpolling_polls(polls), [0, 90, 0, 90])
        self.assertEqual(
            [configs._check_longpolling_channels(*poll) for poll in polls],
            [0, 90, 0, 90],
        )
        refused = polls + [(['["%s","x","999999"]' % self.dbname], 0)]
        results = self.PosConfig.with_user(self.cashier)._check_longpolling_polls(
            refused
        )
        self.assertEqual(results[:4], [0, 90, 0, 90])
        self.assertIsInstance(results[4], AccessError)
        foreign = self.PosConfig.with_user(self.foreign_cashier)
        (refused,) = foreign._check_longpolling_polls(polls[:1])
        self.assertIsInstance(refused, AccessError)

    def test_other_channels_are_left_alone(self):
        self.check(self.public, ["broadcast", "some-uuid", self.env.user.partner_id])

    def test_allow_public(self):
        self.env["ir.config_parameter"].sudo().set_param(ALLOW_PUBLIC_PARAM, "True")
        self.check(self.public, self.channels_a + ['["another_db","c","1"]'])
        self.check(self.foreign_cashier, self.channels_a)
        self.env["ir.config_parameter"].sudo().set_param(ALLOW_PUBLIC_PARAM, "False")
        with self.assertRaises(AccessError):
            self.check(self.public, self.channels_a)

    def test_access_changes_apply_at_once(self):
        """Asked afresh at each poll: rights, companies, archived and new
        POSes, record rules."""
        self.check(self.cashier, self.channels_a)
        self.cashier.groups_id = [(6, 0, self.env.ref("base.group_user").ids)]
        with self.assertRaises(AccessError):
            self.check(self.cashier, self.channels_a)
        with self.assertRaises(AccessError):
            self.check(self.foreign_cashier, self.channels_a)
        self.foreign_cashier.company_ids = [(4, self.pos_a.company_id.id)]
        self.check(self.foreign_cashier, self.channels_a)

    def test_archived_and_created_poses(self):
        channels = [self.pos_closed._get_full_channel_name("x")]
        self.check(self.cashier, channels)
        self.pos_closed.active = False
        with self.assertRaisesRegex(AccessError, "may not use POS"):
            self.check(self.cashier, channels)
        created = self.pos_b.copy({"name": "LP created"})
        self.check(self.cashier, [created._get_full_channel_name("x")])

    def test_record_rules_apply_at_once(self):
        self.check(self.cashier, self.channels_a)
        rule = self.env["ir.rule"].create(
            {
                "name": "LP only POS B",
                "model_id": self.env.ref("point_of_sale.model_pos_config").id,
                "domain_force": "[('id', '=', %d)]" % self.pos_b.id,
            }
        )
        with self.assertRaisesRegex(AccessError, "may not use POS"):
            self.check(self.cashier, self.channels_a)
        self.check(self.cashier, [self.pos_b._get_full_channel_name("x")])
        rule.domain_force = "[(1, '=', 1)]"
        self.check(self.cashier, self.channels_a)

    def test_superuser_mode_does_not_change_who_listens(self):
        for user in (self.public, self.foreign_cashier):
            with self.assertRaises(AccessError):
                self.PosConfig.with_user(user).sudo()._check_longpolling_channels(
                    self.channels_a
                )


@tagged("post_install", "-at_install")
class TestGap(PosLongpollingCase):
    """A poll learns that notifications of its POS newer than its ``last``
    were deleted by the bus before it read them, and only then."""

    def test_deleted_notifications_are_remembered_per_pos(self):
        Bus = self.env["bus.bus"].sudo()
        channels = [self.pos_a._get_full_channel_name("x")]
        start = self.last_bus_id()
        (self.pos_a | self.pos_b)._send_to_channel("x", "old")
        self.pos_b._send_to_channel("x", "newer, of b")
        kept = self.last_bus_id()
        self.pos_a._send_to_channel("x", "kept")
        self.assertEqual(self.PosConfig._check_longpolling_channels(channels, start), 0)
        Bus.search([("id", ">", start), ("id", "<=", kept)]).unlink()
        deleted_a = self.deleted_id(self.pos_a)
        self.assertGreater(deleted_a, start)
        self.assertGreater(self.deleted_id(self.pos_b), deleted_a)
        self.assertFalse(self.deleted_id(self.pos_closed))
        # Read before the deletion, or a first poll: nothing missed.
        for last in (0, deleted_a, kept):
            self.assertEqual(
                self.PosConfig._check_longpolling_channels(channels, last), 0
            )
        self.assertEqual(
            self.PosConfig._check_longpolling_channels(channels, start), deleted_a
        )
        # Other databases' channels and other channels change nothing.
        newest = self.last_bus_id()
        Bus._sendmany(
            [('["other_db","x","%d"]' % self.pos_a.id, "x", 1), ("broadcast", "x", 1)]
        )
        Bus.search([("id", ">", newest)]).unlink()
        self.assertEqual(self.deleted_id(self.pos_a), deleted_a)

    def test_odoo_garbage_collection_is_seen(self):
        start = self.last_bus_id()
        self.pos_a._send_to_channel("x", "old")
        self.env.cr.execute(
            "UPDATE bus_bus SET create_date = create_date - interval '1 day' WHERE id > %s",
            (start,),
        )
        self.env["bus.bus"]._gc_messages()
        self.assertGreater(self.deleted_id(self.pos_a), start)
