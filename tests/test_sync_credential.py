import json
import time

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import BaseCase

from ..models.pos_config import ALLOW_PUBLIC_PARAM
from ..models.sync_credential import (
    LIFETIME,
    MAX_CREDENTIAL_LENGTH,
    REFUSAL_KEY,
    SECRET_PARAM,
    CredentialRefused,
    sign,
    verify,
)
from .common import json_rpc

SECRET = "lp-sync-secret-0123456789abcdef"
OLD_SECRET = "lp-sync-secret-old-0123456789ab"
# The main server's database and POS, as a sync server sees them.
MAIN_DB = "lp_main_db"
POS_ID = 7


def channel(name, dbname=MAIN_DB, pos_id=POS_ID):
    return json.dumps([dbname, name, str(pos_id)], separators=(",", ":"))


def credential(secret=SECRET, dbname=MAIN_DB, pos_id=POS_ID, expires_in=LIFETIME):
    return sign(secret, dbname, pos_id, time.time() + expires_in)


def tampered(token):
    """``token`` naming POS 8, its signature kept."""
    version, _payload, signature = token.split(".")
    payload = sign("x" * 16, MAIN_DB, 8, time.time() + 60).split(".")[1]
    return ".".join((version, payload, signature))


def resigned(token):
    """``token`` with one byte of its signature changed."""
    version, payload, signature = token.split(".")
    first = "B" if signature[0] == "A" else "A"
    return ".".join((version, payload, first + signature[1:]))


@tagged("post_install", "-at_install")
class TestCredential(BaseCase):
    def test_round_trip(self):
        self.assertEqual(verify(SECRET, credential()), (MAIN_DB, POS_ID))

    def test_refused(self):
        now = time.time()
        cases = [
            (credential(OLD_SECRET), "signature"),
            (tampered(credential()), "signature"),
            (resigned(credential()), "signature"),
            (sign(SECRET, MAIN_DB, POS_ID, now - 1), "expired"),
            # Longer-lived than the main server issues.
            (sign(SECRET, MAIN_DB, POS_ID, now + 10 * LIFETIME), "malformed"),
            (sign(SECRET, MAIN_DB, "7", now + 60), "malformed"),
            (sign(SECRET, "", POS_ID, now + 60), "malformed"),
            (sign(SECRET, MAIN_DB, 0, now + 60), "malformed"),
            ("v1." + "a" * MAX_CREDENTIAL_LENGTH, "malformed"),
            ("v2" + credential()[2:], "malformed"),
            ("v1.x", "malformed"),
            ("v1.x.!!", "malformed"),
            ("", "malformed"),
            (7, "malformed"),
            (["v1", "a", "b"], "malformed"),
        ]
        for token, reason in cases:
            with self.assertRaises(CredentialRefused, msg=token) as caught:
                verify(SECRET, token, now)
            self.assertEqual(caught.exception.reason, reason, token)


class SyncServerCase(HttpCase):
    """This database as a sync server of the POSes of ``MAIN_DB``."""

    def setUp(self):
        super().setUp()
        self.set_param(SECRET_PARAM, SECRET)
        self.dbname = self.env.cr.dbname

    def set_param(self, key, value):
        self.env["ir.config_parameter"].sudo().set_param(key, value)

    def last_bus_id(self):
        return self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def rows_since(self, last):
        rows = self.env["bus.bus"].sudo().search([("id", ">", last)])
        return [(json.loads(r.channel), json.loads(r.message)) for r in rows]

    def assert_refused(self, route, params, reason):
        last = self.last_bus_id()
        with self.assertLogs("odoo.http", "WARNING") as logs:
            answer = json_rpc(self, route, params)
        self.assertNotIn("result", answer)
        error = answer["error"]["data"]
        self.assertEqual(error["name"], "odoo.exceptions.AccessError", params)
        self.assertEqual(error["context"], {REFUSAL_KEY: reason}, params)
        # One warning line, no traceback, nothing written; the secret and
        # the expected signature are nowhere in the answer.
        self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
        self.assertIsNone(logs.records[0].exc_info)
        self.assertEqual(self.rows_since(last), [])
        self.assertNotIn(SECRET, json.dumps(answer))
        self.assertNotIn(OLD_SECRET, json.dumps(answer))

    def refusals(self):
        """(credential, channels of POS_ID, reason), each refused."""
        return [
            (sign(SECRET, MAIN_DB, POS_ID, time.time() - 1), "expired"),
            (tampered(credential()), "signature"),
            (credential(pos_id=POS_ID + 1), "other_pos"),
            (credential(dbname="lp_other_db"), "other_pos"),
            (credential(OLD_SECRET), "signature"),
            (None, "no_credential"),
            ("garbage", "malformed"),
            ("v1." + "a" * 5000, "malformed"),
        ]


@tagged("post_install", "-at_install")
class TestSyncPoll(SyncServerCase):
    """``/longpolling/poll`` of a sync server: a valid credential lets its
    POS's channels through, nothing else."""

    def poll(self, channels, token):
        params = {"channels": channels, "last": 0, "options": {"peek": True}}
        if token is not None:
            params["credential"] = token
        return params

    def assert_through(self, params):
        # Odoo's own answer in test mode: the poll passed every check and
        # would wait in the bus.
        answer = json_rpc(self, "/longpolling/poll", params)
        self.assertIn(
            "not available in test mode", answer["error"]["data"]["message"], answer
        )

    def test_valid_credential_lets_its_pos_channels_through(self):
        token = credential()
        self.assert_through(self.poll([channel("pos.longpolling")], token))
        self.assert_through(
            self.poll([channel("pos.longpolling"), channel("pos_chat")], token)
        )

    def test_only_its_pos_channels(self):
        token = credential()
        for channels in (
            [channel("pos.longpolling", pos_id=POS_ID + 1)],
            [channel("pos.longpolling"), channel("x", pos_id=POS_ID + 1)],
            [channel("pos.longpolling", dbname="lp_other_db")],
            [channel("pos.longpolling", dbname=self.dbname)],
            [channel("pos.longpolling"), "broadcast"],
            [],
        ):
            self.assert_refused(
                "/longpolling/poll", self.poll(channels, token), "other_pos"
            )

    def test_refused_credentials(self):
        for token, reason in self.refusals():
            self.assert_refused(
                "/longpolling/poll", self.poll([channel("x")], token), reason
            )

    def test_a_logged_in_user_needs_one_too(self):
        self.authenticate("admin", "admin")
        self.assert_refused(
            "/longpolling/poll", self.poll([channel("x")], None), "no_credential"
        )

    def test_no_secret_configured(self):
        self.set_param(SECRET_PARAM, "")
        self.assert_refused(
            "/longpolling/poll", self.poll([channel("x")], credential()), "no_secret"
        )
        # A secret too short is none.
        self.set_param(SECRET_PARAM, "short")
        self.assert_refused(
            "/longpolling/poll", self.poll([channel("x")], credential()), "no_secret"
        )
        # Without secret nor credential: refused by the usual check, as
        # before this feature.
        self.set_param(SECRET_PARAM, "")
        with self.assertRaisesRegex(AccessError, "is not of this database"):
            self.env["pos.config"]._check_longpolling_channels([channel("x")])

    def test_old_secret_after_a_change(self):
        token = credential()
        self.assert_through(self.poll([channel("x")], token))
        self.set_param(SECRET_PARAM, OLD_SECRET + "-new")
        self.assert_refused(
            "/longpolling/poll", self.poll([channel("x")], token), "signature"
        )

    def test_allow_public_needs_none(self):
        self.set_param(ALLOW_PUBLIC_PARAM, "1")
        self.assert_through(self.poll([channel("x")], None))
        self.assert_through(self.poll([channel("x")], "anything"))

    def test_a_main_server_s_own_polls_are_unchanged(self):
        # This server's POSes poll with their session, no credential.
        self.authenticate("admin", "admin")
        pos = self.env.ref("point_of_sale.pos_config_main")
        own = pos._get_full_channel_name("pos.longpolling")
        self.assert_through(self.poll([own], None))


@tagged("post_install", "-at_install")
class TestSyncPing(SyncServerCase):
    """``/pos_longpolling/update`` of a sync server: likewise."""

    def ping(self, token, db_name=MAIN_DB, pos_id=POS_ID):
        params = {"pos_id": pos_id, "message": "PING", "db_name": db_name}
        if token is not None:
            params["credential"] = token
        return params

    def test_valid_credential_gets_its_pong(self):
        last = self.last_bus_id()
        answer = json_rpc(self, "/pos_longpolling/update", self.ping(credential()))
        self.assertEqual(answer.get("result"), 1, answer)
        self.assertEqual(
            self.rows_since(last),
            [
                (
                    [self.dbname, channel("pos.longpolling")],
                    {"type": "pos.longpolling", "payload": "PONG"},
                )
            ],
        )

    def test_refused(self):
        route = "/pos_longpolling/update"
        for token, reason in self.refusals():
            self.assert_refused(route, self.ping(token), reason)
        token = credential()
        self.assert_refused(route, self.ping(token, pos_id=POS_ID + 1), "other_pos")
        self.assert_refused(route, self.ping(token, db_name="lp_other"), "other_pos")
        self.assert_refused(route, self.ping(token, db_name=None), "other_pos")
        self.set_param(SECRET_PARAM, "")
        self.assert_refused(route, self.ping(token), "no_secret")


@tagged("post_install", "-at_install")
class TestCredentialRpc(HttpCase):
    """The main server's side: a credential for a POS its user may use."""

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param(SECRET_PARAM, SECRET)
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        company = self.env["res.company"].create({"name": "LP sync company"})
        for login, groups, companies in (
            ("lp_sync_cashier", ["point_of_sale.group_pos_user"], self.env.company),
            ("lp_sync_employee", ["base.group_user"], self.env.company),
            ("lp_sync_other", ["point_of_sale.group_pos_user"], company),
        ):
            self.env["res.users"].create(
                {
                    "name": login,
                    "login": login,
                    "password": login,
                    "company_id": companies.id,
                    "company_ids": [(6, 0, companies.ids)],
                    "groups_id": [(6, 0, [self.env.ref(g).id for g in groups])],
                }
            )

    def ask(self, login, ids=None):
        self.authenticate(login, login)
        return json_rpc(
            self,
            "/web/dataset/call_kw",
            {
                "model": "pos.config",
                "method": "longpolling_sync_credential",
                "args": [[self.pos.id] if ids is None else ids],
                "kwargs": {},
            },
        )

    def test_a_cashier_gets_one_for_the_pos(self):
        answer = self.ask("lp_sync_cashier")["result"]
        self.assertEqual(answer["expires_in"], LIFETIME)
        self.assertEqual(
            verify(SECRET, answer["credential"]), (self.env.cr.dbname, self.pos.id)
        )
        self.assertNotIn(SECRET, json.dumps(answer))

    def test_refused_to_who_may_not_use_the_pos(self):
        for login in ("lp_sync_employee", "lp_sync_other"):
            with self.assertLogs("odoo.http", "WARNING") as logs:
                answer = self.ask(login)
            self.assertNotIn("result", answer, login)
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions.AccessError"
            )
            self.assertEqual([r.levelname for r in logs.records], ["WARNING"])

    def test_one_existing_pos(self):
        for ids, error in (
            ([], "ValidationError"),
            ([self.pos.id, self.pos.id + 1], "ValidationError"),
            ([999999], "MissingError"),
        ):
            with self.assertLogs("odoo.http", "WARNING") as logs:
                answer = self.ask("lp_sync_cashier", ids)
            self.assertNotIn("result", answer, ids)
            self.assertEqual(
                answer["error"]["data"]["name"], "odoo.exceptions." + error, ids
            )
            self.assertEqual([r.levelname for r in logs.records], ["WARNING"])
            self.assertIsNone(logs.records[0].exc_info)

    def test_no_secret_no_credential(self):
        self.env["ir.config_parameter"].sudo().set_param(SECRET_PARAM, "")
        self.assertIs(self.ask("lp_sync_cashier")["result"], False)

    def test_the_secret_is_admin_only(self):
        cashier = self.env["res.users"].search([("login", "=", "lp_sync_cashier")])
        with self.assertRaises(AccessError):
            self.env["ir.config_parameter"].with_user(cashier).search_read(
                [("key", "=", SECRET_PARAM)]
            )
