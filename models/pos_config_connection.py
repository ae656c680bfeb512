"""Whether screens of a POS are connected, from their last contacts
(``pos.longpolling.contact``, written by every process and node)."""
import datetime

from odoo import _, fields, models
from odoo.tools import format_datetime

# A live screen polls at least every 55 s and its contact is written within
# 30 s: two minutes without one and it is gone.
CONNECTED_WITHIN = datetime.timedelta(minutes=2)


class PosConfig(models.Model):
    _inherit = "pos.config"

    longpolling_last_contact = fields.Datetime(
        "Last Contact",
        compute="_compute_longpolling_connection",
        help="The last time the server answered a screen of this POS (a poll "
        "or a ping); known to the database within 30 seconds.",
    )
    longpolling_screen_count = fields.Integer(
        "Connected Screens",
        compute="_compute_longpolling_connection",
        help="Screens (tabs or devices) of this POS that the server answered "
        "in the last 2 minutes.",
    )
    longpolling_connected = fields.Boolean(
        "Connected",
        compute="_compute_longpolling_connection",
        help="At least one screen of this POS was answered in the last 2 minutes.",
    )
    longpolling_connection_state = fields.Char(
        "Connection",
        compute="_compute_longpolling_connection",
        help="Of a POS with an open session: connected, with how many screens, "
        "or since when not.",
    )

    def _compute_longpolling_connection(self):
        ids = tuple(config.id for config in self if isinstance(config.id, int))
        found = {}
        if ids:
            bound = fields.Datetime.now() - CONNECTED_WITHIN
            self.env.cr.execute(
                "SELECT config_id, max(last_contact),"
                " count(*) FILTER (WHERE last_contact >= %s)"
                " FROM pos_longpolling_contact WHERE config_id IN %s"
                " GROUP BY config_id",
                (bound, ids),
            )
            found = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for config in self:
            last, screens = found.get(config.id, (False, 0))
            config.longpolling_last_contact = last
            config.longpolling_screen_count = screens
            config.longpolling_connected = bool(screens)
            config.longpolling_connection_state = config._longpolling_state_text()

    def _longpolling_state_text(self):
        if not self.has_active_session:
            return False
        if self.longpolling_screen_count > 1:
            return _("Connected (%s screens)") % self.longpolling_screen_count
        if self.longpolling_connected:
            return _("Connected")
        if self.longpolling_last_contact:
            return _("Not connected since %s") % format_datetime(
                self.env, self.longpolling_last_contact, dt_format="short"
            )
        return _("Not connected")
