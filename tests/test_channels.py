from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.pos_config import ALLOW_PUBLIC_PARAM, parse_pos_channel
from .common import PosLongpollingCase


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
        """Answers are cached per user; a change of rights or company is not."""
        self.check(self.cashier, self.channels_a)
        self.cashier.groups_id = [(6, 0, self.env.ref("base.group_user").ids)]
        with self.assertRaises(AccessError):
            self.check(self.cashier, self.channels_a)
        with self.assertRaises(AccessError):
            self.check(self.foreign_cashier, self.channels_a)
        self.foreign_cashier.company_ids = [(4, self.pos_a.company_id.id)]
        self.check(self.foreign_cashier, self.channels_a)
