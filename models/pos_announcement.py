"""A message sent with *Send a message to POS screens*, kept with what each
addressed POS did with it (``pos.announcement.receipt``)."""
from odoo import _, api, fields, models


class PosAnnouncement(models.Model):
    _name = "pos.announcement"
    _description = "Message to POS Screens"
    _order = "date desc, id desc"
    _rec_name = "display_title"

    title = fields.Char(readonly=True)
    body = fields.Text("Message", required=True, readonly=True)
    needs_ack = fields.Boolean("Cashier Must Acknowledge", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        "Sender",
        required=True,
        readonly=True,
        default=lambda self: self.env.user,
    )
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    receipt_ids = fields.One2many(
        "pos.announcement.receipt", "announcement_id", "Points of Sale", readonly=True
    )
    display_title = fields.Char("Subject", compute="_compute_display_title")
    receipt_count = fields.Integer("Addressed", compute="_compute_receipt_counts")
    shown_count = fields.Integer("Shown", compute="_compute_receipt_counts")
    acknowledged_count = fields.Integer(
        "Acknowledged", compute="_compute_receipt_counts"
    )
    receipt_summary = fields.Char("Receipts", compute="_compute_receipt_counts")

    @api.depends("title", "body")
    def _compute_display_title(self):
        for announcement in self:
            announcement.display_title = (
                announcement.title
                or (announcement.body or "").strip().split("\n")[0][:80]
            )

    @api.depends("needs_ack", "receipt_ids.shown_at", "receipt_ids.acknowledged_at")
    def _compute_receipt_counts(self):
        for announcement in self:
            receipts = announcement.receipt_ids
            total = len(receipts)
            shown = len(receipts.filtered("shown_at"))
            acknowledged = len(receipts.filtered("acknowledged_at"))
            announcement.receipt_count = total
            announcement.shown_count = shown
            announcement.acknowledged_count = acknowledged
            values = {"shown": shown, "acknowledged": acknowledged, "total": total}
            if announcement.needs_ack:
                summary = _(
                    "shown on %(shown)s of %(total)s POSes, "
                    "acknowledged on %(acknowledged)s of %(total)s"
                )
            else:
                summary = _("shown on %(shown)s of %(total)s POSes")
            announcement.receipt_summary = summary % values
