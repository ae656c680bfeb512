"""What one addressed POS did with an announcement: first shown on one of
its screens, acknowledged (and by whom). The POS reports it (``report``);
a report is kept once, whatever comes again."""
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, MissingError, ValidationError

from .pos_config import is_pos_id, short_repr


class PosAnnouncementReceipt(models.Model):
    _name = "pos.announcement.receipt"
    _description = "Receipt of a Message to POS Screens"
    _order = "announcement_id desc, config_id"

    announcement_id = fields.Many2one(
        "pos.announcement", required=True, index=True, ondelete="cascade"
    )
    config_id = fields.Many2one(
        "pos.config", "Point of Sale", required=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="config_id.company_id")
    shown_at = fields.Datetime(
        "Shown", readonly=True, help="First shown on a screen of this POS."
    )
    acknowledged_at = fields.Datetime("Acknowledged", readonly=True)
    acknowledged_by = fields.Many2one(
        "res.users",
        readonly=True,
        help="The user logged in on the screen where it was acknowledged.",
    )

    _sql_constraints = [
        (
            "announcement_config_unique",
            "unique(announcement_id, config_id)",
            "One receipt per POS of an announcement.",
        )
    ]

    @api.model
    def report(self, announcement_id, config_id, acknowledged=False):
        """A POS screen showed (or, ``acknowledged``, the cashier closed)
        announcement ``announcement_id`` on POS ``config_id``: the first
        report of each is kept. The user must be a POS user who may use
        the POS. Returns whether anything was new."""
        if not is_pos_id(announcement_id) or not is_pos_id(config_id):
            raise ValidationError(
                _(
                    "POS announcement: announcement and POS must be ids, "
                    "not %(announcement)s and %(config)s."
                )
                % {
                    "announcement": short_repr(announcement_id),
                    "config": short_repr(config_id),
                }
            )
        if not isinstance(acknowledged, bool):
            raise ValidationError(
                _("POS announcement: acknowledged must be true or false.")
            )
        configs = self.env["pos.config"].sudo(False)
        if not (
            self.env.user.has_group("point_of_sale.group_pos_user")
            and configs.check_access_rights("read", raise_exception=False)
            and configs.search([("id", "=", config_id)])
        ):
            raise AccessError(
                _("POS announcement: you may not report for POS %s.") % config_id
            )
        now = fields.Datetime.now()
        # One statement each: two screens reporting at once keep the first.
        self.env.cr.execute(
            "UPDATE pos_announcement_receipt SET shown_at = %s"
            " WHERE announcement_id = %s AND config_id = %s AND shown_at IS NULL"
            " RETURNING id",
            (now, announcement_id, config_id),
        )
        changed = bool(self.env.cr.rowcount)
        if acknowledged:
            self.env.cr.execute(
                "UPDATE pos_announcement_receipt r SET acknowledged_at = %s,"
                " acknowledged_by = %s FROM pos_announcement a"
                " WHERE a.id = r.announcement_id AND a.needs_ack"
                " AND r.announcement_id = %s AND r.config_id = %s"
                " AND r.acknowledged_at IS NULL RETURNING r.id",
                (now, self.env.uid, announcement_id, config_id),
            )
            changed = changed or bool(self.env.cr.rowcount)
        if not changed:
            self.env.cr.execute(
                "SELECT 1 FROM pos_announcement_receipt"
                " WHERE announcement_id = %s AND config_id = %s",
                (announcement_id, config_id),
            )
            if not self.env.cr.rowcount:
                raise MissingError(
                    _(
                        "POS announcement: %(announcement)s was not sent to POS %(config)s."
                    )
                    % {"announcement": announcement_id, "config": config_id}
                )
        self.invalidate_cache(["shown_at", "acknowledged_at", "acknowledged_by"])
        self.env["pos.announcement"].invalidate_cache()
        return changed
