from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.tests import new_test_user, tagged

from .test_announcement import AnnouncementCase


@tagged("post_install", "-at_install")
class TestAnnouncementReceipts(AnnouncementCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "LP receipt co"})
        cls.foreign_cashier = new_test_user(
            cls.env,
            login="lp_receipt_foreign",
            groups="base.group_user,point_of_sale.group_pos_user",
            company_id=cls.other_company.id,
            company_ids=[(6, 0, cls.other_company.ids)],
        )

    def send(self, configs, needs_ack=True):
        action = self.Wizard.create(
            {
                "config_ids": [(6, 0, configs.ids)],
                "title": "Till 3",
                "body": "The card terminal of till 3 is down",
                "needs_ack": needs_ack,
            }
        ).action_send()
        self.assertEqual(
            (action["type"], action["res_model"], action["view_mode"]),
            ("ir.actions.act_window", "pos.announcement", "form"),
        )
        return self.env["pos.announcement"].browse(action["res_id"])

    def report(self, user, announcement, config, acknowledged=False):
        return (
            self.env["pos.announcement.receipt"]
            .with_user(user)
            .report(announcement.id, config.id, acknowledged)
        )

    def test_one_receipt_per_addressed_pos(self):
        announcement = self.send(self.pos_a | self.pos_b | self.pos_closed)
        self.assertEqual(
            (announcement.title, announcement.body, announcement.needs_ack),
            ("Till 3", "The card terminal of till 3 is down", True),
        )
        self.assertEqual(announcement.user_id, self.manager)
        self.assertTrue(announcement.date)
        # Sent to the POSes with an open session only: those are addressed.
        self.assertEqual(announcement.receipt_ids.config_id, self.pos_a | self.pos_b)
        self.assertEqual(
            announcement.receipt_summary,
            "shown on 0 of 2 POSes, acknowledged on 0 of 2",
        )
        payload = self.bus_rows_since(0)[-1][2]
        self.assertEqual(payload["announcement_id"], announcement.id)

    def test_reported_once(self):
        announcement = self.send(self.pos_a | self.pos_b)
        self.assertTrue(self.report(self.cashier, announcement, self.pos_a))
        receipt = announcement.receipt_ids.filtered(lambda r: r.config_id == self.pos_a)
        shown_at = receipt.shown_at
        self.assertTrue(shown_at)
        # A second tab, a reload: nothing new.
        self.assertFalse(self.report(self.cashier, announcement, self.pos_a))
        self.assertTrue(self.report(self.cashier, announcement, self.pos_a, True))
        self.assertEqual(receipt.acknowledged_by, self.cashier)
        self.assertFalse(self.report(self.manager, announcement, self.pos_a, True))
        self.assertEqual(
            (receipt.shown_at, receipt.acknowledged_by), (shown_at, self.cashier)
        )
        self.assertEqual(
            announcement.receipt_summary,
            "shown on 1 of 2 POSes, acknowledged on 1 of 2",
        )

    def test_readme_example(self):
        """README, Usage, *Announcements*: what server code reads."""
        self.env = self.env(user=self.manager)
        configs = self.pos_a | self.pos_b
        # As in the README:
        action = (
            self.env["pos.announcement.wizard"]
            .create(
                {
                    "config_ids": [(6, 0, configs.ids)],  # default: every open POS
                    "title": "Closing",
                    "body": "Count the till before closing",
                    "needs_ack": True,
                }
            )
            .action_send()
        )
        announcement = self.env["pos.announcement"].browse(action["res_id"])
        acknowledged = announcement.receipt_ids.filtered("acknowledged_at").config_id
        self.assertFalse(acknowledged)
        self.report(self.cashier, announcement, self.pos_a, True)
        acknowledged = announcement.receipt_ids.filtered("acknowledged_at").config_id
        self.assertEqual(acknowledged, self.pos_a)

    def test_acknowledged_implies_shown(self):
        announcement = self.send(self.pos_a)
        self.assertTrue(self.report(self.cashier, announcement, self.pos_a, True))
        self.assertTrue(announcement.receipt_ids.shown_at)
        self.assertTrue(announcement.receipt_ids.acknowledged_at)

    def test_no_acknowledgement_of_a_notification(self):
        announcement = self.send(self.pos_a, needs_ack=False)
        self.report(self.cashier, announcement, self.pos_a, True)
        self.assertTrue(announcement.receipt_ids.shown_at)
        self.assertFalse(announcement.receipt_ids.acknowledged_at)
        self.assertEqual(announcement.receipt_summary, "shown on 1 of 1 POSes")

    def test_refused_for_a_pos_the_user_may_not_use(self):
        announcement = self.send(self.pos_a | self.pos_b)
        with self.assertRaises(AccessError):
            self.report(self.foreign_cashier, announcement, self.pos_a)
        # POS B moved to another company, then archived: refused either way.
        # (SQL: pos.config's write asks for accounting of the company.)
        self.env.cr.execute(
            "UPDATE pos_config SET company_id = %s WHERE id = %s",
            (self.other_company.id, self.pos_b.id),
        )
        self.env["pos.config"].invalidate_cache()
        with self.assertRaises(AccessError):
            self.report(self.cashier, announcement, self.pos_b)
        self.env.cr.execute(
            "UPDATE pos_config SET company_id = %s, active = false WHERE id = %s",
            (self.env.company.id, self.pos_b.id),
        )
        self.env["pos.config"].invalidate_cache()
        with self.assertRaises(AccessError):
            self.report(self.cashier, announcement, self.pos_b)
        portal = new_test_user(
            self.env, login="lp_receipt_portal", groups="base.group_portal"
        )
        with self.assertRaises(AccessError):
            self.report(portal, announcement, self.pos_a)
        # Not addressed to that POS; malformed arguments.
        with self.assertRaises(MissingError):
            self.report(self.cashier, announcement, self.pos_closed)
        Receipt = self.env["pos.announcement.receipt"].with_user(self.cashier)
        for args in (("1", self.pos_a.id), (announcement.id, None), (0, 1)):
            with self.assertRaises(ValidationError):
                Receipt.report(*args)
        with self.assertRaises(ValidationError):
            Receipt.report(announcement.id, self.pos_a.id, "yes")
        self.assertEqual(announcement.receipt_ids.mapped("shown_at"), [False, False])

    def test_only_managers_read_announcements(self):
        announcement = self.send(self.pos_a)
        for model in ("pos.announcement", "pos.announcement.receipt"):
            Model = self.env[model].with_user(self.cashier)
            with self.assertRaises(AccessError):
                Model.search([])
        with self.assertRaises(AccessError):
            announcement.with_user(self.cashier).read(["body"])
        self.assertIn(
            announcement,
            self.env["pos.announcement"].with_user(self.manager).search([]),
        )

    def test_a_manager_of_another_company_does_not_read_them(self):
        announcement = self.send(self.pos_a)
        manager = new_test_user(
            self.env,
            login="lp_receipt_foreign_manager",
            groups="base.group_user,point_of_sale.group_pos_manager",
            company_id=self.other_company.id,
            company_ids=[(6, 0, self.other_company.ids)],
        )
        self.assertFalse(
            self.env["pos.announcement"]
            .with_user(manager)
            .search([("id", "=", announcement.id)])
        )
        self.assertFalse(
            self.env["pos.announcement.receipt"]
            .with_user(manager)
            .search([("announcement_id", "=", announcement.id)])
        )
