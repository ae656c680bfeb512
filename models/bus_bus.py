"""The bus, for POS notifications: one INSERT and one NOTIFY per send.

Odoo's ``_sendmany`` creates one row per statement and NOTIFYs every
channel, split into payloads of 8,000 bytes: a send to 1,000 POSes costs
1,000 INSERTs and 16 NOTIFYs. When every notification of a send is for a
POS channel of this database, ``_sendmany`` here writes the same rows with
one ``INSERT … SELECT FROM unnest`` and sends one NOTIFY: of the POS
channels when they fit one payload, else of one *wake channel* per channel
name (``wake_channel``), to which every POS poll of that name also listens
(``patches/bus_dispatch``). It keeps Odoo's path when another module
extends ``bus.bus``'s ``_sendmany`` or ``create``, which it would bypass.
"""
import datetime
import json

from psycopg2 import sql

import odoo
from odoo import api, models
from odoo.tools.misc import DEFAULT_SERVER_DATETIME_FORMAT

from odoo.addons.bus.models import bus
from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .pos_config import parse_pos_channel

WAKE_PREFIX = "pos_longpolling/wake:"


def wake_channel(channel_name):
    """The channel every POS poll naming ``channel_name`` also listens to."""
    return WAKE_PREFIX + channel_name


def bus_timeout_ago():
    """What ``bus.bus._poll`` reads of a first poll: the last 50 s."""
    ago = datetime.datetime.utcnow() - datetime.timedelta(seconds=bus.TIMEOUT)
    return ago.strftime(DEFAULT_SERVER_DATETIME_FORMAT)


def _extends_bus(model_class):
    attrs = model_class.__dict__
    inherit = attrs.get("_inherit") or ()
    inherit = [inherit] if isinstance(inherit, str) else inherit
    return attrs.get("_name") == "bus.bus" or "bus.bus" in inherit


class BusBus(models.Model):
    _inherit = "bus.bus"

    @api.model
    def _sendmany(self, notifications):
        notifications = list(notifications)
        dbname = self.env.cr.dbname
        parsed = [parse_pos_channel(target) for target, _type, _msg in notifications]
        if (
            not notifications
            or not all(p and p[0] == dbname for p in parsed)
            or not self._sends_as_odoo()
        ):
            return super()._sendmany(notifications)
        channels, messages, dumped = [], [], {}
        for target, notification_type, message in notifications:
            channels.append(json_dump(channel_with_db(dbname, target)))
            # A send to many POSes carries one message object: dumped once.
            key = (notification_type, id(message))
            if key not in dumped:
                dumped[key] = json_dump({"type": notification_type, "payload": message})
            messages.append(dumped[key])
        self.env.cr.execute(
            "INSERT INTO bus_bus (channel, message, create_uid, write_uid,"
            " create_date, write_date)"
            " SELECT channel, message, %(uid)s, %(uid)s,"
            " now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'"
            " FROM unnest(%(channels)s::varchar[], %(messages)s::varchar[])"
            " WITH ORDINALITY AS row(channel, message, position) ORDER BY position",
            {"uid": self.env.uid, "channels": channels, "messages": messages},
        )
        targets = [channel_with_db(dbname, t) for t, _type, _msg in notifications]
        targets = list(dict.fromkeys(targets))
        if len(bus.get_notify_payloads(targets)) > 1:
            names = dict.fromkeys(p[1] for p in parsed)
            targets = [channel_with_db(dbname, wake_channel(n)) for n in names]
        self._notify_after_commit(targets)

    @api.model
    def _notify_after_commit(self, channels):
        """NOTIFY ``channels`` once the transaction is committed, as Odoo's
        ``_sendmany`` does (``ODOO_NOTIFY_FUNCTION`` included)."""

        @self.env.cr.postcommit.add
        def notify():
            with odoo.sql_db.db_connect("postgres").cursor() as cr:
                query = "NOTIFY imbus, %s"
                if bus.ODOO_NOTIFY_FUNCTION:
                    query = sql.SQL("SELECT {}('imbus', %s)").format(
                        sql.Identifier(bus.ODOO_NOTIFY_FUNCTION)
                    )
                for payload in bus.get_notify_payloads(channels):
                    cr.execute(query, (payload,))

    @classmethod
    def _sends_as_odoo(cls):
        """Whether ``_sendmany`` below this class is bus's own and no other
        extension of ``bus.bus`` has ``create``: then writing the rows by
        SQL bypasses no one (extensions of every model, ``base``'s, are not
        asked, as for any SQL of Odoo's own)."""
        if "_lp_sends_as_odoo" not in cls.__dict__:
            mro = cls.__mro__
            below = mro[mro.index(BusBus) + 1 :]
            sendmany = next(k for k in below if "_sendmany" in k.__dict__)
            cls._lp_sends_as_odoo = sendmany is bus.ImBus and not any(
                "create" in k.__dict__ or "_create" in k.__dict__
                for k in mro
                if _extends_bus(k)
            )
        return cls._lp_sends_as_odoo

    @api.model
    def _poll_batch(self, polls):
        """``[self._poll(channels, last) for channels, last in polls]``, with
        one query for all first polls (``last`` 0: what the bus keeps of the
        last 50 s) and one for all others (a module that overrides ``_poll``
        overrides this too). Each notification comes once per poll, whatever
        the poll names twice."""
        dbname = self.env.cr.dbname
        dumped = {}  # many polls name the same channels (wake channels)

        def key(channel):
            if channel not in dumped:
                dumped[channel] = json_dump(channel_with_db(dbname, channel))
            return dumped[channel]

        keys = [{key(c) for c in channels} for channels, _last in polls]
        results = [None] * len(polls)
        messages = {}
        first = [index for index, (_c, last) in enumerate(polls) if not last]
        later = [index for index, (_c, last) in enumerate(polls) if last]
        # What _poll's search_read reads, by SQL: the ORM costs more than
        # the query for a thousand rows.
        for indexes, where, value in (
            (first, "create_date > %s", bus_timeout_ago()),
            (later, "id > %s", min([polls[index][1] for index in later] or [0])),
        ):
            if not indexes:
                continue
            self.env.cr.execute(
                "SELECT id, channel, message FROM bus_bus"
                " WHERE %s AND channel IN %%s ORDER BY id" % where,
                (value, tuple(set().union(*(keys[index] for index in indexes)))),
            )
            by_channel = {}
            for row in self.env.cr.dictfetchall():
                by_channel.setdefault(row["channel"], []).append(row)
            for index in indexes:
                last = polls[index][1]
                rows = [
                    row
                    for channel in keys[index]
                    for row in by_channel.get(channel, ())
                    if row["id"] > last
                ]
                results[index] = [
                    {"id": row["id"], "message": self._json_message(row, messages)}
                    for row in sorted(rows, key=lambda row: row["id"])
                ]
        return results

    @staticmethod
    def _json_message(row, messages):
        # Parsed once, however many polls and rows have it (a send to many
        # POSes writes the same message in each row); read only.
        if row["message"] not in messages:
            messages[row["message"]] = json.loads(row["message"])
        return messages[row["message"]]

    def unlink(self):
        self.env["pos.config"]._longpolling_note_deleted(self.ids)
        return super().unlink()
