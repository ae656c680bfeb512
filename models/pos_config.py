"""Messages from the backend to open POS screens, over Odoo's longpolling bus.

A POS listens on one bus channel per channel name it subscribes to, named as
upstream did: ``["<db>","<channel name>","<pos id>"]``. Odoo 15 answers a
poll without the channel, so each notification's *type* is the bare channel
name and the POS client routes by type. The POS answers a PING on
``/pos_longpolling/update`` with "PONG" on its ``pos.longpolling`` channel.

Channels are strings, which Odoo 15 lets anyone poll: the poll controller
lets only users who may use the POS listen (see
``_check_longpolling_channels``), unless ``pos_longpolling.allow_public`` is
set for a public sync server.
"""
import datetime
import json
import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.tools import date_utils
from odoo.tools.func import lazy

_logger = logging.getLogger(__name__)

PING_CHANNEL = "pos.longpolling"
ALLOW_PUBLIC_PARAM = "pos_longpolling.allow_public"


def _json_default(value):
    # What the bus itself turns into JSON on purpose; anything else would be
    # silently sent as its str() by the bus.
    if isinstance(value, (datetime.date, lazy)):
        return date_utils.json_default(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def check_message(channel_name, message):
    """Raise ``ValueError`` unless ``channel_name`` and ``message`` can be sent."""
    if not isinstance(channel_name, str) or not channel_name:
        raise ValueError(
            "pos_longpolling: the channel name must be a non-empty string, not %r"
            % (channel_name,)
        )
    try:
        json.dumps(message, default=_json_default)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "pos_longpolling: the message for channel %r cannot be sent as JSON: %s"
            % (channel_name, error)
        ) from None


def parse_pos_channel(channel):
    """``(db, channel name, pos id)`` of a POS channel string, else ``None``."""
    if not isinstance(channel, str) or not channel.startswith("["):
        return None
    try:
        parts = json.loads(channel)
    except ValueError:
        return None
    if (
        isinstance(parts, list)
        and len(parts) == 3
        and all(isinstance(part, str) for part in parts)
        and parts[2].isdigit()
    ):
        return parts[0], parts[1], int(parts[2])
    return None


class PosConfig(models.Model):
    _inherit = "pos.config"

    autostart_longpolling = fields.Boolean(
        default=True,
        help="Start the POS's longpolling bus when the POS opens. Switch off "
        "when a module starts it itself.",
    )
    longpolling_max_silence_timeout = fields.Float(
        "Timeout of No Communication",
        default=60,
        help="Seconds without any message from the server after which the "
        "POS pings the server to check the connection.",
    )
    longpolling_pong_timeout = fields.Float(
        "Timeout to get Response",
        default=10,
        help="Seconds the POS waits for the server's answer to a ping before "
        "it shows the connection as offline.",
    )

    @api.constrains("longpolling_max_silence_timeout", "longpolling_pong_timeout")
    def _check_longpolling_timeouts(self):
        for config in self:
            if (
                config.longpolling_max_silence_timeout <= 0
                or config.longpolling_pong_timeout <= 0
            ):
                raise ValidationError(_("Longpolling timeouts must be positive."))

    # Sending

    @api.model
    def send_to_all_poses(self, channel_name, data):
        """Send ``data`` on ``channel_name`` to every POS with an open
        session among those the current user can see."""
        return self.search([])._send_to_channel(channel_name, data)

    def _send_to_channel(self, channel_name, message="PONG"):
        """Send ``message`` on ``channel_name`` to the POSes of ``self`` that
        have an open session, in one batch. Returns 1 (as upstream)."""
        check_message(channel_name, message)
        open_configs = (
            self.env["pos.session"]
            .sudo()
            .search([("config_id", "in", self.ids), ("state", "!=", "closed")])
            .config_id
        )
        notifications = [
            (config._get_full_channel_name(channel_name), channel_name, message)
            for config in open_configs
        ]
        if notifications:
            self.env["bus.bus"]._sendmany(notifications)
        _logger.debug(
            "pos_longpolling: %r sent to %d POS(es)", channel_name, len(notifications)
        )
        return 1

    @api.model
    def _send_to_channel_by_id(self, dbname, pos_id, channel_name, message="PONG"):
        """Send ``message`` to POS ``pos_id`` of database ``dbname``, open
        session or not. Returns 1 (as upstream)."""
        check_message(channel_name, message)
        channel = self._get_full_channel_name_by_id(dbname, pos_id, channel_name)
        self.env["bus.bus"]._sendmany([(channel, channel_name, message)])
        return 1

    def _get_full_channel_name(self, channel_name):
        self.ensure_one()
        return self._get_full_channel_name_by_id(
            self.env.cr.dbname, self.id, channel_name
        )

    @api.model
    def _get_full_channel_name_by_id(self, dbname, pos_id, channel_name):
        # Same text as upstream's '["{}","{}","{}"]' and as the client's
        # JSON.stringify, but quotes in names stay valid JSON.
        return json.dumps(
            [dbname, channel_name, str(pos_id)],
            separators=(",", ":"),
            ensure_ascii=False,
        )

    # Who may ping and listen

    @api.model
    def _longpolling_allow_public(self):
        value = self.env["ir.config_parameter"].sudo().get_param(ALLOW_PUBLIC_PARAM)
        return (value or "").strip().lower() in ("1", "true", "yes", "on")

    @api.model
    def _longpolling_check_pos_ids(self, pos_ids):
        """Raise unless the current user may use every POS in ``pos_ids``."""
        pos_ids = set(pos_ids)
        if not pos_ids or self._longpolling_allow_public():
            return
        if not self.check_access_rights("read", raise_exception=False):
            raise AccessError(
                _(
                    "POS longpolling: log in as a user of the Point of Sale "
                    "to listen to or ping a POS."
                )
            )
        missing = pos_ids - set(self._longpolling_visible_pos_ids(frozenset(pos_ids)))
        if not missing:
            return
        existing = set(self.sudo().browse(missing).exists().ids)
        if existing:
            raise AccessError(
                _("POS longpolling: you may not use POS %s.")
                % ", ".join(map(str, sorted(existing)))
            )
        raise MissingError(
            _("POS longpolling: there is no POS with id %s.")
            % ", ".join(map(str, sorted(missing)))
        )

    @api.model
    @tools.ormcache("self.env.uid", "tuple(self.env.companies.ids)", "pos_ids")
    def _longpolling_visible_pos_ids(self, pos_ids):
        # Every poll asks this. Odoo clears the cache when access rights,
        # record rules or groups change; write() below when a POS's
        # company does.
        return tuple(self.search([("id", "in", list(pos_ids))]).ids)

    def write(self, vals):
        if "company_id" in vals:
            self.clear_caches()
        return super().write(vals)

    @api.model
    def _check_longpolling_channels(self, channels):
        """Raise ``AccessError`` if ``channels`` (what a client asks to poll)
        holds a POS channel the current user may not listen to."""
        dbname = self.env.cr.dbname
        pos_ids = set()
        for channel in channels:
            parsed = parse_pos_channel(channel)
            if not parsed:
                continue
            if parsed[0] != dbname and not self._longpolling_allow_public():
                raise AccessError(
                    _("POS longpolling: channel %s is not of this database.") % channel
                )
            if parsed[0] == dbname:
                pos_ids.add(parsed[2])
        try:
            self._longpolling_check_pos_ids(pos_ids)
        except MissingError as error:
            raise AccessError(error.args[0]) from None

    @api.model
    def _longpolling_answer_ping(self, pos_id, message, db_name=None):
        """Answer a client's PING with a PONG on the POS's ping channel."""
        if message != "PING":
            raise ValidationError(
                _('POS longpolling: the message must be "PING", not %r.') % (message,)
            )
        if isinstance(pos_id, str) and pos_id.isdigit():
            pos_id = int(pos_id)
        if isinstance(pos_id, bool) or not isinstance(pos_id, int) or pos_id <= 0:
            raise ValidationError(
                _("POS longpolling: pos_id must be a POS id, not %r.") % (pos_id,)
            )
        dbname = self.env.cr.dbname
        if db_name is not None and not isinstance(db_name, str):
            raise ValidationError(
                _("POS longpolling: db_name must be a string, not %r.") % (db_name,)
            )
        if db_name and db_name != dbname:
            # A public sync server relays POSes of other databases.
            if not self._longpolling_allow_public():
                raise ValidationError(
                    _("POS longpolling: db_name %r is not this server's database.")
                    % db_name
                )
            dbname = db_name
        else:
            self._longpolling_check_pos_ids([pos_id])
            if not self.sudo().browse(pos_id).exists():
                raise MissingError(
                    _("POS longpolling: there is no POS with id %s.") % pos_id
                )
        return self.sudo()._send_to_channel_by_id(dbname, pos_id, PING_CHANNEL, "PONG")
