import psycopg2

from odoo import _
from odoo.exceptions import UserError, ValidationError
from odoo.http import request, route
from odoo.sql_db import PoolError

from odoo.addons.bus.controllers.main import BusController

from ..models.contact_recorder import contacts, is_screen_id
from ..models.pos_config import (
    GAP_TYPE,
    MAX_NOTIFICATION_ID,
    MAX_POLL_CHANNEL_LENGTH,
    MAX_POLL_CHANNELS,
    MAX_POLL_OPTIONS,
    is_int,
    parse_pos_channel,
    short_repr,
)


def check_poll(channels, last, options, unknown):
    """The arguments of a long poll, checked before anything reads them:
    ``(channels without repeats, last, options)``, else ``ValidationError``."""
    if unknown:
        raise ValidationError(
            _("Longpolling: unexpected poll argument(s) %s.")
            % short_repr(sorted(unknown))
        )
    if not isinstance(channels, list) or len(channels) > MAX_POLL_CHANNELS:
        raise ValidationError(
            _("Longpolling: channels must be a list of at most %s channels.")
            % MAX_POLL_CHANNELS
        )
    for channel in channels:
        if (
            not isinstance(channel, str)
            or not 0 < len(channel) <= MAX_POLL_CHANNEL_LENGTH
        ):
            raise ValidationError(
                _(
                    "Longpolling: a channel must be a string of 1 to %(max)s "
                    "characters, not %(value)s."
                )
                % {"max": MAX_POLL_CHANNEL_LENGTH, "value": short_repr(channel)}
            )
    if not is_int(last, 0, MAX_NOTIFICATION_ID):
        raise ValidationError(
            _(
                "Longpolling: last must be a notification id (an integer of 0 "
                "or more), not %s."
            )
            % short_repr(last)
        )
    if options is None:
        options = {}
    screen = options.get("screen") if isinstance(options, dict) else None
    # What Odoo reads of them (its web client sends bus_inactivity).
    inactivity = options.get("bus_inactivity", 0) if isinstance(options, dict) else 0
    if (
        not isinstance(options, dict)
        or len(options) > MAX_POLL_OPTIONS
        or not isinstance(options.get("peek", False), bool)
        or not isinstance(inactivity, (int, float))
        or isinstance(inactivity, bool)
        or not (screen is None or is_screen_id(screen))
    ):
        raise ValidationError(
            _("Longpolling: options must be an object of options, not %s.")
            % short_repr(options)
        )
    return list(dict.fromkeys(channels)), last, options


def with_gap(answer, deleted_id, last, newest, peek=False):
    """A peek poll's ``answer`` (``{notifications, channels}``) with the gap
    notification first, in the shape the poll asked for. ``newest``: the
    bus's newest id, which the client's last id never passes for a gap."""
    payload = {"last": last, "newest": newest}
    gap = {"id": deleted_id, "message": {"type": GAP_TYPE, "payload": payload}}
    notifications = [gap] + answer["notifications"]
    return dict(answer, notifications=notifications) if peek else notifications


class PosLongpollingController(BusController):
    @route()
    def poll(self, channels=None, last=None, options=None, credential=None, **unknown):
        """Odoo's long poll, its arguments checked first (``check_poll``):
        a malformed poll gets a JSON-RPC error of its own. ``credential``:
        of a POS polling a sync server (``models/sync_credential.py``)."""
        channels, last, options = check_poll(channels, last, options, unknown)
        PosConfig = request.env["pos.config"]
        targets = PosConfig._longpolling_sync_targets(channels)
        # Checked here: _poll runs without a cursor once it waits.
        request.pos_longpolling_sync = PosConfig._longpolling_check_sync(
            credential, targets
        )
        return super().poll(channels, last, options)

    def _poll(self, dbname, channels, last, options):
        """Only users who may use a POS listen to its channels. A POS that
        missed notifications the bus has deleted first gets a notification
        of type ``pos.longpolling/gap`` (its id: the newest deleted one).
        A poll let through by its sync credential is checked already."""
        if getattr(request, "pos_longpolling_sync", False) or not any(
            parse_pos_channel(channel) for channel in channels
        ):
            return super()._poll(dbname, channels, last, options)
        try:
            PosConfig = request.env["pos.config"]
            deleted_id = PosConfig._check_longpolling_channels(channels, last)
            contacts.note_channels(dbname, channels, options.get("screen"))
            if not deleted_id:
                return super()._poll(dbname, channels, last, options)
            newest = request.env["pos.longpolling.gap"].sudo()._newest_bus_id()
            answer = super()._poll(dbname, channels, last, dict(options, peek=True))
        except (psycopg2.Error, PoolError, TimeoutError) as error:
            # The database is down or restarting: one warning line, and the
            # POS retries later.
            raise UserError(
                _("POS longpolling: the database is unavailable (%s).") % error
            ) from None
        return with_gap(answer, deleted_id, last, newest, options.get("peek"))

    @route("/pos_longpolling/update", type="json", auth="public", cors="*")
    def update_connection(
        self,
        pos_id=None,
        message=None,
        db_name=None,
        screen=None,
        credential=None,
        **unknown
    ):
        """PING from a POS (from its tab or device ``screen``, a screen id):
        a PONG travels back to it over the bus. Returns 1.

        Errors (bad arguments, unknown POS, no right to use it) are JSON-RPC
        errors, logged as one warning line, and write nothing.
        """
        if unknown:
            raise ValidationError(
                _("POS longpolling: unexpected argument(s) %s.")
                % short_repr(sorted(unknown))
            )
        if not (screen is None or is_screen_id(screen)):
            raise ValidationError(
                _("POS longpolling: screen must be a screen id, not %s.")
                % short_repr(screen)
            )
        result = request.env["pos.config"]._longpolling_answer_ping(
            pos_id, message, db_name, credential
        )
        if db_name in (None, "", request.db):
            contacts.note(request.db, [int(pos_id)], screen)
        return result
