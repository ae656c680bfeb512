"""A POS manager's message to the cashiers of chosen POSes.

Sent like any other message of this addon (``_send_to_channel`` on its own
channel); ``static/src/js/PosAnnouncement.js`` is the POS side.
"""
import uuid

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

ANNOUNCEMENT_CHANNEL = "pos_longpolling.announcement"
TITLE_MAX = 80
BODY_MAX = 1000


class PosAnnouncementWizard(models.TransientModel):
    _name = "pos.announcement.wizard"
    _description = "Message to POS Screens"

    def _default_config_ids(self):
        context = self.env.context
        if context.get("active_model") == "pos.config" and context.get("active_ids"):
            return self.env["pos.config"].browse(context["active_ids"])
        return self.env["pos.config"].search([]).filtered("has_active_session")

    config_ids = fields.Many2many(
        "pos.config",
        string="Points of Sale",
        default=_default_config_ids,
        help="Those of them with an open session show the message at once.",
    )
    title = fields.Char(help="Optional, at most %d characters." % TITLE_MAX)
    body = fields.Text(
        "Message",
        required=True,
        help="Shown as plain text, at most %d characters." % BODY_MAX,
    )
    needs_ack = fields.Boolean(
        "Cashier Must Acknowledge",
        help="Show the message in a popup that stays until the cashier "
        "closes it, instead of a notification that goes away by itself.",
    )

    @api.constrains("title", "body")
    def _check_lengths(self):
        for wizard in self:
            if len(wizard.title or "") > TITLE_MAX:
                raise ValidationError(
                    _(
                        "The title of a message to POS screens may have at "
                        "most %s characters."
                    )
                    % TITLE_MAX
                )
            if not (wizard.body or "").strip():
                raise ValidationError(_("A message to POS screens needs a text."))
            if len(wizard.body) > BODY_MAX:
                raise ValidationError(
                    _(
                        "The text of a message to POS screens may have at "
                        "most %s characters."
                    )
                    % BODY_MAX
                )

    def _announcement_payload(self, announcement):
        self.ensure_one()
        return {
            # The POS shows an id once, whatever reaches it twice.
            "id": uuid.uuid4().hex,
            # What the POS reports its receipt for.
            "announcement_id": announcement.id,
            "title": self.title or "",
            "body": self.body,
            "needs_ack": self.needs_ack,
        }

    def action_send(self):
        self.ensure_one()
        # The model's access rights already keep cashiers out; this also
        # covers a call on records they got hold of otherwise.
        if not (
            self.env.su or self.env.user.has_group("point_of_sale.group_pos_manager")
        ):
            raise AccessError(
                _("Only Point of Sale managers may send messages to POS screens.")
            )
        self._check_lengths()
        # Read as the user: record rules (companies) apply to the chosen POSes.
        configs = self.config_ids
        open_configs = (
            self.env["pos.session"]
            .sudo()
            .search([("config_id", "in", configs.ids), ("state", "!=", "closed")])
            .config_id
        )
        if not open_configs:
            raise UserError(_("None of the chosen points of sale has an open session."))
        announcement = self._create_announcement(open_configs)
        configs._send_to_channel(
            ANNOUNCEMENT_CHANNEL, self._announcement_payload(announcement)
        )
        # What it created: the web client opens it, server code reads res_id.
        return {
            "type": "ir.actions.act_window",
            "name": _("Message to POS Screens"),
            "res_model": "pos.announcement",
            "res_id": announcement.id,
            "view_mode": "form",
            "target": "current",
        }

    def _create_announcement(self, configs):
        """The ``pos.announcement`` of this send, a receipt per POS of
        ``configs`` (those it is sent to)."""
        return self.env["pos.announcement"].create(
            {
                "title": self.title or False,
                "body": self.body,
                "needs_ack": self.needs_ack,
                "receipt_ids": [(0, 0, {"config_id": c.id}) for c in configs],
            }
        )
