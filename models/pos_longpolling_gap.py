"""Per POS, the newest of its bus notifications that the bus deleted.

A poll whose ``last`` is older gets a gap notification first. Kept out of
every user's reach: its one access row grants nothing to anyone, so only
the server reads and writes it, by SQL. It was a field of ``pos.config``
until 15.0.1.1.0, where Point of Sale users may write (``readonly`` is a
view's hint, not a check of ``write()``): a cashier could set it beyond the
bus's newest id and deafen the POS.
"""
from odoo import fields, models


class PosLongpollingGap(models.Model):
    _name = "pos.longpolling.gap"
    _description = "POS Longpolling: Newest Deleted Notification"
    _log_access = False

    config_id = fields.Many2one(
        "pos.config", "Point of Sale", required=True, ondelete="cascade", index=True
    )
    deleted_id = fields.Integer(
        "Newest Deleted Notification",
        required=True,
        help="Id of the newest bus notification of this POS that the bus's "
        "clean-up deleted: a POS that had not read it missed messages.",
    )

    _sql_constraints = [
        ("config_unique", "UNIQUE(config_id)", "One gap record per POS."),
    ]

    def _newest_bus_id(self):
        """The id of the newest notification the bus ever wrote (deleted or
        not): no notification the server has is newer."""
        self.env.cr.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END"
            " FROM bus_bus_id_seq"
        )
        return self.env.cr.fetchone()[0]

    def _deleted_ids(self, pos_ids):
        """``{pos id: id of its newest deleted notification}`` of
        ``pos_ids`` that have one, never beyond the bus's newest id."""
        # Written by SQL only: nothing to flush.
        self.env.cr.execute(
            "SELECT config_id, LEAST(deleted_id, %s) FROM pos_longpolling_gap"
            " WHERE config_id IN %s",
            (self._newest_bus_id(), tuple(pos_ids)),
        )
        return dict(self.env.cr.fetchall())

    def _note(self, newest):
        """Remember ``{pos id: id of a notification deleted}`` where newer."""
        for pos_id, notification_id in newest.items():
            self.env.cr.execute(
                "INSERT INTO pos_longpolling_gap (config_id, deleted_id)"
                " SELECT id, %(deleted)s FROM pos_config WHERE id = %(pos)s"
                " ON CONFLICT (config_id) DO UPDATE SET deleted_id ="
                " GREATEST(pos_longpolling_gap.deleted_id, EXCLUDED.deleted_id)",
                {"pos": pos_id, "deleted": notification_id},
            )
        self.invalidate_cache()
