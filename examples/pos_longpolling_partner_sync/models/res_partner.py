from odoo import api, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        partners._notify_pos_partner_sync()
        return partners

    def write(self, vals):
        result = super().write(vals)
        self._notify_pos_partner_sync()
        return result

    def _notify_pos_partner_sync(self):
        """Tell every open POS to reload these partners (sent on commit)."""
        if self:
            self.env["pos.config"].send_to_all_poses(
                "pos_partner_sync",
                {"message": "update_partner_fields", "partner_ids": self.ids},
            )
