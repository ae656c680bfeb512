"""POS polls answered beside Odoo's request stack, in the gevent process.

Through Odoo's stack a POS poll costs the gevent process some 3 ms before it
waits (the session loaded twice, registry signaling, routing, JSON-RPC
dispatch, the listen check) and 1 ms after: a message to 1,000 POSes
reaches the last one most of a second after the first. Here
``Root.__call__`` answers a request that is a POS poll and nothing else
(``read_poll``) itself:

* the session is Odoo's (its store, by the ``session_id`` cookie), of a
  user, of a database the dbfilter lets through and that has this addon;
  its class checks it as Odoo's does (``check_security``), and no module of
  the database overrides how ``ir.http`` authenticates it (``AUTH_HOOKS``):
  else its polls take Odoo's path, which runs those overrides;
* the poll listens, then the polls that arrive together are checked and
  read in one cursor (``Authorizer``): the session's token as Odoo checks
  it (``security.check_session``), who may listen as on Odoo's path
  (``pos.config._check_longpolling_polls``, as the session's user, in the
  request's context), then the bus;
* it then waits in the dispatcher as on Odoo's path, and is answered with
  one JSON encode and the headers Odoo's answer has; the session, unchanged
  and shared by the polls of that session, is not saved.

What is kept between polls, and its bound: a session, until its file
changes (every save: logout, login, a new token), checked at every poll;
registry signaling (another process's change of rights, passwords,
modules, which clears Odoo's caches), checked at most once a second.
A POS poll's answer lacks what Odoo adds to every poll (the ``broadcast``
channel, mail's channels of the user), which the POS client ignores. Any
doubt (no cookie, an explicit session id, no user, an option Odoo acts on,
a channel that is not a POS channel of the session's database, a check
that fails, a database error) and the request takes Odoo's own path,
unchanged, which answers or refuses it as it would.
"""
import functools
import io
import json
import logging
import os
import time
import weakref
from contextlib import closing

import gevent
import psycopg2
from werkzeug.http import dump_cookie, parse_cookie

import odoo
from odoo import SUPERUSER_ID, api, http
from odoo.exceptions import ValidationError
from odoo.service import security
from odoo.sql_db import PoolError
from odoo.tools import date_utils
from odoo.tools._vendor.sessions import FilesystemSessionStore

from odoo.addons.base.models.ir_http import IrHttp
from odoo.addons.bus.models import bus

from ..controllers.main import check_poll, with_gap
from ..models.contact_recorder import contacts
from ..models.pos_config import parse_pos_channel
from .batching import Batcher, Job
from .bus_dispatch import POS_POLL_TIMEOUT, BatchReader
from .connection_pool import POLL_PATH, reading_for_pos_polls
from .installed import installed_in

_logger = logging.getLogger(__name__)

# A poll of 100 channels of 512 characters (check_poll's bounds) fits.
MAX_BODY = 64 * 1024
JSON_TYPES = ("application/json", "application/json-rpc")
# Odoo's, for the cookie it sets on every answer.
COOKIE_MAX_AGE = 90 * 24 * 60 * 60
ODOOS_PATH = object()
# Seconds: how long a change of another process (rights, a password, a
# module) may take to reach POS polls, besides the wait of those parked
# already (Odoo checks a poll once, then lets it wait 50 s).
SIGNALING_INTERVAL = 1


class Poll:
    __slots__ = (
        "rid",
        "session",
        "context",
        "channels",
        "names",
        "pos_ids",
        "last",
        "options",
    )

    def __init__(self, rid, session, context, channels, parsed, last, options):
        self.rid = rid
        self.session = session
        self.context = context
        self.channels = channels
        self.names = {name for _db, name, _pos_id in parsed}
        self.pos_ids = {pos_id for _db, _name, pos_id in parsed}
        self.last = last
        self.options = options


class SessionCache:
    """Sessions of Odoo's file store, read again whenever their file
    changed (a logout, a login, a password change: any save): a POS polls
    on one session for days."""

    def __init__(self, size=10000):
        self.size = size
        self.entries = {}

    def get(self, store, sid):
        if type(store) is not FilesystemSessionStore:  # a module's own store
            return store.get(sid)
        try:
            stat = os.stat(store.get_session_filename(sid))
        except OSError:
            return store.new()  # as the store answers a missing session
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        entry = self.entries.get(sid)
        if entry is None or entry[0] != version:
            if len(self.entries) >= self.size:
                self.entries.clear()
            # [version, session, whether it passed Odoo's check]
            entry = self.entries[sid] = [version, store.get(sid), False]
        # Shared by the polls of this session, which only read it.
        return entry[1]

    def vouch(self, sid):
        """The session ``sid``, as read last, passed Odoo's check."""
        entry = self.entries.get(sid)
        if entry is not None:
            entry[2] = True

    def vouched(self, sid):
        """Whether the session ``sid`` passed Odoo's check since its file
        last changed: only then may its polls wait for a connection."""
        entry = self.entries.get(sid)
        return entry is not None and entry[2]


sessions = SessionCache()


class _Host:
    """What ``http.db_filter`` reads of a request."""

    __slots__ = ("environ",)

    def __init__(self, environ):
        self.environ = environ


# A POS sends the same Cookie header at every poll: its session id is kept
# for headers of at most 512 characters (16,384 of them: 8 MB at most).
MAX_CACHED_COOKIE = 512


def session_id(cookie_header):
    """The session id of a ``Cookie`` header."""
    if len(cookie_header) > MAX_CACHED_COOKIE:
        return _session_id(cookie_header)
    return _cached_session_id(cookie_header)


def _session_id(cookie_header):
    return parse_cookie(cookie_header).get("session_id")


_cached_session_id = functools.lru_cache(maxsize=16384)(_session_id)


def read_poll(environ, session_store):
    """The POS poll ``environ`` holds, else ``None`` (Odoo's path). The
    body stays readable for Odoo."""
    if (
        environ.get("PATH_INFO") != POLL_PATH
        or environ.get("REQUEST_METHOD") != "POST"
        or environ.get("QUERY_STRING")
        or "HTTP_X_OPENERP_SESSION_ID" in environ
        or environ.get("CONTENT_TYPE", "").split(";")[0].strip() not in JSON_TYPES
    ):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    sid = session_id(environ.get("HTTP_COOKIE", ""))
    if not 0 < length <= MAX_BODY or not sid or not session_store.is_valid_key(sid):
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        request = json.loads(body)
        params = dict(request["params"])
        context = params.pop("context", None)
        channels, last, options = check_poll(
            params.pop("channels", None),
            params.pop("last", None),
            params.pop("options", None),
            params,
        )
    except (ValueError, TypeError, KeyError, RecursionError, ValidationError):
        return None
    parsed = [parse_pos_channel(channel) for channel in channels]
    if not all(parsed):
        return None
    session = sessions.get(session_store, sid)
    dbname = session.db
    if (
        "bus_inactivity" in options
        or not (context is None or isinstance(context, dict))
        or not dbname
        or not session.uid
        or session.profile_session
        or not stock_session_check(session)
        or not installed_in(dbname)
        or dbname not in http.db_filter([dbname], httprequest=_Host(environ))
    ):
        return None
    if any(db != dbname for db, _name, _pos_id in parsed):
        return None
    context = dict(session.context) if context is None else context
    return Poll(request.get("id"), session, context, channels, parsed, last, options)


# How Odoo 15 authenticates a request of a public route for a session with a
# user: ir.http._authenticate calls the session's check_security
# (security.check_session, which the Authorizer calls), then
# _auth_method_public (or _auth_method_user) sets the request's user.
AUTH_HOOKS = ("_authenticate", "_auth_method_public", "_auth_method_user")
# Odoo's own extensions of them that change nothing for a session with a
# user: website's sets the website's public user where the session has none.
ODOOS_SESSION_NEUTRAL = {("odoo.addons.website.models.ir_http", "_auth_method_public")}
_stock_authentication = weakref.WeakKeyDictionary()


def stock_authentication(ir_http):
    """Whether the class ``ir_http`` (a registry's ``ir.http``) authenticates
    requests of sessions with a user as base does: no module of the database
    overrides ``AUTH_HOOKS`` (OCA's auth_session_timeout does), which polls
    answered here would bypass."""
    if ir_http not in _stock_authentication:
        _stock_authentication[ir_http] = not any(
            hook in klass.__dict__
            and klass is not IrHttp
            and (klass.__module__, hook) not in ODOOS_SESSION_NEUTRAL
            for klass in ir_http.__mro__
            for hook in AUTH_HOOKS
        )
    return _stock_authentication[ir_http]


def stock_session_check(session):
    """Whether the session class checks a session as Odoo's does."""
    return type(session).check_security is http.OpenERPSession.check_security


class Authorizer(Batcher):
    """Checks the POS polls of one database that arrive together, and reads
    the bus for those it lets through, in one cursor."""

    what = "the check of POS polls"
    # A poll waits this long for others (a broadcast's re-polls come within
    # a fraction of a second): fewer batches, each one cursor and query.
    # Nothing is missed meanwhile: it listens already.
    gather = 0.005

    def __init__(self, dbname, spawn=None):
        super().__init__(dbname, spawn)
        self.signaled_at = None

    def check(self, poll, channels):
        """``(deleted id, newest id, notifications)`` of ``poll``, read on
        ``channels`` (the id of the newest deleted notification it missed, 0
        if none; the bus's newest id if it missed one),
        or ``ODOOS_PATH``: Odoo's path decides."""
        return self.run(poll, channels)

    def serve(self, jobs):
        # Only polls of sessions that passed Odoo's check before may wait
        # for a connection: a session of the store is not proof enough.
        vouched = any(sessions.vouched(job.args[0].session.sid) for job in jobs)
        with reading_for_pos_polls(may_wait=vouched):
            registry = self.registry()
            try:
                # Closed, not committed: it only reads.
                with closing(registry.cursor()) as cr:
                    self.check_and_read(cr, jobs)
            finally:
                if registry.registry_invalidated or registry.cache_invalidated:
                    registry.signal_changes()

    def registry(self):
        """The registry, its signaling checked at most every
        ``SIGNALING_INTERVAL`` seconds."""
        registry = odoo.registry(self.dbname)
        now = time.monotonic()
        if self.signaled_at is None or now - self.signaled_at >= SIGNALING_INTERVAL:
            registry = registry.check_signaling()
            self.signaled_at = now
        return registry

    @classmethod
    def check_and_read(cls, cr, jobs):
        """Check the polls of ``jobs`` (those of one user in one context
        together), then read the bus for those let through."""
        groups = {}
        for job in jobs:
            poll = job.args[0]
            key = (poll.session.uid, repr(sorted(poll.context.items())))
            groups.setdefault(key, []).append(job)
        for group in groups.values():
            cls.check_group(cr, group)
        checked = [job for job in jobs if job.result is not ODOOS_PATH]
        env = api.Environment(cr, SUPERUSER_ID, {})
        # The bus's newest id, for the gap notifications (rare).
        newest = (
            env["pos.longpolling.gap"]._newest_bus_id()
            if any(job.result for job in checked)
            else 0
        )
        reads = [Job((job.args[1], job.args[0].last)) for job in checked]
        BatchReader.read_jobs(env["bus.bus"], reads)
        for job, read in zip(checked, reads):
            job.result = ODOOS_PATH if read.error else (job.result, newest, read.result)

    @staticmethod
    def check_group(cr, jobs):
        """Check ``jobs``, polls of one user in one context, together."""
        poll = jobs[0].args[0]
        env = api.Environment(cr, poll.session.uid, poll.context)
        for job in jobs:
            job.result = ODOOS_PATH
        if not stock_authentication(type(env["ir.http"])):
            return
        try:
            valid = [
                job for job in jobs if security.check_session(job.args[0].session, env)
            ]
            for job in valid:
                sessions.vouch(job.args[0].session.sid)
            results = env["pos.config"]._check_longpolling_polls(
                [(job.args[0].channels, job.args[0].last) for job in valid]
            )
        except psycopg2.Error:
            cr.rollback()  # the next group needs the cursor
            return
        except Exception:  # pylint: disable=broad-except
            return
        for job, result in zip(valid, results):
            if not isinstance(result, Exception):
                job.result = result


class UseOdoosPath(Exception):
    """Odoo's path decides this poll."""


authorizers = {}


def answer(poll):
    """The JSON-RPC ``result`` of ``poll``; raises ``UseOdoosPath``."""
    dbname = poll.session.db
    channels = bus.dispatch.pos_channels(dbname, poll.channels, poll.names)
    if dbname not in authorizers:
        authorizers[dbname] = Authorizer(dbname)
    peek = poll.options.get("peek")

    def first():
        checked = authorizers[dbname].check(poll, channels)
        if checked is ODOOS_PATH:
            raise UseOdoosPath()
        deleted_id, newest, notifications = checked
        contacts.note(dbname, poll.pos_ids, poll.options.get("screen"))
        if not (peek or deleted_id):
            return notifications
        result = {
            "notifications": notifications,
            "channels": [bus.channel_with_db(dbname, c) for c in channels],
        }
        if deleted_id:
            result = with_gap(result, deleted_id, poll.last, newest, peek=True)
        return result if peek else result["notifications"]

    if peek:
        return first()
    return bus.dispatch.poll_in_batch(
        dbname, channels, poll.last, POS_POLL_TIMEOUT, first=first
    )


@functools.lru_cache(maxsize=4096)
def _session_cookie(sid, minute):
    return dump_cookie("session_id", sid, max_age=COOKIE_MAX_AGE, httponly=True)


def session_cookie(sid):
    """The cookie Odoo sets on every answer (its expiry to the minute)."""
    return _session_cookie(sid, int(time.time() // 60))


def respond_unavailable(poll, error, start_response):
    """A JSON-RPC error for ``poll``, which waited for the database in vain
    (a full pool, a batch timeout): the POS retries later."""
    # Odoo's text (controllers/main); not translated: the database is out.
    message = "POS longpolling: the database is unavailable (%s)." % error
    _logger.warning("%s: %s", poll.session.db, message)
    error = {
        "code": 200,
        "message": "Odoo Server Error",
        "data": {
            "name": "odoo.exceptions.UserError",
            "debug": "",
            "message": message,
            "arguments": [message],
            "context": {},
        },
    }
    return respond(poll, error, start_response, key="error")


def respond(poll, result, start_response, key="result"):
    body = json.dumps(
        {"jsonrpc": "2.0", "id": poll.rid, key: result},
        default=date_utils.json_default,
    ).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            # The poll route's cors="*", as Odoo's Response sets it.
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "POST"),
            ("Set-Cookie", session_cookie(poll.session.sid)),
        ],
    )
    return AnsweredFirst([body])


class AnsweredFirst(list):
    """An answer's body. pywsgi calls ``close()`` once it is sent, before it
    logs the request and reads the connection's next one (the POS's next
    poll): yielding there lets the polls woken with this one be answered
    first (measured: a message read for 5,000 POSes at once reached the
    last one 0.4 s after the read, instead of 1.5 to 1.9 s between 5,000
    log lines and new polls)."""

    def close(self):
        gevent.sleep(0)


def install(root_class=http.Root):
    """Answer POS polls beside Odoo's stack (gevent process only)."""
    call = root_class.__call__
    if getattr(call, "answers_pos_polls", False) or not odoo.evented:
        return

    @functools.wraps(call)
    def answer_pos_polls(self, environ, start_response):
        poll = read_poll(environ, self.session_store)
        if poll is not None:
            try:
                result = answer(poll)
            except (PoolError, TimeoutError) as error:
                # A pool or batch timeout: Odoo's path would wait again.
                return respond_unavailable(poll, error, start_response)
            except Exception:  # pylint: disable=broad-except
                # UseOdoosPath, or an error Odoo's path answers as it does.
                result = ODOOS_PATH
            if result is not ODOOS_PATH:
                return respond(poll, result, start_response)
        return call(self, environ, start_response)

    answer_pos_polls.answers_pos_polls = True
    root_class.__call__ = answer_pos_polls
