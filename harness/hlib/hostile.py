"""The ``hostile`` part: malformed and hostile requests against a running
``--workers=2`` server while legit POS pollers wait and receive messages.

Issue "A POS user cannot stop, slow or forge what other POSes receive":
every kind of request in ``KINDS`` is sent over and over by several
coroutines at once (a cashier's session unless the kind says otherwise),
while 20 logged-in pollers (two of them naming each of their channels
twice) poll their own POS and get messages at a steady rate, first for a
baseline window without hostile traffic, then during it. A cashier's
``send_to_all_poses`` through RPC must be refused with nothing written; a
manager's is the positive control.
"""
import asyncio
import collections
import json
import re
import time
import xmlrpc.client

import aiohttp

from . import pollers as hp
from .env import log
from .report import check_row

FORGED = "lp_forged_by_cashier"  # in the payload of every refused send
USERS = {
    # login: (groups, company) -- password = login
    "lp_cashier": (["base.group_user", "point_of_sale.group_pos_user"], "main"),
    "lp_manager": (["base.group_user", "point_of_sale.group_pos_manager"], "main"),
    "lp_other_co": (["base.group_user", "point_of_sale.group_pos_user"], "other"),
}

MAKE_USERS = """
main = env.ref("base.main_company")
other = env["res.company"].search([("name", "=", "LP hostile other company")], limit=1)
if not other:
    other = env["res.company"].create({"name": "LP hostile other company"})
result = {}
for login, (groups, company) in USERS.items():
    company = main if company == "main" else other
    user = env["res.users"].with_context(active_test=False).search([("login", "=", login)])
    vals = {
        "name": login, "login": login, "password": login,
        "company_id": company.id, "company_ids": [(6, 0, company.ids)],
        "groups_id": [(6, 0, [env.ref(g).id for g in groups])],
    }
    if user:
        user.write(vals)
    else:
        user = env["res.users"].create(vals)
    result[login] = user.id
"""

# a POS of the other company (if one cannot be made there: the main
# company's own POS moved to it, on this copy of the database)
OTHER_POS = """
other = env["res.company"].search([("name", "=", "LP hostile other company")], limit=1)
try:
    with cr.savepoint():
        result = env["pos.config"].with_company(other).create(
            {"name": "LP hostile other", "company_id": other.id}
        ).id
except Exception as e:
    result = None
"""


def kinds(st, pos, other_pos, last):
    """[(name, target, body, user, expect)]: target 'poll' (gevent port),
    'http', 'xmlrpc'; body a JSON-able dict (the JSON-RPC params) or bytes;
    user the session (None: logged out); expect what a correct answer is
    (checked by `answer_ok`)."""
    db = st.db
    chan = hp.pos_channel(db, "lat", pos)
    ping_chan = hp.pos_channel(db, "pos.longpolling", pos)

    def poll(**kw):
        p = {"channels": [chan], "last": last, "options": {}}
        p.update(kw)
        return p

    def ping(**kw):
        p = {"pos_id": pos, "message": "PING", "db_name": db}
        p.update(kw)
        return p

    def raw(params):
        return json.dumps(
            {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        ).encode()

    v, a = "ValidationError", "AccessError"
    huge = raw(poll(channels=["x" * 2 * 1024 * 1024]))

    def odd(pos_id):
        # not a POS channel: Odoo's bus answers it (a peek answers at once)
        return poll(
            channels=[hp.pos_channel(db, "lat", pos_id)], options={"peek": True}
        )

    many = [hp.pos_channel(db, "c%d" % i, pos) for i in range(101)]
    out = [
        ("last: a string", "poll", poll(last="12"), "cashier", v),
        ("last: a list", "poll", poll(last=[1]), "cashier", v),
        ("last: 10^30", "poll", poll(last=10**30), "cashier", v),
        ("last: -1", "poll", poll(last=-1), "cashier", v),
        ("last: a float", "poll", poll(last=1.5), "cashier", v),
        ("last: a bool", "poll", poll(last=True), "cashier", v),
        ("options: not an object", "poll", poll(options=["peek"]), "cashier", v),
        (
            "options: peek not a bool",
            "poll",
            poll(options={"peek": "yes"}),
            "cashier",
            v,
        ),
        ("channels: not a list", "poll", poll(channels=chan), "cashier", v),
        ("channels: 101 channels", "poll", poll(channels=many), "cashier", v),
        (
            "channels: a 10,000-char channel",
            "poll",
            poll(channels=["x" * 10000]),
            "cashier",
            v,
        ),
        (
            "channels: a non-string channel",
            "poll",
            poll(channels=[chan, 7]),
            "cashier",
            v,
        ),
        # valid: the answer must hold each notification once
        (
            "channels: same POS channel twice (last 0)",
            "poll",
            poll(channels=[chan, chan, ping_chan, ping_chan], last=0),
            "cashier",
            "result",
        ),
        ("unknown extra argument", "poll", poll(extra=1), "cashier", v),
        (
            "params: not an object (a list)",
            "poll",
            raw([chan, last]),
            "cashier",
            "refused",
        ),
        ("params: not an object (a string)", "poll", raw("x"), "cashier", "refused"),
        ("JSON body not an object (a list)", "poll", b"[1, 2]", "cashier", "refused"),
        (
            "invalid JSON body",
            "poll",
            b'{"jsonrpc": "2.0", "params": {"channels": [',
            "cashier",
            "400",
        ),
        ("huge body (2 MB channel)", "poll", huge, "cashier", v),
        ("other company's user polls a POS", "poll", poll(), "other", a),
        ("logged out polls a POS", "poll", poll(), None, a),
        (
            "another database's channel",
            "poll",
            poll(channels=[hp.pos_channel(db + "_other", "lat", pos)]),
            "cashier",
            a,
        ),
        ('channels: POS id "²"', "poll", odd("²"), "cashier", "answered"),
        ('channels: POS id "٣"', "poll", odd("٣"), "cashier", "answered"),
        ('channels: POS id "٣" (logged out)', "poll", odd("٣"), None, "answered"),
        ("channels: POS id 2^31", "poll", odd(str(2**31)), "cashier", "answered"),
        ("channels: POS id of 5,000 digits", "poll", odd("9" * 5000), "cashier", v),
        (
            "channels: nested JSON",
            "poll",
            poll(
                channels=[json.dumps([db, ["lat"], [str(pos)]])], options={"peek": True}
            ),
            "cashier",
            "answered",
        ),
        ('PING: pos_id "²"', "ping", ping(pos_id="²"), "cashier", v),
        (
            # allowed (Odoo 15 lets POS users write pos.config): its POS,
            # a legit poller's, must still receive every message
            "cashier: write the POS's longpolling fields",
            "call_kw",
            {
                "model": "pos.config",
                "method": "write",
                "args": [
                    [pos],
                    {
                        "autostart_longpolling": True,
                        "longpolling_max_silence_timeout": 60,
                        "longpolling_pong_timeout": 10,
                    },
                ],
                "kwargs": {},
            },
            "cashier",
            "200 result True",
        ),
        (
            "cashier: create the POS's gap bookkeeping",
            "call_kw",
            {
                "model": "pos.longpolling.gap",
                "method": "create",
                "args": [{"config_id": pos, "deleted_id": 2**31 - 1}],
                "kwargs": {},
            },
            "cashier",
            a,
        ),
        ("PING: 9,000-char db_name", "ping", ping(db_name="d" * 9000), "cashier", v),
        ("PING: pos_id 10^12", "ping", ping(pos_id=10**12), "cashier", v),
        ('PING: pos_id "x"', "ping", ping(pos_id="x"), "cashier", v),
        ("PING: other company's user", "ping", ping(pos_id=pos), "other", a),
        ("PING: POS of another company", "ping", ping(pos_id=other_pos), "cashier", a),
        (
            "cashier: send_to_all_poses via call_kw",
            "call_kw",
            {
                "model": "pos.config",
                "method": "send_to_all_poses",
                "args": ["mgr", {"forged": FORGED}],
                "kwargs": {},
            },
            "cashier",
            a,
        ),
        (
            "cashier: send_to_all_poses via XML-RPC",
            "xmlrpc",
            ("pos.config", "send_to_all_poses", ["mgr", {"forged": FORGED}]),
            "cashier",
            a,
        ),
    ]
    if other_pos is None:
        out = [k for k in out if k[0] != "PING: POS of another company"]
    return out


class Client:
    """The hostile side: one aiohttp session, a new connection per request."""

    def __init__(self, st, cookies, uids):
        self.st, self.cookies, self.uids = st, cookies, uids
        self.session = None

    async def __aenter__(self):
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc):
        await self.session.close()

    async def send(self, target, body, user, timeout=15.0):
        """(answer text, parsed result or None, seconds)."""
        st = self.st
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Cookie"] = "session_id=" + self.cookies[user]
        if target == "xmlrpc":
            model, method, args = body
            login = "lp_" + user if user != "other" else "lp_other_co"
            data = xmlrpc.client.dumps(
                (st.db, self.uids[login], login, model, method, args),
                methodname="execute_kw",
                allow_none=True,
            ).encode()
            url = st.server.url + "/xmlrpc/2/object"
            headers = {"Content-Type": "text/xml"}
        else:
            path = {
                "poll": "/longpolling/poll",
                "ping": "/pos_longpolling/update",
                "call_kw": "/web/dataset/call_kw",
            }[target]
            base = st.server.poll_url if target == "poll" else st.server.url
            url = base + path
            data = (
                body
                if isinstance(body, bytes)
                else json.dumps(hp.rpc_body(body)).encode()
            )
        t0 = time.time()
        try:
            async with self.session.post(
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as r:
                raw = await r.read()
                status = r.status
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001
            return "%s" % type(e).__name__, None, time.time() - t0
        answer, result = describe(target, status, raw)
        return answer, result, time.time() - t0


def describe(target, status, raw):
    """(answer text, result): HTTP status + JSON-RPC error name and message
    excerpt, XML-RPC fault, or the result."""
    if target == "xmlrpc" and status == 200:
        try:
            (result,), _ = xmlrpc.client.loads(raw)
            return "200 result %r" % (result,), result
        except xmlrpc.client.Fault as f:
            text = f.faultString.strip().splitlines()
            code = FAULT_CODES.get(f.faultCode, f.faultCode)
            return "200 Fault(%s): %s" % (code, excerpt(text[-1] if text else "")), None
        except Exception:  # noqa: BLE001
            return (
                "200 unparsable XML-RPC %s"
                % excerpt(raw[:80].decode(errors="replace")),
                None,
            )
    try:
        data = json.loads(raw)
    except ValueError:
        body = re.sub(r"<[^>]+>|\s+", " ", raw[:300].decode(errors="replace")).strip()
        return "%d %s" % (status, excerpt(body)), None
    if not isinstance(data, dict):
        return "%d %s" % (status, excerpt(str(data))), None
    if data.get("error"):
        err = data["error"]
        name = (err.get("data") or {}).get("name") or ""
        msg = (err.get("data") or {}).get("message") or err.get("message") or ""
        return "%d %s: %s" % (status, name.rsplit(".", 1)[-1], excerpt(msg)), None
    result = data.get("result")
    if isinstance(result, list):
        return "%d result: list" % status, result
    return "%d result %s" % (status, excerpt(repr(result))), result


# odoo.service.wsgi_server's RPC_FAULT_CODE_*
FAULT_CODES = {1: "ApplicationError", 2: "Warning", 3: "AccessDenied", 4: "AccessError"}


def excerpt(text, n=70):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def answer_ok(expect, answer, result):
    if expect.startswith("200 result "):
        return answer == expect
    if expect == "result":
        return answer.startswith("200 result")
    if expect == "400":
        return answer.startswith("400")
    if expect == "answered":
        # a result, a JSON-RPC error or a 4xx: never a 5xx nor a timeout
        return answer[:1] in ("2", "4")
    if expect == "refused":
        # a JSON-RPC error or a 4xx: never a 5xx, a timeout or a result
        return answer[:1] in ("2", "4") and "result" not in answer
    return expect in answer and "result" not in answer


def log_lines(server, since):
    try:
        with open(server.logpath, errors="replace") as f:
            f.seek(since)
            return f.read().splitlines()
    except OSError:
        return []


def bus_rows(st, where="TRUE"):
    from .env import psql

    return int(psql("SELECT count(*) FROM bus_bus WHERE %s" % where, db=st.db))


FORGED_ROWS = "message LIKE '%%%s%%'" % FORGED
# new channel names per poll, polls: 10,000 names the dispatcher must forget
CHURN_NAMES, CHURN_POLLS = 100, 100


def gevent_rss(server):
    """Resident memory of the server's gevent process, in MB."""
    import psutil

    return psutil.Process(server.gevent_pid()).memory_info().rss / 2**20


async def wait_all(fleet, res, wait):
    """Until every message of the stream arrived somewhere (at most `wait` s)."""
    sent = {r[0] for r in res["rows"]}
    deadline = time.time() + wait
    while time.time() < deadline:
        got = {
            pl.get("mid")
            for (_, _, _, pl) in fleet.received("lat")
            if isinstance(pl, dict)
        }
        if sent <= got:
            return True
        await asyncio.sleep(0.25)
    return False


def window_stats(fleet, res, channel="lat"):
    """Delivery of one stream of messages (the side's `stream` rows): per
    poller each mid once, seq increasing (out of order otherwise)."""
    sent = {r[0]: r for r in res["rows"]}
    seen, lat, dup, disorder = set(), [], 0, 0
    for p in fleet.pollers:
        seqs = []
        for t, _, ty, pl in p.got:
            if ty != channel or not isinstance(pl, dict) or pl.get("mid") not in sent:
                continue
            if pl["mid"] in seen:
                dup += 1
                continue
            seen.add(pl["mid"])
            seqs.append(pl["seq"])
            lat.append((t - sent[pl["mid"]][3]) * 1000.0)
        disorder += sum(1 for x, y in zip(seqs, seqs[1:]) if y <= x)
    return {
        "sent": len(sent),
        "delivered": len(seen),
        "lost": len(sent) - len(seen),
        "duplicated": dup,
        "out_of_order": disorder,
        "latencies": lat,
    }


async def hostile(
    ctx, st, n_pollers=20, seconds=20.0, baseline=10.0, rate=10.0, senders=6
):
    """Returns (kind rows, legit rows, check rows)."""
    from .stack import call
    from .stats import lat_stats, pct, poll_delta, r1

    t_part = time.time()
    side = st.side
    uids = (await call(side, "exec", code="USERS = %r\n" % USERS + MAKE_USERS))[
        "result"
    ]
    cookies = {}
    for login in USERS:
        key = login[3:] if login != "lp_other_co" else "other"
        cookies[key] = await asyncio.to_thread(
            hp.login, st.server.url, st.db, login, login
        )
    ids = st.ids[:n_pollers]
    other_pos = (await call(side, "exec", code=OTHER_POS))["result"]
    log_at = st.server.log_size()
    checks, legit = [], []
    async with Client(st, cookies, uids) as client:
        # 1. quiet: a cashier's send_to_all_poses writes nothing at all (the
        # whole table is counted: nothing else runs), a manager's does
        quiet = []
        for label, kind in (
            ("cashier call_kw", "cashier: send_to_all_poses via call_kw"),
            ("cashier XML-RPC", "cashier: send_to_all_poses via XML-RPC"),
        ):
            k = [x for x in kinds(st, ids[0], other_pos, 0) if x[0] == kind][0]
            n0 = await asyncio.to_thread(bus_rows, st)
            answer, _, _ = await client.send(k[1], k[2], k[3])
            n1 = await asyncio.to_thread(bus_rows, st)
            quiet.append((label, answer, n1 - n0))
        forged0 = await asyncio.to_thread(bus_rows, st, FORGED_ROWS)
        checks.append(
            check_row(
                "cashier send_to_all_poses refused, 0 bus rows written (quiet)",
                all(
                    a.startswith(("200 AccessError", "200 Fault(AccessError)"))
                    and d == 0
                    for _, a, d in quiet
                )
                and forged0 == 0,
                "; ".join("%s: %s, %d rows written" % q for q in quiet)
                + "; forged rows in bus_bus: %d" % forged0,
            )
        )

        # 2. the legit fleet: its own POS each, pollers 0 and 1 name each
        # channel twice
        fleet = st.fleet("addon", ids, names=("lat", "mgr"), repeat_channels=(0, 1))
        await fleet.start(ramp=1.0, settle=0)
        await fleet.quiesce()
        last = (await call(side, "bus_stats"))["max_id"]
        kl = kinds(st, ids[0], other_pos, last)

        def stream(window, prefix):
            return call(
                side,
                "stream",
                kind="addon",
                targets=ids,
                rate=rate,
                count=int(rate * window),
                prefix=prefix,
                channel="lat",
            )

        try:
            s0 = fleet.stats.as_dict()
            base = await stream(baseline, "hb_")
            await wait_all(fleet, base, 10.0)
            s1 = fleet.stats.as_dict()

            # 3. hostile traffic for `seconds`, the same stream meanwhile
            stop = asyncio.Event()
            answers = {k[0]: collections.Counter() for k in kl}
            took = {k[0]: [] for k in kl}
            bad_dups = []

            async def hostile_sender(i):
                order = collections.deque(kl)
                order.rotate(-i * len(kl) // senders)
                while not stop.is_set():
                    name, target, body, user, expect = order[0]
                    order.rotate(-1)
                    answer, result, sec = await client.send(target, body, user)
                    answers[name][answer] += 1
                    took[name].append(sec * 1000.0)
                    if expect == "result" and isinstance(result, (list, dict)):
                        bids = [n.get("id") for n in hp.notifications(result)]
                        if len(bids) != len(set(bids)):
                            bad_dups.append(bids)

            mgr = []

            async def manager():
                # positive control: a POS manager's send reaches every POS
                for k in range(3):
                    await asyncio.sleep(seconds / 4)
                    if k == 1:
                        body = ("pos.config", "send_to_all_poses", ["mgr", {"mgr": k}])
                        target = "xmlrpc"
                    else:
                        body = {
                            "model": "pos.config",
                            "method": "send_to_all_poses",
                            "args": ["mgr", {"mgr": k}],
                            "kwargs": {},
                        }
                        target = "call_kw"
                    answer, _, sec = await client.send(target, body, "manager", 30)
                    mgr.append((k, target, answer, sec))

            churned = collections.Counter()

            async def churn(i, polls=CHURN_POLLS // 2):
                # a logged-in cashier naming 100 new channel names per poll
                # (one of them its POS's, so the poll waits in the dispatcher)
                for k in range(polls):
                    names = [
                        "lp_churn_%d_%d_%d" % (i, k, n) for n in range(CHURN_NAMES - 1)
                    ]
                    body = {"channels": [kl_chan] + names, "last": last, "options": {}}
                    answer, _, _ = await client.send("poll", body, "cashier")
                    churned[answer] += 1

            kl_chan = hp.pos_channel(st.db, "lat", ids[0])
            rss0 = await asyncio.to_thread(gevent_rss, st.server)
            tasks = [asyncio.ensure_future(hostile_sender(i)) for i in range(senders)]
            tasks += [asyncio.ensure_future(churn(i)) for i in range(2)]
            mtask = asyncio.ensure_future(manager())
            t_h = time.time()
            try:
                hot = await stream(seconds, "hh_")
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                await mtask
            t_h = time.time() - t_h
            await wait_all(fleet, hot, 15.0)
            rss1 = await asyncio.to_thread(gevent_rss, st.server)
            # the manager's sends: every poller once
            deadline = time.time() + 15
            while time.time() < deadline:
                if all(
                    sum(
                        1
                        for _, _, ty, pl in p.got
                        if ty == "mgr" and pl.get("mgr") == k
                    )
                    >= 1
                    for p in fleet.pollers
                    for k, *_ in mgr
                ):
                    break
                await asyncio.sleep(0.3)
            s2 = fleet.stats.as_dict()
        finally:
            await fleet.stop()
    forged1 = await asyncio.to_thread(bus_rows, st, FORGED_ROWS)
    lines = log_lines(st.server, log_at)
    # the harness's data dir has no filestore: tracebacks about its files
    # are the harness's, not counted (none are expected during the part)
    all_tbs = st.server.tracebacks(None, since=log_at)
    tbs = [tb for tb in all_tbs if "/filestore/" not in tb]
    tb_kinds = collections.Counter(
        excerpt(tb.strip().splitlines()[-1], 90) for tb in tbs
    )
    warnings = [l for l in lines if re.match(r"\S+ \S+ \d+ WARNING ", l)]
    errors = [l for l in lines if re.match(r"\S+ \S+ \d+ (ERROR|CRITICAL) ", l)]

    rows = []
    for name, target, body, user, expect in kl:
        c = answers[name]
        top = c.most_common()
        rows.append(
            {
                "kind": name,
                "user": user or "-",
                "sent": sum(c.values()),
                "answer": " | ".join(
                    "%s%s" % (a, "" if n == sum(c.values()) else " (x%d)" % n)
                    for a, n in top[:2]
                )
                + (" | +%d other" % (len(top) - 2) if len(top) > 2 else ""),
                "p50_ms": r1(pct(took[name], 50)),
                "max_ms": r1(max(took[name]) if took[name] else None),
                "as_expected": all(answer_ok(expect, a, None) for a in c) and bool(c),
            }
        )
    for k, target, answer, sec in mgr:
        got = [
            sum(1 for _, _, ty, pl in p.got if ty == "mgr" and pl.get("mgr") == k)
            for p in fleet.pollers
        ]
        rows.append(
            {
                "kind": "manager: send_to_all_poses via %s (#%d)" % (target, k),
                "user": "manager",
                "sent": 1,
                "answer": answer,
                "p50_ms": r1(sec * 1000.0),
                "max_ms": r1(sec * 1000.0),
                "as_expected": answer in ("200 result 1", "200 result True")
                and all(g == 1 for g in got),
                "delivered": "%d/%d POSes once"
                % (sum(1 for g in got if g == 1), len(got)),
            }
        )

    for label, res, sa, sb, t_win in (
        ("baseline (no hostile traffic)", base, s0, s1, baseline),
        ("hostile traffic", hot, s1, s2, t_h),
    ):
        w = window_stats(fleet, res)
        d = poll_delta(sa, sb)
        legit.append(
            {
                "window": label,
                "seconds": round(t_win, 1),
                "pollers": len(ids),
                "sent": w["sent"],
                "delivered": w["delivered"],
                "lost": w["lost"],
                "duplicated": w["duplicated"],
                "out_of_order": w["out_of_order"],
                "polls": d["polls"],
                "failed_polls": d["failed_polls"],
                "fail_kinds": d["fail_kinds"],
                **{
                    k: v
                    for k, v in lat_stats(w["latencies"]).items()
                    if k in ("p50_ms", "p99_ms", "max_ms")
                },
                "hostile_requests": (
                    sum(r["sent"] for r in rows) if label.startswith("hostile") else 0
                ),
            }
        )
    hot_row = legit[1]
    dup_pollers = [p for p in fleet.pollers if p.index in (0, 1)]
    dup_detail = []
    for p in dup_pollers:
        mids = [
            pl.get("mid")
            for _, _, ty, pl in p.got
            if ty == "lat" and isinstance(pl, dict)
        ]
        bids = [b for _, b, _, _ in p.got]
        dup_detail.append(
            "poller %d (channels %d, %d distinct): %d msgs, %d repeated, %d repeated bus ids"
            % (
                p.index,
                len(p.channels),
                len(set(p.channels)),
                len(mids),
                len(mids) - len(set(mids)),
                len(bids) - len(set(bids)),
            )
        )
    dup_ok = (
        all(
            len([b for _, b, _, _ in p.got]) == len({b for _, b, _, _ in p.got})
            for p in dup_pollers
        )
        and not bad_dups
    )
    hostile_dup = rows[
        [k[0] for k in kl].index("channels: same POS channel twice (last 0)")
    ]
    checks += [
        check_row(
            "legit pollers: every message exactly once, in order",
            all(
                r["lost"] == 0 and r["duplicated"] == 0 and r["out_of_order"] == 0
                for r in legit
            ),
            "; ".join(
                "%(window)s: %(delivered)d/%(sent)d, lost %(lost)d dup %(duplicated)d disorder %(out_of_order)d"
                % r
                for r in legit
            ),
        ),
        check_row(
            "legit pollers: 0 failed polls",
            all(r["failed_polls"] == 0 for r in legit) and fleet.stats.ping_fail == 0,
            "; ".join(
                "%(window)s: %(failed_polls)d of %(polls)d %(fail_kinds)s" % r
                for r in legit
            )
            + "; failed pings %d" % fleet.stats.ping_fail,
        ),
        check_row(
            "server log: 0 tracebacks during the part",
            not tbs,
            "%d tracebacks (%d about the filestore left out), %d warning lines, "
            "%d error lines%s"
            % (
                len(tbs),
                len(all_tbs) - len(tbs),
                len(warnings),
                len(errors),
                (
                    "; by exception: %s; frames of the first: %s"
                    % (
                        "; ".join("%s x%d" % kv for kv in tb_kinds.most_common(5)),
                        frames(tbs[0]),
                    )
                )
                if tbs
                else "",
            ),
        ),
        check_row(
            "cashier send_to_all_poses refused (call_kw, XML-RPC), 0 rows written",
            all(
                r["as_expected"] and r["sent"]
                for r in rows
                if r["kind"].startswith("cashier:")
            )
            and forged1 == 0
            and not any(
                isinstance(pl, dict) and pl.get("forged")
                for p in fleet.pollers
                for _, _, _, pl in p.got
            ),
            "%s; bus rows with the forged payload: %d (before the part %d)"
            % (
                "; ".join(
                    "%s: %s x%d" % (r["kind"], r["answer"], r["sent"])
                    for r in rows
                    if r["kind"].startswith("cashier:")
                ),
                forged1,
                forged0,
            ),
        ),
        check_row(
            "manager send_to_all_poses accepted, each POS gets it once",
            len(mgr) == 3
            and all(r["as_expected"] for r in rows if r["user"] == "manager"),
            "; ".join(
                "%s: %s, %s" % (r["kind"], r["answer"], r.get("delivered"))
                for r in rows
                if r["user"] == "manager"
            ),
        ),
        check_row(
            "same POS channel twice: each message once",
            dup_ok and hostile_dup["as_expected"],
            "; ".join(dup_detail)
            + "; hostile polls (last 0): %d answers, %d with a repeated id"
            % (hostile_dup["sent"], len(bad_dups)),
        ),
        check_row(
            "every hostile request refused as expected (no 5xx, timeout, result)",
            all(r["as_expected"] for r in rows),
            "; ".join(
                "%s: %s" % (r["kind"], r["answer"])
                for r in rows
                if not r["as_expected"]
            )
            or "%d kinds, %d requests" % (len(kl), hot_row["hostile_requests"]),
        ),
        check_row(
            "%d new channel names polled by a cashier: answered"
            % (CHURN_POLLS * CHURN_NAMES),
            sum(churned.values()) == CHURN_POLLS
            and all(a.startswith("200 result") for a in churned),
            "%d polls of %d channels: %s; gevent process RSS %.1f MB before the"
            " hostile traffic, %.1f MB after (%+.1f MB)"
            % (
                sum(churned.values()),
                CHURN_NAMES,
                dict(churned),
                rss0,
                rss1,
                rss1 - rss0,
            ),
        ),
        {
            "check": "latency of legit deliveries",
            "result": "INFO",
            "detail": "p50/p99 %s/%s ms baseline, %s/%s ms with hostile traffic (%d requests in %.0f s)"
            % (
                legit[0]["p50_ms"],
                legit[0]["p99_ms"],
                hot_row["p50_ms"],
                hot_row["p99_ms"],
                hot_row["hostile_requests"],
                t_h,
            ),
        },
    ]
    flood_rows, flood_checks = await flood(ctx, st, ids[:FLOOD_POLLERS], rate)
    rows += flood_rows
    checks += flood_checks
    for r in checks:
        log("HOSTILE %(check)-62s %(result)s  %(detail)s" % r)
    log("hostile part: %.0f s" % (time.time() - t_part))
    return (
        rows,
        legit,
        checks,
        {
            "warnings": summarize(warnings),
            "tracebacks": dict(tb_kinds),
        },
    )


FLOOD_POLLERS, FLOOD_MAXCONN, FLOODERS, FLOOD_SECONDS = 10, 4, 8, 15.0


async def flood(ctx, st, ids, rate):
    """Anonymous and logged-out POS-shaped polls flood a server whose pool is
    small (``db_maxconn`` ``FLOOD_MAXCONN``) while logged-in POSes poll it:
    the flood must fail fast, never queue ahead of them; every message
    reaches the POSes exactly once. Returns (kind rows, check rows)."""
    from . import env as henv
    from .stack import call
    from .stats import pct, r1
    from .two_nodes import start_node

    server = henv.Server(
        ctx.wd,
        st.db,
        1,
        st.tag + "_small_pool",
        extra={"max_cron_threads": 0, "db_maxconn": FLOOD_MAXCONN},
    )
    await start_node(server)
    chan = hp.pos_channel(st.db, "lat", ids[0])
    flooding = {
        "anonymous POS-shaped poll (small pool)": None,
        "logged-out POS-shaped poll (small pool)": "0" * 40,
    }
    answers = {k: collections.Counter() for k in flooding}
    took = {k: [] for k in flooding}
    rows, checks = [], []
    try:
        fleet = st.fleet(
            "addon", ids, poll_url=server.poll_url, http_url=server.url, names=("lat",)
        )
        await fleet.start(ramp=1.0, settle=0)
        await fleet.quiesce()
        log_at = server.log_size()
        rss0 = await asyncio.to_thread(gevent_rss, server)
        last = (await call(st.side, "bus_stats"))["max_id"]
        stop = asyncio.Event()
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
        ) as session:

            async def flooder(i):
                kind = list(flooding)[i % len(flooding)]
                headers = {"Content-Type": "application/json"}
                if flooding[kind]:
                    headers["Cookie"] = "session_id=" + flooding[kind]
                body = json.dumps(
                    hp.rpc_body({"channels": [chan], "last": last, "options": {}})
                ).encode()
                while not stop.is_set():
                    t0 = time.time()
                    try:
                        async with session.post(
                            server.poll_url + "/longpolling/poll",
                            data=body,
                            headers=headers,
                            timeout=aiohttp.ClientTimeout(total=15),
                        ) as r:
                            answer, _ = describe("poll", r.status, await r.read())
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:  # noqa: BLE001
                        answer = type(e).__name__
                    answers[kind][answer] += 1
                    took[kind].append((time.time() - t0) * 1000.0)

            s0 = fleet.stats.as_dict()
            tasks = [asyncio.ensure_future(flooder(i)) for i in range(FLOODERS)]
            try:
                res = await call(
                    st.side,
                    "stream",
                    kind="addon",
                    targets=ids,
                    rate=rate,
                    count=int(rate * FLOOD_SECONDS),
                    prefix="fl_",
                    channel="lat",
                )
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
        await wait_all(fleet, res, 15.0)
        s1 = fleet.stats.as_dict()
        rss1 = await asyncio.to_thread(gevent_rss, server)
        await fleet.stop()
        w = window_stats(fleet, res)
    finally:
        server.stop()
    from .stats import poll_delta

    d = poll_delta(s0, s1)
    tbs = server.tracebacks(None, since=log_at)
    # Odoo's own: ir.http._authenticate logs what it could not check at INFO,
    # traceback included, and answers AccessDenied (no connection left)
    lines = log_lines(server, log_at)
    auth_info = sum(
        1
        for line, after in zip(lines, lines[1:])
        if " INFO " in line
        and "Exception during request Authentication." in line
        and after.startswith("Traceback")
    )
    for kind, c in answers.items():
        top = c.most_common()
        rows.append(
            {
                "kind": kind,
                "user": "-",
                "sent": sum(c.values()),
                "answer": " | ".join("%s (x%d)" % kv for kv in top[:3]),
                "p50_ms": r1(pct(took[kind], 50)),
                "max_ms": r1(max(took[kind]) if took[kind] else None),
                # refused (AccessError), or the pool is full: 503
                "as_expected": bool(c)
                and all(answer_ok("refused", a, None) or a.startswith("503") for a in c)
                and max(took[kind]) < 5000,
            }
        )
    checks += [
        check_row(
            "small pool, POS-shaped flood: legit POSes get every message once",
            w["lost"] == w["duplicated"] == w["out_of_order"] == 0
            and d["failed_polls"] == 0,
            "db_maxconn %d, %d pollers: %d/%d delivered, lost %d dup %d disorder %d;"
            " failed polls %d of %d %s"
            % (
                FLOOD_MAXCONN,
                len(ids),
                w["delivered"],
                w["sent"],
                w["lost"],
                w["duplicated"],
                w["out_of_order"],
                d["failed_polls"],
                d["polls"],
                d["fail_kinds"],
            ),
        ),
        check_row(
            "small pool, POS-shaped flood: refused at once, never queued",
            all(r["as_expected"] for r in rows),
            "; ".join(
                "%(kind)s: %(sent)d, %(answer)s, p50 %(p50_ms)s ms, max %(max_ms)s ms"
                % r
                for r in rows
            ),
        ),
        check_row(
            "small pool, POS-shaped flood: 0 tracebacks",
            len(tbs) == auth_info,
            "%d tracebacks, of which %d Odoo's INFO 'Exception during request"
            " Authentication.' (answered AccessDenied)%s; gevent process RSS"
            " %.1f MB before, %.1f MB after"
            % (
                len(tbs),
                auth_info,
                (": " + frames(tbs[0])) if tbs else "",
                rss0,
                rss1,
            ),
        ),
    ]
    return rows, checks


def frames(tb):
    """The last frames of a traceback, short: 'file:line in func' each."""
    out = []
    for line in tb.splitlines():
        m = re.match(r'\s*File "([^"]+)", line (\d+), in (\S+)', line)
        if m:
            path = m.group(1)
            for cut in ("/site-packages/", "/odoo/addons/", "/addons/", "/odoo/"):
                if cut in path:
                    path = ("odoo/" if cut == "/odoo/" else "") + path.rsplit(cut, 1)[1]
                    break
            out.append("%s:%s %s" % (path, m.group(2), m.group(3)))
    return " < ".join(reversed(out[-3:]))


def summarize(lines):
    c = collections.Counter(
        re.sub(r"\d+", "N", re.sub(r"^\S+ \S+ \d+ WARNING \S+ ", "", l))[:140]
        for l in lines
    )
    return c.most_common(15)
