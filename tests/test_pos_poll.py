import json
from unittest.mock import patch

import gevent

from odoo import http
from odoo.tests import HttpCase, tagged
from odoo.tools import config

from ..patches import pos_poll
from ..patches.batching import Job
from ..patches.bus_dispatch import PosDispatch
from ..patches.pos_poll import ODOOS_PATH, Authorizer, read_poll
from .common import forge_token, poll_environ, set_deleted_id


@tagged("post_install", "-at_install")
class TestPosPollPath(HttpCase):
    """POS polls answered beside Odoo's stack take it only when Odoo's path
    would let them listen; anything else is left to Odoo's path."""

    def setUp(self):
        super().setUp()
        self.dbname = self.env.cr.dbname
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.other_company = self.env["res.company"].create({"name": "LP lean co"})
        self.cashier = self.user("lp_lean_cashier", self.env.company)
        self.foreign = self.user("lp_lean_foreign", self.other_company)
        self.store = http.root.session_store
        self.channels = [
            self.pos._get_full_channel_name(name) for name in ("x", "pos.longpolling")
        ]

    def user(self, login, company):
        return self.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "password": login + "-pw",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, self.env.ref("point_of_sale.group_pos_user").ids)],
            }
        )

    def login(self, user):
        return self.authenticate(user.login, user.login + "-pw").sid

    def environ(self, sid, params=None, body=None, **overrides):
        if params is None:
            params = {"channels": self.channels, "last": 0, "options": {}}
        return poll_environ(sid, params, body, **overrides)

    def check_and_read(self, *polls):
        """What the Authorizer decides for ``polls``, checked together."""
        jobs = [
            Job((poll, PosDispatch.pos_channels(self.dbname, poll.channels)))
            for poll in polls
        ]
        Authorizer.check_and_read(self.env.cr, jobs)
        return [job.result for job in jobs]

    def check(self, *polls):
        """The deleted ids (or ODOOS_PATH) of ``check_and_read``."""
        results = [
            result if result is ODOOS_PATH else result[0]
            for result in self.check_and_read(*polls)
        ]
        return results[0] if len(polls) == 1 else results

    def test_a_long_cookie_header_is_read_but_not_kept(self):
        cached = pos_poll._cached_session_id
        header = "session_id=abc; other=" + "x" * 60000
        size = cached.cache_info().currsize
        self.assertEqual(pos_poll.session_id(header), "abc")
        self.assertEqual(cached.cache_info().currsize, size)
        self.assertEqual(pos_poll.session_id("session_id=def"), "def")
        self.assertEqual(pos_poll.session_id("session_id=def"), "def")
        self.assertGreaterEqual(cached.cache_info().hits, 1)

    def test_a_pos_poll_of_a_pos_user(self):
        sid = self.login(self.cashier)
        environ = self.environ(sid)
        body = environ["wsgi.input"].getvalue()
        poll = read_poll(environ, self.store)
        self.assertEqual(
            (poll.rid, poll.channels, poll.last, poll.options),
            (7, self.channels, 0, {}),
        )
        self.assertEqual(poll.session.uid, self.cashier.id)
        self.assertEqual(poll.context["uid"], self.cashier.id)
        self.assertEqual(environ["wsgi.input"].read(), body, "Odoo may read it")
        self.assertEqual(self.check(poll), 0)

    def test_the_requests_context_as_on_odoos_path(self):
        context = {"lang": "en_US", "allowed_company_ids": [self.env.company.id]}
        params = {"channels": self.channels, "last": 0, "context": context}
        poll = read_poll(self.environ(self.login(self.cashier), params), self.store)
        self.assertEqual(poll.context, context)

    def test_a_poll_that_missed_deleted_notifications(self):
        set_deleted_id(self.env, self.pos, 500)
        params = {"channels": self.channels, "last": 20, "options": {"peek": True}}
        poll = read_poll(self.environ(self.login(self.cashier), params), self.store)
        self.assertEqual(poll.options, {"peek": True})
        self.assertEqual(self.check(poll), 500)

    def test_what_a_poll_let_through_reads(self):
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        send = self.env["pos.config"]._send_to_channel_by_id
        send(self.dbname, self.pos.id, "x", {"n": 1})
        send(self.dbname, self.pos.id, "elsewhere", {"n": 2})
        sid = self.login(self.cashier)
        params = {"channels": self.channels, "last": last}
        poll = read_poll(self.environ(sid, params), self.store)
        ((deleted_id, _newest, notifications),) = self.check_and_read(poll)
        self.assertEqual(deleted_id, 0)
        self.assertEqual(
            [n["message"] for n in notifications],
            [{"type": "x", "payload": {"n": 1}}],
        )
        foreign = read_poll(self.environ(self.login(self.foreign), params), self.store)
        self.assertEqual(self.check_and_read(foreign), [ODOOS_PATH])

    def test_not_a_pos_poll(self):
        sid = self.login(self.cashier)
        other_db = '["another_db","x","%d"]' % self.pos.id
        for what, environ in (
            ("no cookie", self.environ(sid, HTTP_COOKIE="")),
            ("not a session id", self.environ(sid, HTTP_COOKIE="session_id=../x")),
            ("explicit session", self.environ(sid, HTTP_X_OPENERP_SESSION_ID=sid)),
            ("query string", self.environ(sid, QUERY_STRING="session_id=" + sid)),
            ("another route", self.environ(sid, PATH_INFO="/longpolling/pol")),
            ("GET", self.environ(sid, REQUEST_METHOD="GET")),
            ("a form", self.environ(sid, CONTENT_TYPE="text/plain")),
            ("no length", self.environ(sid, CONTENT_LENGTH="")),
            ("too long", self.environ(sid, body=b" " * (pos_poll.MAX_BODY + 1))),
            ("not JSON", self.environ(sid, body=b"{")),
            ("nested too deeply", self.environ(sid, body=b"[" * 60000)),
            ("not an object", self.environ(sid, body=b"[1]")),
            ("params not an object", self.environ(sid, body=b'{"params": [1]}')),
            ("bad last", self.environ(sid, {"channels": self.channels, "last": "5"})),
            (
                "unknown argument",
                self.environ(sid, {"channels": [], "last": 0, "x": 1}),
            ),
            (
                "presence",
                self.environ(
                    sid,
                    {
                        "channels": self.channels,
                        "last": 0,
                        "options": {"bus_inactivity": 3},
                    },
                ),
            ),
            (
                "context",
                self.environ(sid, {"channels": self.channels, "last": 0, "context": 1}),
            ),
            (
                "other channel",
                self.environ(sid, {"channels": ["broadcast"], "last": 0}),
            ),
            ("other database", self.environ(sid, {"channels": [other_db], "last": 0})),
        ):
            with self.subTest(what):
                self.assertIsNone(read_poll(environ, self.store))

    def test_a_logged_out_session(self):
        sid = self.login(self.cashier)
        self.assertIsNotNone(read_poll(self.environ(sid), self.store))
        self.logout()
        self.assertIsNone(read_poll(self.environ(sid), self.store))

    def test_a_session_is_read_again_when_saved(self):
        sid = self.login(self.cashier)
        first = read_poll(self.environ(sid), self.store)
        second = read_poll(self.environ(sid), self.store)
        self.assertIs(second.session, first.session, "unchanged: read once")
        session = self.store.get(sid)
        session.context = dict(session.context, lang="fr_FR")
        self.store.save(session)
        third = read_poll(self.environ(sid), self.store)
        self.assertIsNot(third.session, first.session)
        self.assertEqual(third.context["lang"], "fr_FR")

    def test_a_database_the_dbfilter_rejects(self):
        sid = self.login(self.cashier)
        with patch.dict(config.options, {"dbfilter": "^not_this$"}):
            self.assertIsNone(read_poll(self.environ(sid), self.store))
        self.assertIsNotNone(read_poll(self.environ(sid), self.store))

    def test_a_forged_or_expired_session_token(self):
        poll = read_poll(self.environ(self.login(self.cashier)), self.store)
        forge_token(poll)
        self.assertIs(self.check(poll), ODOOS_PATH)

    def test_a_password_changed_since(self):
        poll = read_poll(self.environ(self.login(self.cashier)), self.store)
        self.assertEqual(self.check(poll), 0)
        self.cashier.password = "another password"
        self.assertIs(self.check(poll), ODOOS_PATH)

    def test_a_pos_the_user_may_not_use(self):
        poll = read_poll(self.environ(self.login(self.foreign)), self.store)
        self.assertIs(self.check(poll), ODOOS_PATH)

    def test_polls_checked_together_each_get_their_own_answer(self):
        sid = self.login(self.cashier)
        mine = read_poll(self.environ(sid), self.store)
        unknown = '["%s","x","999999"]' % self.dbname
        theirs = read_poll(
            self.environ(sid, {"channels": [unknown], "last": 0}), self.store
        )
        forged = read_poll(self.environ(sid), self.store)
        forge_token(forged)
        foreign = read_poll(self.environ(self.login(self.foreign)), self.store)
        self.assertEqual(
            self.check(mine, theirs, forged, foreign),
            [0, ODOOS_PATH, ODOOS_PATH, ODOOS_PATH],
        )

    def test_a_user_without_pos_rights(self):
        self.cashier.groups_id = [(6, 0, self.env.ref("base.group_user").ids)]
        poll = read_poll(self.environ(self.login(self.cashier)), self.store)
        self.assertIs(self.check(poll), ODOOS_PATH)

    def test_the_answer_has_odoos_headers(self):
        poll = read_poll(self.environ(self.login(self.cashier)), self.store)
        started = []
        body = pos_poll.respond(poll, [{"id": 3}], lambda *args: started.append(args))
        ((status, headers),) = started
        headers = dict(headers)
        self.assertEqual(status, "200 OK")
        self.assertEqual(
            json.loads(b"".join(body)),
            {"jsonrpc": "2.0", "id": 7, "result": [{"id": 3}]},
        )
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
        self.assertIn("session_id=%s;" % poll.session.sid, headers["Set-Cookie"])
        self.assertIn("HttpOnly", headers["Set-Cookie"])

    def test_the_answer_yields_once_sent(self):
        """pywsgi closes the body once sent: the other polls woken with this
        one are answered before this one's log line and next poll."""
        poll = read_poll(self.environ(self.login(self.cashier)), self.store)
        body = pos_poll.respond(poll, [], lambda *args: None)
        order = []
        gevent.spawn(order.append, "another answer")
        body.close()
        order.append("this log line")
        self.assertEqual(order, ["another answer", "this log line"])

    def test_only_in_the_gevent_process(self):
        class Root:
            def __call__(self, environ, start_response):
                return "odoo"

        pos_poll.install(Root)
        self.assertFalse(hasattr(Root.__call__, "answers_pos_polls"))
        with patch.object(pos_poll.odoo, "evented", True):
            pos_poll.install(Root)
        self.assertTrue(Root.__call__.answers_pos_polls)
