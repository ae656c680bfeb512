import datetime
from unittest.mock import patch

from odoo import fields
from odoo.sql_db import PoolError
from odoo.tests import HttpCase, tagged

from ..models import contact_recorder
from ..models.contact_recorder import MAX_SCREENS, ContactRecorder, contacts
from .common import PosLongpollingCase, json_rpc


@tagged("post_install", "-at_install")
class TestConnection(PosLongpollingCase):
    """Last contacts: kept in memory, written in one statement, aggregated
    on ``pos.config``."""

    def setUp(self):
        super().setUp()
        self.Contact = self.env["pos.longpolling.contact"]
        self.recorder = ContactRecorder()

    def write_contacts(self, contacts_):
        before = self.env.cr.sql_log_count
        self.Contact._write_contacts(contacts_)
        return self.env.cr.sql_log_count - before

    def test_many_poses_in_one_statement(self):
        poses = self.pos_a | self.pos_b | self.pos_closed
        for index in range(MAX_SCREENS):
            self.recorder.note(self.dbname, poses.ids, "screen%d" % index)
        noted = self.recorder.take(self.dbname)
        self.assertEqual(len(noted), 3 * MAX_SCREENS)
        self.assertEqual(self.write_contacts(noted), 1)
        self.assertEqual(
            self.Contact.search_count([("config_id", "in", poses.ids)]),
            3 * MAX_SCREENS,
        )
        self.assertEqual(poses.mapped("longpolling_screen_count"), [MAX_SCREENS] * 3)

    def test_screens_a_client_makes_up_stay_few(self):
        """Past MAX_SCREENS new screens of a POS between two writes, a new
        one is not noted; those noted are, and the next write's count starts
        again."""
        for index in range(MAX_SCREENS + 50):
            self.recorder.note(self.dbname, self.pos_a.ids, "made-up%d" % index)
        self.recorder.note(self.dbname, self.pos_a.ids, "made-up0")
        self.recorder.note(self.dbname, self.pos_b.ids, "other")
        noted = self.recorder.take(self.dbname)
        self.assertEqual(len(noted), MAX_SCREENS + 1)
        self.assertIn((self.pos_a.id, "made-up0"), noted)
        self.assertNotIn((self.pos_a.id, "made-up%d" % MAX_SCREENS), noted)
        self.recorder.note(self.dbname, self.pos_a.ids, "next")
        self.assertEqual(
            list(self.recorder.take(self.dbname)), [(self.pos_a.id, "next")]
        )

    def test_nothing_noted_nothing_written(self):
        self.assertEqual(self.recorder.take(self.dbname), {})
        self.assertEqual(self.write_contacts({}), 0)
        # Taken once: the next flush has nothing.
        self.recorder.note(self.dbname, self.pos_a.ids, "s1")
        self.assertTrue(self.recorder.take(self.dbname))
        self.assertEqual(self.recorder.take(self.dbname), {})

    def test_a_failed_write_keeps_its_contacts(self):
        """The database refuses the write (a full pool, a restart): what was
        noted is written by the next flush, with the newest time."""
        self.recorder.note(self.dbname, self.pos_a.ids, "s1")
        self.recorder.note(self.dbname, self.pos_b.ids, "s1")
        key = (self.pos_a.id, "s1")
        newer = self.recorder.pending[self.dbname][key] + datetime.timedelta(1)
        # Not written for longer than 10 minutes: dropped.
        old = fields.Datetime.now() - datetime.timedelta(minutes=11)
        self.recorder._add(self.dbname, [((self.pos_closed.id, "s1"), old)])

        def full(dbname):
            self.recorder._add(self.dbname, [(key, newer)])  # noted meanwhile
            raise PoolError("The Connection Pool Is Full")

        with patch.object(contact_recorder.odoo, "registry", full), self.assertLogs(
            contact_recorder.__name__, "WARNING"
        ) as logs:
            self.recorder.flush()
        self.assertIn("3 screen(s) not written (kept", logs.output[0])
        kept = self.recorder.take(self.dbname)
        self.assertEqual(set(kept), {(self.pos_a.id, "s1"), (self.pos_b.id, "s1")})
        self.assertEqual(kept[key], newer)

    def test_a_newer_contact_stays(self):
        now = fields.Datetime.now()
        self.write_contacts({(self.pos_a.id, "s1"): now})
        self.write_contacts(
            {(self.pos_a.id, "s1"): now - datetime.timedelta(minutes=5)}
        )
        self.assertEqual(self.pos_a.longpolling_last_contact, now)

    def test_a_deleted_pos_is_skipped(self):
        self.assertEqual(
            self.write_contacts(
                {
                    (self.pos_a.id, "s1"): fields.Datetime.now(),
                    (2**31 - 1, "s1"): fields.Datetime.now(),
                }
            ),
            1,
        )
        written = self.Contact.search([("screen", "=", "s1")])
        self.assertEqual(written.config_id, self.pos_a)

    def test_two_minute_bound(self):
        now = fields.Datetime.now()
        self.write_contacts(
            {
                (self.pos_a.id, "in1"): now - datetime.timedelta(seconds=110),
                (self.pos_a.id, "in2"): now - datetime.timedelta(seconds=5),
                (self.pos_a.id, "out"): now - datetime.timedelta(seconds=130),
                (self.pos_b.id, "out"): now - datetime.timedelta(seconds=130),
            }
        )
        self.assertEqual(self.pos_a.longpolling_screen_count, 2)
        self.assertTrue(self.pos_a.longpolling_connected)
        self.assertEqual(
            self.pos_a.longpolling_connection_state, "Connected (2 screens)"
        )
        self.assertEqual(self.pos_b.longpolling_screen_count, 0)
        self.assertFalse(self.pos_b.longpolling_connected)
        self.assertEqual(
            self.pos_b.longpolling_last_contact, now - datetime.timedelta(seconds=130)
        )
        self.assertRegex(
            self.pos_b.longpolling_connection_state, "^Not connected since "
        )
        # A POS without an open session has no state to show.
        self.assertFalse(self.pos_closed.longpolling_connection_state)
        self.assertFalse(self.pos_closed.longpolling_last_contact)

    def test_one_screen_reads_connected(self):
        self.write_contacts({(self.pos_a.id, ""): fields.Datetime.now()})
        self.assertEqual(self.pos_a.longpolling_connection_state, "Connected")

    def test_only_managers_read_contacts(self):
        cashier = self.env["res.users"].create(
            {
                "name": "LP contact cashier",
                "login": "lp_contact_cashier",
                "groups_id": [
                    (6, 0, [self.env.ref("point_of_sale.group_pos_user").id])
                ],
            }
        )
        Contact = self.Contact.with_user(cashier)
        self.assertFalse(Contact.check_access_rights("read", raise_exception=False))


@tagged("post_install", "-at_install")
class TestConnectionHttp(HttpCase):
    """Polls and pings note the screen answered; malformed screen ids are
    refused."""

    def setUp(self):
        super().setUp()
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.dbname = self.env.cr.dbname
        contacts.take(self.dbname)

    def test_ping_notes_its_screen(self):
        self.authenticate("admin", "admin")
        answer = json_rpc(
            self,
            "/pos_longpolling/update",
            {"pos_id": self.pos.id, "message": "PING", "screen": "tab-1"},
        )
        self.assertEqual(answer["result"], 1)
        self.assertEqual(list(contacts.take(self.dbname)), [(self.pos.id, "tab-1")])

    def test_refused_ping_notes_nothing(self):
        for params in (
            {"pos_id": self.pos.id, "message": "PING", "screen": "x" * 65},
            {"pos_id": self.pos.id, "message": "PING", "screen": "a b"},
            {"pos_id": self.pos.id, "message": "PING", "screen": 5},
        ):
            self.authenticate("admin", "admin")
            with self.assertLogs("odoo.http", level="WARNING") as logs:
                answer = json_rpc(self, "/pos_longpolling/update", params)
            self.assertIn("screen", answer["error"]["data"]["message"])
            self.assertEqual(len(logs.records), 1)
        # Not logged in: refused, nothing noted.
        self.authenticate(None, None)
        with self.assertLogs("odoo.http", level="WARNING"):
            answer = json_rpc(
                self,
                "/pos_longpolling/update",
                {"pos_id": self.pos.id, "message": "PING", "screen": "tab-3"},
            )
        self.assertIn("error", answer)
        self.assertEqual(contacts.take(self.dbname), {})

    def test_malformed_screen_option_is_refused(self):
        self.authenticate("admin", "admin")
        channel = self.pos._get_full_channel_name("pos.longpolling")
        with self.assertLogs("odoo.http", level="WARNING") as logs:
            answer = json_rpc(
                self,
                "/longpolling/poll",
                {"channels": [channel], "last": 0, "options": {"screen": ["x"]}},
            )
        self.assertIn("options", answer["error"]["data"]["message"])
        self.assertEqual(len(logs.records), 1)
        self.assertEqual(contacts.take(self.dbname), {})
