import psycopg2

import odoo
from odoo import _
from odoo.exceptions import UserError, ValidationError
from odoo.http import request, route
from odoo.sql_db import PoolError

from odoo.addons.bus.controllers.main import BusController

from ..models import pos_dispatch
from ..models.pos_config import parse_pos_channel


class PosLongpollingController(BusController):
    def _poll(self, dbname, channels, last, options):
        """Only users who may use a POS listen to its channels. In the
        gevent process, polls of POS channels only are read in batches."""
        parsed = [parse_pos_channel(channel) for channel in channels]
        if not any(parsed):
            return super()._poll(dbname, channels, last, options)
        try:
            request.env["pos.config"]._check_longpolling_channels(channels)
            if odoo.evented and not options.get("peek") and all(parsed):
                # As Odoo's poll: no cursor held while waiting.
                request.cr.close()
                request._cr = None
                return pos_dispatch.poll(dbname, channels, last)
            return super()._poll(dbname, channels, last, options)
        except (psycopg2.Error, PoolError) as error:
            # The database is down or restarting: one warning line, and the
            # POS retries later.
            raise UserError(
                _("POS longpolling: the database is unavailable (%s).") % error
            ) from None

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
