from odoo import _
from odoo.exceptions import ValidationError
from odoo.http import request, route

from odoo.addons.bus.controllers.main import BusController


class PosLongpollingController(BusController):
    def _poll(self, dbname, channels, last, options):
        """Only users who may use a POS listen to its channels."""
        request.env["pos.config"]._check_longpolling_channels(channels)
        return super()._poll(dbname, channels, last, options)

    @route("/pos_longpolling/update", type="json", auth="public", cors="*")
    def update_connection(self, pos_id=None, message=None, db_name=None, **unknown):
        """PING from a POS: a PONG travels back to it over the bus. Returns 1.

        Errors (bad arguments, unknown POS, no right to use it) are JSON-RPC
        errors, logged as one warning line, and write nothing.
        """
        if unknown:
            raise ValidationError(
                _("POS longpolling: unexpected argument(s) %s.")
                % ", ".join(sorted(unknown))
            )
        return request.env["pos.config"]._longpolling_answer_ping(
            pos_id, message, db_name
        )
