"""When each screen of a POS was last answered by the server.

One row per POS and screen (a tab or device: the client's ``screen`` id,
``""`` when it sends none), written only by ``contact_recorder`` in one
statement per process at most every 30 s; ``pos.config``'s connection
fields aggregate the rows of every process and node.
"""
import datetime

from odoo import api, fields, models

# Rows of screens silent this long go, but the newest of each POS stays:
# it is the POS's last contact.
KEEP_DAYS = 7


class PosLongpollingContact(models.Model):
    _name = "pos.longpolling.contact"
    _description = "Last Contact of a POS Screen"
    _log_access = False

    config_id = fields.Many2one(
        "pos.config", "Point of Sale", required=True, index=True, ondelete="cascade"
    )
    screen = fields.Char(required=True, help="The id of a tab or device of the POS.")
    last_contact = fields.Datetime(required=True, index=True)

    _sql_constraints = [
        (
            "config_screen_unique",
            "unique(config_id, screen)",
            "One row per screen of a POS.",
        )
    ]

    @api.model
    def _write_contacts(self, contacts):
        """Upsert ``{(pos id, screen): utc datetime}`` in one statement;
        a newer contact written by another process meanwhile stays."""
        if not contacts:
            return
        rows = sorted(contacts.items())  # one lock order in every process
        self.env.cr.execute(
            "INSERT INTO pos_longpolling_contact (config_id, screen, last_contact)"
            " SELECT c.id, u.screen, u.seen"
            " FROM unnest(%s::int[], %s::varchar[], %s::timestamp[])"
            " WITH ORDINALITY AS u(config_id, screen, seen, position)"
            " JOIN pos_config c ON c.id = u.config_id ORDER BY u.position"
            " ON CONFLICT (config_id, screen) DO UPDATE SET last_contact ="
            " GREATEST(pos_longpolling_contact.last_contact, EXCLUDED.last_contact)",
            (
                [pos_id for (pos_id, _screen), _seen in rows],
                [screen for (_pos_id, screen), _seen in rows],
                [seen for _key, seen in rows],
            ),
        )
        self.invalidate_cache()

    @api.autovacuum
    def _gc_old_screens(self):
        """Forget screens silent for ``KEEP_DAYS``, but the newest of each POS."""
        bound = fields.Datetime.now() - datetime.timedelta(days=KEEP_DAYS)
        self.env.cr.execute(
            "DELETE FROM pos_longpolling_contact o WHERE last_contact < %s"
            " AND EXISTS (SELECT 1 FROM pos_longpolling_contact n"
            " WHERE n.config_id = o.config_id AND n.last_contact > o.last_contact)",
            (bound,),
        )
