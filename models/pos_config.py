"""Messages from the backend to open POS screens, over Odoo's longpolling bus.

A POS listens on one bus channel per channel name it subscribes to, named as
upstream did: ``["<db>","<channel name>","<pos id>"]``. Odoo 15 answers a
poll without the channel, so each notification's *type* is the bare channel
name and the POS client routes by type. The POS answers a PING on
``/pos_longpolling/update`` with "PONG" on its ``pos.longpolling`` channel.
A poll whose ``last`` is older than a notification of its POS that the bus
has deleted gets first a notification of type ``pos.longpolling/gap``.

Channels are strings, which Odoo 15 lets anyone poll: the poll controller
lets only users who may use the POS listen (see
``_check_longpolling_channels``), or, on a sync server, POSes with a
credential of the main server (``sync_credential.py``), unless
``pos_longpolling.allow_public`` is set for a public sync server.
"""
import datetime
import functools
import json
import logging
import re
import reprlib
import sys

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.tools import date_utils
from odoo.tools.func import lazy

_logger = logging.getLogger(__name__)

PING_CHANNEL = "pos.longpolling"
GAP_TYPE = "pos.longpolling/gap"
ALLOW_PUBLIC_PARAM = "pos_longpolling.allow_public"
# A channel of these bounds always fits one NOTIFY payload (8,000 bytes).
MAX_CHANNEL_NAME = 200
MAX_DB_NAME = 63  # PostgreSQL's own limit, in bytes
MAX_POS_ID = 2**31 - 1
# What a client may ask of one poll.
MAX_POLL_CHANNELS = 100
MAX_POLL_CHANNEL_LENGTH = 512
MAX_POLL_OPTIONS = 10
MAX_NOTIFICATION_ID = 2**63 - 1
# Seconds (pos.config's timeouts).
MAX_SILENCE_BOUNDS = (10, 3600)
PONG_TIMEOUT_BOUNDS = (2, 120)

short_repr = reprlib.Repr()
short_repr.maxstring = short_repr.maxother = 60
short_repr = short_repr.repr


def _json_default(value):
    # What the bus itself turns into JSON on purpose; anything else would be
    # silently sent as its str() by the bus.
    if isinstance(value, (datetime.date, lazy)):
        return date_utils.json_default(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def check_message(channel_name, message):
    """Raise ``ValueError`` unless ``channel_name`` and ``message`` can be sent."""
    if (
        not isinstance(channel_name, str)
        or not channel_name
        or len(channel_name) > MAX_CHANNEL_NAME
    ):
        raise ValueError(
            "pos_longpolling: the channel name must be a string of 1 to %d "
            "characters, not %s" % (MAX_CHANNEL_NAME, short_repr(channel_name))
        )
    try:
        json.dumps(message, default=_json_default)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "pos_longpolling: the message for channel %r cannot be sent as JSON: %s"
            % (channel_name, error)
        ) from None


def is_int(value, low, high):
    """Whether ``value`` is an integer (not a boolean) in ``[low, high]``."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    )


def is_pos_id(value):
    return is_int(value, 1, MAX_POS_ID)


def is_db_name(value):
    return isinstance(value, str) and 0 < len(value.encode()) <= MAX_DB_NAME


# ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses.
POS_ID_TEXT = re.compile(r"[1-9][0-9]{0,9}\Z")


def parse_pos_id(text):
    """The POS id written ``text`` (as ``str(pos_id)``), else ``None``."""
    if isinstance(text, str) and POS_ID_TEXT.match(text):
        pos_id = int(text)
        if pos_id <= MAX_POS_ID:
            return pos_id
    return None


def parse_pos_channel(channel):
    """``(db, channel name, pos id)`` of a POS channel string, else ``None``."""
    if (
        not isinstance(channel, str)
        or not channel.startswith("[")
        or len(channel) > MAX_POLL_CHANNEL_LENGTH
    ):
        return None
    return _parse_pos_channel(channel)


# A POS names the same channels at every poll: parsed once per process
# (16,384 channels of at most 512 characters: 8 MB at most).
@functools.lru_cache(maxsize=16384)
def _parse_pos_channel(channel):
    try:
        parts = json.loads(channel)
    except (ValueError, RecursionError):
        return None
    if (
        isinstance(parts, list)
        and len(parts) == 3
        and all(isinstance(part, str) for part in parts)
    ):
        pos_id = parse_pos_id(parts[2])
        if pos_id is not None:
            return parts[0], parts[1], pos_id
    return None


def called_through_rpc(method_name):
    """Whether the outermost of the ``method_name`` calls running now (an
    override calling ``super()`` is one of them) was called by Odoo's RPC
    dispatch: web's ``call_kw`` and ``call_button``, XML-RPC and JSON-RPC
    ``execute_kw`` all call a model's method from ``odoo.api._call_kw_model``
    or ``_call_kw_multi``, and nothing else calls it from there."""
    entry_points = (api._call_kw_model.__code__, api._call_kw_multi.__code__)
    caller = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == method_name:
            caller = frame.f_back
        frame = frame.f_back
    return caller is not None and caller.f_code in entry_points


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
        "POS pings the server to check the connection (10 to 3600).",
    )
    longpolling_pong_timeout = fields.Float(
        "Timeout to get Response",
        default=10,
        help="Seconds the POS waits for the server's answer to a ping before "
        "it shows the connection as offline (2 to 120).",
    )

    @api.constrains("longpolling_max_silence_timeout", "longpolling_pong_timeout")
    def _check_longpolling_timeouts(self):
        (silence_min, silence_max), (pong_min, pong_max) = (
            MAX_SILENCE_BOUNDS,
            PONG_TIMEOUT_BOUNDS,
        )
        for config in self:
            if not (
                silence_min <= config.longpolling_max_silence_timeout <= silence_max
                and pong_min <= config.longpolling_pong_timeout <= pong_max
            ):
                raise ValidationError(
                    _(
                        "Longpolling: the timeout of no communication must be "
                        "%(silence_min)s to %(silence_max)s seconds, the timeout "
                        "to get a response %(pong_min)s to %(pong_max)s seconds."
                    )
                    % {
                        "silence_min": silence_min,
                        "silence_max": silence_max,
                        "pong_min": pong_min,
                        "pong_max": pong_max,
                    }
                )

    # Sending

    @api.model
    def send_to_all_poses(self, channel_name, data):
        """Send ``data`` on ``channel_name`` to every POS with an open
        session of the companies the user works in (``env.companies``).

        Server code may call it as any user, with or without Point of Sale
        rights (an employee who edits a partner). Called directly through
        RPC, only a Point of Sale manager may: Odoo 15 lets any user call a
        public model method over RPC and has no decorator against it, so
        the call's origin is read from the stack (``called_through_rpc``).
        """
        if called_through_rpc("send_to_all_poses") and not self.env.user.has_group(
            "point_of_sale.group_pos_manager"
        ):
            raise AccessError(
                _(
                    "POS longpolling: only a Point of Sale manager may send to "
                    "all POSes through RPC."
                )
            )
        configs = self.sudo().search([("company_id", "in", self.env.companies.ids)])
        return configs._send_to_channel(channel_name, data)

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
            self.env["bus.bus"].sudo()._sendmany(notifications)
        _logger.debug(
            "pos_longpolling: %r sent to %d POS(es)", channel_name, len(notifications)
        )
        return 1

    @api.model
    def _send_to_channel_by_id(self, dbname, pos_id, channel_name, message="PONG"):
        """Send ``message`` to POS ``pos_id`` of database ``dbname``, open
        session or not. Returns 1 (as upstream)."""
        check_message(channel_name, message)
        if not is_db_name(dbname) or not is_pos_id(pos_id):
            raise ValueError(
                "pos_longpolling: no POS channel for database %s and POS id %s"
                % (short_repr(dbname), short_repr(pos_id))
            )
        channel = self._get_full_channel_name_by_id(dbname, pos_id, channel_name)
        self.env["bus.bus"].sudo()._sendmany([(channel, channel_name, message)])
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
        """Raise unless the current user (never superuser mode) may use
        every POS in ``pos_ids``. Asked afresh at every poll: rights, record
        rules and archived POSes apply at once, in every process."""
        configs = self.sudo(False)
        pos_ids = set(pos_ids)
        if not pos_ids or configs._longpolling_allow_public():
            return
        if not configs.check_access_rights("read", raise_exception=False):
            raise AccessError(
                _(
                    "POS longpolling: log in as a user of the Point of Sale "
                    "to listen to or ping a POS."
                )
            )
        missing = pos_ids - set(configs.search([("id", "in", list(pos_ids))]).ids)
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
    def _check_longpolling_channels(self, channels, last=0):
        """Raise ``AccessError`` if ``channels`` (what a client asks to poll)
        holds a POS channel the current user may not listen to. Returns the
        id of the newest notification of these POSes that the bus deleted
        after ``last`` (0 if none: nothing was missed)."""
        pos_ids = self._longpolling_pos_ids(channels)
        try:
            self._longpolling_check_pos_ids(pos_ids)
        except MissingError as error:
            raise AccessError(error.args[0]) from None
        if not last or not pos_ids:
            return 0
        newest = max(self._longpolling_deleted_ids(pos_ids).values())
        return newest if newest > last else 0

    @api.model
    def _check_longpolling_polls(self, polls):
        """``[self._check_longpolling_channels(channels, last) for channels,
        last in polls]``, with one check of rights and one query for all
        when the user may listen to every POS they name. Where a poll may
        not, each poll's own answer: its result, or the exception raised."""
        try:
            pos_ids = [self._longpolling_pos_ids(channels) for channels, _l in polls]
            self._longpolling_check_pos_ids(set().union(*pos_ids))
        except (AccessError, MissingError):
            return [self._try_check_longpolling_channels(*poll) for poll in polls]
        later = set().union(*(ids for ids, (_c, last) in zip(pos_ids, polls) if last))
        deleted = self._longpolling_deleted_ids(later) if later else {}
        results = []
        for ids, (_channels, last) in zip(pos_ids, polls):
            newest = max((deleted.get(pos_id, 0) for pos_id in ids), default=0)
            results.append(newest if last and newest > last else 0)
        return results

    def _try_check_longpolling_channels(self, channels, last):
        try:
            return self._check_longpolling_channels(channels, last)
        except AccessError as error:
            return error

    @api.model
    def _longpolling_pos_ids(self, channels):
        """The POS ids of this database among ``channels``; raise
        ``AccessError`` for a POS channel of another database (unless
        ``pos_longpolling.allow_public``)."""
        dbname = self.env.cr.dbname
        pos_ids = set()
        for channel in channels:
            parsed = parse_pos_channel(channel)
            if not parsed:
                continue
            if parsed[0] != dbname and not self._longpolling_allow_public():
                raise AccessError(
                    _("POS longpolling: channel %s is not of this database.")
                    % short_repr(channel)
                )
            if parsed[0] == dbname:
                pos_ids.add(parsed[2])
        return pos_ids

    @api.model
    def _longpolling_deleted_ids(self, pos_ids):
        """``{pos id: id of its newest deleted notification}`` (0 if none),
        never beyond the bus's newest notification id."""
        deleted = self.env["pos.longpolling.gap"].sudo()._deleted_ids(pos_ids)
        return {pos_id: deleted.get(pos_id, 0) for pos_id in pos_ids}

    @api.model
    def _longpolling_note_deleted(self, notification_ids):
        """Remember, per POS of this database, the newest of its
        notifications among ``notification_ids`` (bus rows being deleted)."""
        if not notification_ids:
            return
        self.env.cr.execute(
            "SELECT channel, max(id) FROM bus_bus WHERE id IN %s GROUP BY channel",
            (tuple(notification_ids),),
        )
        newest = {}
        dbname = self.env.cr.dbname
        for channel, notification_id in self.env.cr.fetchall():
            try:
                db, channel = json.loads(channel)
            except (TypeError, ValueError):
                continue
            parsed = db == dbname and parse_pos_channel(channel)
            if parsed and parsed[0] == dbname:
                pos_id = parsed[2]
                newest[pos_id] = max(newest.get(pos_id, 0), notification_id)
        self.env["pos.longpolling.gap"].sudo()._note(newest)

    @api.model
    def _longpolling_answer_ping(self, pos_id, message, db_name=None, credential=None):
        """Answer a client's PING with a PONG on the POS's ping channel
        (``credential``: of a POS pinging a sync server)."""
        if message != "PING":
            raise ValidationError(
                _('POS longpolling: the message must be "PING", not %s.')
                % short_repr(message)
            )
        if isinstance(pos_id, str) and parse_pos_id(pos_id) is not None:
            pos_id = parse_pos_id(pos_id)
        if not is_pos_id(pos_id):
            raise ValidationError(
                _("POS longpolling: pos_id must be a POS id, not %s.")
                % short_repr(pos_id)
            )
        dbname = self.env.cr.dbname
        if db_name is not None and not is_db_name(db_name):
            raise ValidationError(
                _(
                    "POS longpolling: db_name must be a database name "
                    "(at most %(max)s bytes), not %(value)s."
                )
                % {"max": MAX_DB_NAME, "value": short_repr(db_name)}
            )
        target = (db_name or dbname, pos_id)
        if self._longpolling_check_sync(credential, {target}):
            return self.sudo()._send_to_channel_by_id(*target, PING_CHANNEL, "PONG")
        if db_name and db_name != dbname:
            # A public sync server relays POSes of other databases.
            if not self._longpolling_allow_public():
                raise ValidationError(
                    _("POS longpolling: db_name %s is not this server's database.")
                    % short_repr(db_name)
                )
            dbname = db_name
        else:
            self._longpolling_check_pos_ids([pos_id])
            if not self.sudo().browse(pos_id).exists():
                raise MissingError(
                    _("POS longpolling: there is no POS with id %s.") % pos_id
                )
        return self.sudo()._send_to_channel_by_id(dbname, pos_id, PING_CHANNEL, "PONG")
