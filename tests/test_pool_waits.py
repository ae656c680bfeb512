import json
import threading
from unittest.mock import patch

from odoo import http, sql_db
from odoo.sql_db import PoolError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import get_db_name

from ..patches import connection_pool, pos_poll
from ..patches.batching import Job
from ..patches.bus_dispatch import PosDispatch
from ..patches.connection_pool import PoolQueue, install, reading_for_pos_polls
from ..patches.pos_poll import Authorizer, read_poll, sessions
from .common import forge_token, poll_environ


class RequestPool(sql_db.ConnectionPool):
    """A pool of the gevent process, with the addon's default queue."""


install(RequestPool, PoolQueue(wait=5))


class Recorder(Authorizer):
    """Records whether each batch's borrows may wait."""

    waits = []

    @classmethod
    def check_and_read(cls, cr, jobs):
        cls.waits.append(threading.current_thread() in connection_pool._readers)
        return super().check_and_read(cr, jobs)


@tagged("post_install", "-at_install")
class TestWhoMayWait(HttpCase):
    """Only polls that passed Odoo's check may wait for a connection: a
    request's own borrows (anonymous, logged out, refused, POS-shaped or
    not) fail as fast as in Odoo; a poll beside Odoo's stack that waited in
    vain answers once, and does not wait again on Odoo's path."""

    def setUp(self):
        super().setUp()
        self.dbname = self.env.cr.dbname
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.channels = [self.pos._get_full_channel_name("x")]
        self.cashier = self.env["res.users"].create(
            {
                "name": "LP pool cashier",
                "login": "lp_pool_cashier",
                "password": "lp_pool_cashier-pw",
                "groups_id": [(6, 0, self.env.ref("point_of_sale.group_pos_user").ids)],
            }
        )

    def environ(self, sid, params=None):
        return poll_environ(sid, params or {"channels": self.channels, "last": 0})

    def poll(self, sid):
        return read_poll(self.environ(sid), http.root.session_store)

    def borrow_in_thread(self, pool, info, reading=None):
        out = []

        def run():
            try:
                if reading is None:
                    out.append(pool.borrow(info))
                else:
                    with reading_for_pos_polls(may_wait=reading):
                        out.append(pool.borrow(info))
            except PoolError as error:
                out.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(10)
        return out

    def test_a_requests_own_borrows_never_wait(self):
        info = sql_db.connection_info_for(get_db_name())[1]
        pool = RequestPool(maxconn=1)
        self.addCleanup(pool.close_all)
        held = pool.borrow(info)
        self.addCleanup(pool.give_back, held)
        # A request, whatever it looks like, and a batch of polls of sessions
        # that never passed Odoo's check: at once.
        for reading in (None, False):
            (result,) = self.borrow_in_thread(pool, info, reading)
            self.assertIsInstance(result, PoolError)
            self.assertNotIn("waited", str(result))
        # A batch for checked polls waits (in vain here: the wait shortened).
        with patch.object(RequestPool.pos_queue, "wait", 0.05):
            (result,) = self.borrow_in_thread(pool, info, True)
        self.assertIn("waited", str(result))

    def test_only_sessions_that_passed_odoos_check_make_a_batch_wait(self):
        sid = self.authenticate("lp_pool_cashier", "lp_pool_cashier-pw").sid
        forged = self.poll(sid)
        forge_token(forged)
        waits = Recorder.waits = []
        authorizer = Recorder(self.dbname)
        channels = PosDispatch.pos_channels(self.dbname, self.channels)
        jobs = [Job((forged, channels))]
        authorizer.serve(jobs)
        self.assertIs(jobs[0].result, pos_poll.ODOOS_PATH)
        self.assertFalse(sessions.vouched(sid))
        # The same session, its token right: checked, then vouched for.
        jobs = [Job((self.poll(sid), channels))]
        authorizer.serve(jobs)
        self.assertEqual(jobs[0].result[0], 0)
        self.assertTrue(sessions.vouched(sid))
        authorizer.serve([Job((self.poll(sid), channels))])
        self.assertEqual(waits, [False, False, True])
        # Saved since (a login, a logout, a new token): not vouched for.
        store = http.root.session_store
        session = store.get(sid)
        session.context = dict(session.context, lang="fr_FR")
        store.save(session)
        self.poll(sid)
        self.assertFalse(sessions.vouched(sid))

    def answer_beside_odoos_stack(self, authorizer):
        """What a peek POS poll gets beside Odoo's stack when ``authorizer``
        serves it, and whether Odoo's path was called."""

        class Root:
            def __call__(self, environ, start_response):
                calls.append(environ)
                return [b"odoo"]

        calls, started = [], []
        Root.session_store = http.root.session_store
        with patch.object(pos_poll.odoo, "evented", True):
            pos_poll.install(Root)
        poll_params = {"channels": self.channels, "last": 0, "options": {"peek": True}}
        sid = self.authenticate("lp_pool_cashier", "lp_pool_cashier-pw").sid
        with patch.dict(pos_poll.authorizers, {self.dbname: authorizer}):
            body = Root()(
                self.environ(sid, poll_params), lambda *args: started.append(args)
            )
        return b"".join(body), started, calls

    def test_a_batch_timeout_answers_once(self):
        authorizer = Authorizer(self.dbname, spawn=lambda *args: None)  # never runs
        authorizer.timeout = 0.01
        with self.assertLogs(pos_poll.__name__, "WARNING") as logs:
            body, started, calls = self.answer_beside_odoos_stack(authorizer)
        answer = json.loads(body)
        self.assertEqual(calls, [], "not Odoo's path")
        self.assertEqual(started[0][0], "200 OK")
        self.assertEqual(answer["id"], 7)
        self.assertIn("database is unavailable", answer["error"]["data"]["message"])
        self.assertIn("not done in", answer["error"]["data"]["message"])
        self.assertEqual(len(logs.records), 1)
        self.assertIsNone(logs.records[0].exc_info)

    def test_a_full_pool_answers_once(self):
        class FullPool(Authorizer):
            def serve(self, jobs):
                raise PoolError("The Connection Pool Is Full (waited 15 s)")

        authorizer = FullPool(self.dbname, spawn=lambda function, gather: function())
        with self.assertLogs(pos_poll.__name__, "WARNING") as logs:
            body, _started, calls = self.answer_beside_odoos_stack(authorizer)
        self.assertEqual(calls, [])
        self.assertIn("Pool Is Full", json.loads(body)["error"]["data"]["message"])
        self.assertEqual(len(logs.records), 1)

    def test_a_refused_poll_still_takes_odoos_path(self):
        authorizer = Authorizer(self.dbname, spawn=lambda function, gather: function())
        self.cashier.groups_id = [(6, 0, self.env.ref("base.group_user").ids)]
        body, _started, calls = self.answer_beside_odoos_stack(authorizer)
        self.assertEqual((body, len(calls)), (b"odoo", 1), "Odoo's path answers it")
