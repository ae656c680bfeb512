"""Credentials for sync servers: a POS of the main server may poll and ping
a sync server for its own channels, and nobody else may.

Both servers hold the same system parameter ``pos_longpolling.sync_secret``.
The main server gives a POS user a credential for one POS of its database
(``longpolling_sync_credential``); the sync server lets a poll or a PING
carrying it through for that POS's channels only
(``_longpolling_check_sync``). The credential is
``v1.<payload>.<signature>``: the payload is base64url JSON
``{"db", "pos", "exp"}`` (exp: Unix seconds), the signature base64url
HMAC-SHA256 of ``"pos_longpolling.sync.v1." + payload`` with the secret.
The secret never leaves the servers.

A refusal is an ``AccessError`` whose ``context`` has a machine-readable
``pos_longpolling_refusal`` (``REASONS``), so a POS can say why and fetch a
new credential when it may help.
"""
import base64
import binascii
import hashlib
import hmac
import json
import time

from odoo import _, api, models
from odoo.exceptions import AccessError, ValidationError

from .pos_config import is_db_name, is_pos_id, parse_pos_channel, short_repr

SECRET_PARAM = "pos_longpolling.sync_secret"
# A shorter secret is no secret: no credential is issued nor accepted.
MIN_SECRET_LENGTH = 16
VERSION = "v1"
SIGNED_PREFIX = b"pos_longpolling.sync.v1."
# Seconds a credential is valid; the POS renews it well before.
LIFETIME = 3600
# What a sync server accepts: no longer-lived credential, nothing bigger.
MAX_LIFETIME = LIFETIME + 300
MAX_CREDENTIAL_LENGTH = 512
REFUSAL_KEY = "pos_longpolling_refusal"
# Why a sync server refuses (the error's context[REFUSAL_KEY]).
REASONS = (
    "no_credential",  # none sent, and the server is not public
    "no_secret",  # the server has no (usable) secret
    "malformed",  # not a credential of this format or size
    "signature",  # signed with another secret, or altered
    "expired",
    "other_pos",  # names another database or POS than asked for
)


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text):
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def _signature(secret, payload):
    return hmac.new(
        secret.encode(), SIGNED_PREFIX + payload.encode(), hashlib.sha256
    ).digest()


def sign(secret, dbname, pos_id, expires):
    """The credential for POS ``pos_id`` of ``dbname`` until ``expires``."""
    claims = {"db": dbname, "pos": pos_id, "exp": int(expires)}
    payload = _b64encode(
        json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    )
    return "%s.%s.%s" % (VERSION, payload, _b64encode(_signature(secret, payload)))


class CredentialRefused(Exception):
    """``reason``: one of ``REASONS``."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def verify(secret, credential, now=None):
    """``(db, pos id)`` that ``credential`` names, else ``CredentialRefused``."""
    if not isinstance(credential, str) or len(credential) > MAX_CREDENTIAL_LENGTH:
        raise CredentialRefused("malformed")
    parts = credential.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise CredentialRefused("malformed")
    _version, payload, signature = parts
    try:
        signature = _b64decode(signature)
    except (binascii.Error, ValueError):
        raise CredentialRefused("malformed") from None
    # Checked before the payload is read: nothing unsigned is parsed.
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise CredentialRefused("signature")
    try:
        claims = json.loads(_b64decode(payload))
        dbname, pos_id, expires = claims["db"], claims["pos"], claims["exp"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise CredentialRefused("malformed") from None
    if (
        not is_db_name(dbname)
        or not is_pos_id(pos_id)
        or not isinstance(expires, int)
        or isinstance(expires, bool)
    ):
        raise CredentialRefused("malformed")
    now = time.time() if now is None else now
    if expires <= now:
        raise CredentialRefused("expired")
    if expires > now + MAX_LIFETIME:
        raise CredentialRefused("malformed")
    return dbname, pos_id


class PosConfig(models.Model):
    _inherit = "pos.config"

    @api.model
    def _longpolling_sync_secret(self):
        """The secret shared with sync servers, or ``None``."""
        secret = self.env["ir.config_parameter"].sudo().get_param(SECRET_PARAM)
        secret = (secret or "").strip()
        return secret if len(secret) >= MIN_SECRET_LENGTH else None

    def longpolling_sync_credential(self):
        """For the POS client: ``{credential, expires_in}`` (seconds) for
        this POS's channels on sync servers, or ``False`` when this server
        has no secret (sync servers then need ``allow_public``). Only a user
        who may use this POS gets one."""
        if len(self) != 1:
            raise ValidationError(
                _("POS longpolling: a sync credential is for one POS, not %s.")
                % short_repr(self.ids)
            )
        config = self.sudo(False)
        config.check_access_rights("read")
        config.check_access_rule("read")
        secret = self._longpolling_sync_secret()
        if not secret:
            return False
        expires = int(time.time()) + LIFETIME
        return {
            "credential": sign(secret, self.env.cr.dbname, self.id, expires),
            "expires_in": LIFETIME,
        }

    @api.model
    def _longpolling_check_sync(self, credential, targets):
        """Whether a poll or PING for ``targets`` (``_longpolling_sync_
        targets``) is let through by ``credential``: ``True``; ``False``
        when the usual checks decide (``allow_public``, or nothing to check
        here); else ``AccessError``. A server with a secret refuses a POS
        of another database without a credential."""
        if self._longpolling_allow_public():
            return False
        dbname = self.env.cr.dbname
        secret = self._longpolling_sync_secret()
        if credential is None and (
            not secret or not any(t and t[0] != dbname for t in targets)
        ):
            return False
        try:
            if credential is None:
                raise CredentialRefused("no_credential")
            if not secret:
                raise CredentialRefused("no_secret")
            named = verify(secret, credential)
            if not targets or any(target != named for target in targets):
                raise CredentialRefused("other_pos")
        except CredentialRefused as refused:
            raise self._longpolling_refusal(refused.reason) from None
        return True

    @api.model
    def _longpolling_refusal(self, reason):
        messages = {
            "no_credential": _(
                "POS longpolling: this sync server lets only POSes with a "
                "credential listen: set the same pos_longpolling.sync_secret "
                "on the POS's server and on this one."
            ),
            "no_secret": _(
                "POS longpolling: this sync server has no "
                "pos_longpolling.sync_secret (of at least 16 characters): set "
                "the same one as on the POS's server."
            ),
            "malformed": _("POS longpolling: the sync credential is malformed."),
            "signature": _(
                "POS longpolling: the sync credential was signed with another "
                "secret: pos_longpolling.sync_secret differs between the POS's "
                "server and this one."
            ),
            "expired": _("POS longpolling: the sync credential has expired."),
            "other_pos": _(
                "POS longpolling: the sync credential is for another database "
                "or POS."
            ),
        }
        error = AccessError(messages[reason])
        error.context = {REFUSAL_KEY: reason}
        return error

    @api.model
    def _longpolling_sync_targets(self, channels):
        """``{(db, pos id)}`` of the POS channels among ``channels``; a
        channel that is not a POS channel is ``None``."""
        targets = set()
        for channel in channels:
            parsed = parse_pos_channel(channel)
            targets.add(parsed and (parsed[0], parsed[2]))
        return targets
