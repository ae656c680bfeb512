"""Light pollers speaking pos_longpolling's protocol (asyncio + aiohttp).

One aiohttp session (one logged-in cookie) serves all pollers of a fleet.
Each poller long-polls its own channels as the POS client does: the first
poll, and the first after a failed one, is a peek (answered at once); any
poll answer is contact (online). PINGs to /pos_longpolling/update: see
Poller.ping_due.
"""
import asyncio
import collections
import contextlib
import functools
import json
import random
import time
import urllib.request

import aiohttp
from aiohttp.client_proto import ResponseHandler

KEEPALIVE = False  # run.py --keepalive
CLIENT_KIND = "light"  # run.py --pollers: "light" (LightConn) or "aiohttp"

# The POS client's defaults (pos.config fields, channel_bus.js), in seconds.
CLIENT = dict(
    silence=60.0,  # PING after this long without a poll answer
    check_interval=600.0,  # PING after this long without a notification
    pong_timeout=10.0,  # offline when no notification within this of a PING
    retry_delay=2.0,  # first retry after a failed poll, doubling...
    retry_max=8.0,  # ...up to this
    poll_timeout=65.0,  # give up on a poll (an idle POS poll is answered after 55 s)
)


def rpc_body(params, rid=1):
    return {"jsonrpc": "2.0", "method": "call", "id": rid, "params": params}


def post_json(url, params, cookie=None, timeout=30):
    """A JSON-RPC call with urllib: (HTTP status, body bytes, headers)."""
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = "session_id=" + cookie
    req = urllib.request.Request(
        url, data=json.dumps(rpc_body(params)).encode(), headers=headers
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read(), r.headers


def login(http_url, db, login="admin", password="admin", timeout=60):
    """Return the session_id cookie of a logged-in user."""
    _, raw, headers = post_json(
        http_url + "/web/session/authenticate",
        {"db": db, "login": login, "password": password},
        timeout=timeout,
    )
    data = json.loads(raw)
    cookies = headers.get_all("Set-Cookie") or []
    if data.get("error") or not (data.get("result") or {}).get("uid"):
        raise RuntimeError("login failed: %s" % (data.get("error") or data)[:500])
    for c in cookies:
        if c.startswith("session_id="):
            return c.split(";", 1)[0].split("=", 1)[1]
    raise RuntimeError("login: no session cookie")


def session_uid(http_url, cookie, timeout=30):
    """uid of the session behind `cookie` (None: logged out)."""
    try:
        _, raw, _ = post_json(
            http_url + "/web/session/get_session_info", {}, cookie, timeout
        )
        data = json.loads(raw)
    except Exception:  # noqa: BLE001
        return None
    return (data.get("result") or {}).get("uid")


def ping(http_url, cookie, db, pos_id, timeout=30):
    """One PING on /pos_longpolling/update; returns what came back, as text."""
    try:
        status, raw, _ = post_json(
            http_url + "/pos_longpolling/update",
            {"pos_id": pos_id, "message": "PING", "db_name": db},
            cookie,
            timeout,
        )
        return "HTTP %d %s" % (status, raw[:150].decode(errors="replace"))
    except Exception as e:  # noqa: BLE001
        return "%s: %s" % (type(e).__name__, str(e)[:150])


class StampingHandler(ResponseHandler):
    """aiohttp's protocol, noting when bytes last arrived: the loop calls
    data_received as soon as the socket is read, before the task awaiting
    the body runs (with 1,000 answers at once that task may run much later)."""

    t_data = None

    def data_received(self, data):
        self.t_data = time.time()
        return super().data_received(data)


class StampedResponse(aiohttp.ClientResponse):
    """Keeps the connection's protocol: aiohttp lets the connection go as
    soon as the body is complete, often before the caller sees it."""

    stamp = None

    async def start(self, connection):
        self.stamp = connection.protocol
        return await super().start(connection)


def stamping_connector(**kw):
    """A TCPConnector whose connections are StampingHandlers (a private
    attribute of aiohttp: without it receipts are the task's time)."""
    conn = aiohttp.TCPConnector(**kw)
    if callable(getattr(conn, "_factory", None)):
        conn._factory = functools.partial(
            StampingHandler, loop=asyncio.get_running_loop()
        )
        conn.stamping = True
    else:
        conn.stamping = False
    return conn


class LightConn(asyncio.Protocol):
    """One HTTP/1.1 client connection, one request at a time: what a
    poller needs and no more (aiohttp costs several times the CPU per
    request, which the pollers share with the server they measure).
    ``t_data``: when the answer's last bytes were read."""

    def __init__(self):
        self.transport = None
        self.buf = bytearray()
        self.waiter = None
        self.closed = False
        self.t_data = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.t_data = time.time()
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            answer = self.parse()
            if answer:
                self.waiter.set_result(answer)

    def connection_lost(self, exc):
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(
                exc or ConnectionResetError("connection closed by the server")
            )

    def parse(self):
        """(status, body, close) once a whole answer is in the buffer."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        head = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            head[k.strip().lower()] = v.strip().lower()
        close = head.get("connection") == "close"
        start = end + 4
        if "content-length" in head:
            stop = start + int(head["content-length"])
            if len(self.buf) < stop:
                return None
            body = bytes(self.buf[start:stop])
        elif head.get("transfer-encoding") == "chunked":
            body, stop = self.dechunk(start)
            if body is None:
                return None
        else:  # the body ends with the connection
            return None
        del self.buf[:stop]
        return status, body, close

    def dechunk(self, pos):
        body = bytearray()
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None, 0
            size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            if len(self.buf) < eol + 2 + size + 2:
                return None, 0
            body += self.buf[eol + 2 : eol + 2 + size]
            pos = eol + 2 + size + 2
            if not size:
                return bytes(body), pos

    async def request(self, raw, timeout):
        self.waiter = asyncio.get_running_loop().create_future()
        self.t_data = None
        self.transport.write(raw)
        try:
            return await asyncio.wait_for(self.waiter, timeout)
        except BaseException:
            self.transport.abort()
            self.closed = True
            raise


class LightClient:
    """Polls over LightConn: one connection per poller, kept between polls
    (keepalive) or a new one per poll (``Connection: close``)."""

    def __init__(self, url, keepalive):
        hostport = url.split("://", 1)[1].split("/", 1)[0]
        self.host, _, port = hostport.partition(":")
        self.port = int(port or 80)
        self.hostport = hostport
        self.keepalive = keepalive
        self.conns = {}  # poller index -> LightConn

    async def post(self, key, path, body, headers, timeout):
        """(status, body bytes, t_data, t_task) of one JSON POST."""
        data = json.dumps(body).encode()
        head = [
            "POST %s HTTP/1.1" % path,
            "Host: " + self.hostport,
            "Content-Type: application/json",
            "Content-Length: %d" % len(data),
        ] + ["%s: %s" % kv for kv in headers.items()]
        if not self.keepalive:
            head.append("Connection: close")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        conn = self.conns.get(key)
        t_start = time.monotonic()
        if conn is None or conn.closed:
            _, conn = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(
                    LightConn, self.host, self.port
                ),
                timeout,
            )
            self.conns[key] = conn
        left = max(0.1, timeout - (time.monotonic() - t_start))
        status, answer, close = await conn.request(raw, left)
        t_task = time.time()
        if close or not self.keepalive:
            conn.transport.close()
            conn.closed = True
        return status, answer, conn.t_data or t_task, t_task

    def close(self):
        for conn in self.conns.values():
            if conn.transport is not None:
                conn.transport.abort()
        self.conns.clear()


def pos_channel(db, name, pos_id):
    return json.dumps([db, name, str(pos_id)], separators=(",", ":"))


class Stats:
    def __init__(self):
        self.polls = 0  # poll requests sent
        self.poll_ok = 0
        self.poll_fail = 0
        self.fail_kinds = collections.Counter()
        self.pings = 0
        self.ping_fail = 0
        self.pongs = 0
        self.notifications = 0

    def as_dict(self):
        d = dict(vars(self))
        d["fail_kinds"] = dict(self.fail_kinds)
        return d


def notifications(result):
    """The notifications of a poll answer: a list, or a peek's object."""
    if isinstance(result, dict):
        return result.get("notifications") or []
    return result or []


class Poller:
    """One POS: its long poll and its PINGs (see CLIENT)."""

    def __init__(self, fleet, index, channels, pos_id=None):
        self.fleet, self.index, self.channels, self.pos_id = (
            fleet,
            index,
            channels,
            pos_id,
        )
        self.last = fleet.start_last
        self.got = []  # (t_recv, bus id, type, payload)
        self.started = time.time()
        # no PING at start: the first poll is a peek, answered at once
        self.last_contact = self.last_notification = self.started
        self.last_ping = None
        self.first_contact = None
        self.online = False
        self.peek = True  # the first poll, and the first after a failed one
        self.ping_owed = False  # a poll was issued after a failed poll
        self.wake = asyncio.Event()  # something for ping_loop to look at
        self.first_poll_sent = asyncio.Event()
        self.pong_waiting = None
        self.failures = 0
        self.pongs = 0
        self.first_pong = None
        self.pings = 0
        self.backoff = False

    def contact(self, t):
        self.last_contact = t
        self.online = True
        if not self.first_contact:
            self.first_contact = t

    async def poll_loop(self):
        f = self.fleet
        rid = 0
        while not f.stopping:
            rid += 1
            options = {"peek": True} if self.peek else {}
            body = rpc_body(
                {"channels": self.channels, "last": self.last, "options": options},
                rid,
            )
            if self.failures:
                self.ping_owed = True
                self.wake.set()
            f.stats.polls += 1
            try:
                # receipt t = when the last bytes reached the socket, not
                # when this task got to run
                status, raw, t, t_task = await f.post_poll(self, body)
                if status != 200:
                    raise RuntimeError("HTTP %d" % status)
                data = json.loads(raw)
                if data.get("error"):
                    err = data["error"].get("data", {}).get("name") or data[
                        "error"
                    ].get("message")
                    raise RuntimeError("rpc:%s" % err)
                notes = notifications(data.get("result"))
                if notes:
                    f.lags.append((t, t_task - t))
                f.stats.poll_ok += 1
                self.peek = False
                self.contact(t)
                for n in notes:
                    self.last = max(self.last, n["id"])
                    msg = n.get("message") or {}
                    typ = msg.get("type")
                    f.stats.notifications += 1
                    self.last_notification = t
                    if typ == "pos.longpolling":
                        f.stats.pongs += 1
                        self.pongs += 1
                        if not self.first_pong:
                            self.first_pong = t
                    # any notification answers a PING
                    if self.pong_waiting:
                        self.pong_waiting.set()
                    self.got.append((t, n["id"], typ, msg.get("payload")))
                    if f.on_message:
                        f.on_message(self, t, n["id"], typ, msg.get("payload"))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - failures are counted, not fatal
                f.stats.poll_fail += 1
                kind = str(e) if isinstance(e, RuntimeError) else type(e).__name__
                f.stats.fail_kinds[kind[:120]] += 1
                f.fail_log.append((time.time(), self.index, kind[:200]))
                self.failures += 1
                self.online = False
                self.peek = True
                # the POS client's schedule: ceiling retry_base * 2^(failures-1)
                # capped at retry_max, drawn at random in [ceiling/2, ceiling]
                ceiling = min(f.retry_max, f.retry_delay * 2 ** (self.failures - 1))
                self.backoff = True
                try:
                    await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)
                finally:
                    self.backoff = False
                continue
            self.failures = 0

    def ping_due(self, now):
        """Seconds until a PING is due (0: now). Due when no poll answer for
        `silence` s, no notification for `check_interval` s, or a poll was
        issued after a failed poll; never sooner than `silence` s after the
        last PING."""
        f = self.fleet
        due = 0.0 if self.ping_owed else float("inf")
        due = min(
            due,
            self.last_contact + f.silence - now,
            self.last_notification + f.check_interval - now,
        )
        if self.last_ping is not None:
            due = max(due, self.last_ping + f.silence - now)
        return max(0.0, due)

    async def ping_loop(self):
        """PINGs as the POS client sends them; offline if no notification
        within `pong_timeout` of one. One at a time (sequential)."""
        f = self.fleet
        while not f.stopping:
            wait = self.ping_due(time.time())
            if wait > 0:
                self.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), min(wait, 5.0))
                continue
            self.ping_owed = False
            self.last_ping = time.time()
            self.pong_waiting = asyncio.Event()
            f.stats.pings += 1
            self.pings += 1
            body = rpc_body({"pos_id": self.pos_id, "message": "PING", "db_name": f.db})
            try:
                async with f.session.post(
                    f.http_url + "/pos_longpolling/update",
                    json=body,
                    headers=f.headers(),
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as r:
                    data = json.loads(await r.read())
                if data.get("error"):
                    raise RuntimeError(str(data["error"])[:200])
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                f.stats.ping_fail += 1
                f.fail_log.append((time.time(), self.index, "ping:" + str(e)[:150]))
            try:
                await asyncio.wait_for(self.pong_waiting.wait(), f.pong_timeout)
            except asyncio.TimeoutError:
                self.online = False
            self.pong_waiting = None


class Fleet:
    """`kind` 'addon': poller i listens to POS ids[i] on `names` channels plus
    the ping channel; 'raw': poller i listens to plain channel raw_prefix+id."""

    def __init__(
        self,
        poll_url,
        http_url,
        db,
        cookie,
        kind,
        ids,
        names=("lat",),
        start_last=0,
        ping=True,
        raw_prefix="lp_raw_",
        keepalive=None,
        repeat_channels=(),
        steady_phase=False,
        client_kind=None,
        **client,
    ):
        self.poll_url, self.http_url, self.db, self.cookie = (
            poll_url,
            http_url,
            db,
            cookie,
        )
        self.kind, self.ids, self.names = kind, list(ids), list(names)
        self.start_last = start_last
        unknown = set(client) - set(CLIENT)
        if unknown:
            raise TypeError("Fleet: unknown option(s) %s" % ", ".join(sorted(unknown)))
        for key, default in CLIENT.items():
            setattr(self, key, client.get(key, default))
        self.ping = ping and kind == "addon"
        self.raw_prefix = raw_prefix
        # pollers (indexes) that name each of their channels twice
        self.repeat_channels = set(repeat_channels)
        # as if long running: each poller's last notification a random time
        # in [0, check_interval) before its start, so PINGs spread evenly
        self.steady_phase = steady_phase
        self.keepalive = KEEPALIVE if keepalive is None else keepalive
        self.client = CLIENT_KIND if client_kind is None else client_kind
        self.light = None
        self.stats = Stats()
        self.fail_log = []
        self.lags = []  # (t_recv, seconds until the poller's task ran)
        self.stamping = None
        self.stopping = False
        self.tasks = []
        self.pollers = []
        self.on_message = None
        self.session = None

    def headers(self):
        return {"Cookie": "session_id=" + self.cookie}

    async def post_poll(self, poller, body):
        """(status, body, t_receipt, t_task) of one poll."""
        if self.light:
            poller.first_poll_sent.set()
            return await self.light.post(
                poller.index,
                "/longpolling/poll",
                body,
                self.headers(),
                self.poll_timeout,
            )
        req = self.session.post(
            self.poll_url + "/longpolling/poll",
            json=body,
            headers=self.headers(),
            timeout=aiohttp.ClientTimeout(total=self.poll_timeout),
        )
        poller.first_poll_sent.set()
        async with req as r:
            raw = await r.read()
        t_task = time.time()
        # see StampedResponse
        return r.status, raw, getattr(r.stamp, "t_data", None) or t_task, t_task

    def channels_for(self, pid):
        if self.kind == "addon":
            return [
                pos_channel(self.db, n, pid) for n in self.names + ["pos.longpolling"]
            ]
        return [self.raw_prefix + str(pid)]

    async def start(self, ramp=0.0, settle=2.0):
        # keepalive=False (default): a new connection per request, as behind
        # a reverse proxy speaking HTTP/1.0 to Odoo (nginx's default). With
        # keep-alive, gevent's pywsgi sends headers and body in two send()s
        # and the second waits for the client's delayed ACK (~40 ms).
        conn = stamping_connector(
            limit=0, ttl_dns_cache=None, force_close=not self.keepalive
        )
        self.stamping = conn.stamping or self.client == "light"
        if self.client == "light":
            self.light = LightClient(self.poll_url, self.keepalive)
        self.session = aiohttp.ClientSession(
            connector=conn,
            cookie_jar=aiohttp.DummyCookieJar(),
            response_class=StampedResponse,
        )
        n = len(self.ids)
        t0 = time.monotonic()
        for i, pid in enumerate(self.ids):
            channels = self.channels_for(pid)
            if i in self.repeat_channels:
                channels = [c for c in channels for _ in (0, 1)]
            p = Poller(self, i, channels, pos_id=pid)
            if self.steady_phase:
                p.last_notification -= random.Random(i).random() * self.check_interval
            self.pollers.append(p)
            self.tasks.append(asyncio.ensure_future(p.poll_loop()))
            if self.ping:
                self.tasks.append(asyncio.ensure_future(p.ping_loop()))
            if ramp and n > 1:
                # on schedule even when the loop is late: poller i at i/n of the ramp
                await asyncio.sleep(
                    max(0.0, t0 + ramp * (i + 1) / n - time.monotonic())
                )
        await asyncio.wait_for(
            asyncio.gather(*(p.first_poll_sent.wait() for p in self.pollers)), 120
        )
        await asyncio.sleep(settle)

    async def stop(self):
        self.stopping = True
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.light:
            self.light.close()
        if self.session:
            await self.session.close()

    async def quiesce(self, quiet=3.0, timeout=120.0, pong_wait=15.0):
        """Wait until no poll failed for `quiet` s, no poller waits to retry
        after a failure, and every poller had its first contact (a poll
        answer; at most `pong_wait` s): the connection storm is over."""
        t0 = time.time()
        deadline = t0 + timeout
        last_fail, last_change = self.stats.poll_fail, time.time()
        while time.time() < deadline:
            await asyncio.sleep(0.5)
            if self.stats.poll_fail != last_fail:
                last_fail, last_change = self.stats.poll_fail, time.time()
            ponged = all(p.first_contact for p in self.pollers)
            waiting = any(p.backoff for p in self.pollers)
            if (
                (ponged or time.time() - t0 > pong_wait)
                and not waiting
                and time.time() - last_change >= quiet
            ):
                return True
        return False

    def received(self, typ):
        """{payload key: [(poller index, t_recv, bus id, payload)]} for notifications of type typ."""
        out = []
        for p in self.pollers:
            for t, bid, ty, payload in p.got:
                if ty == typ:
                    out.append((p.index, t, bid, payload))
        return out
