"""Two-nodes part: Odoo's multi-node set-up on one machine. A second
server on the same database and data dir (shared sessions), POSes polling
either node, messages sent through either node's HTTP port."""
import asyncio
import os
import time

import aiohttp
import psutil

from . import env as henv, pollers as hp
from .env import log
from .logs import summarize_log
from .report import check_row
from .stack import call
from .stats import pct, r1, seq_check, until_quiet

CHANNEL = "two_nodes"


async def send_to_all(session, node, cookie, seq, name):
    """pos.config.send_to_all_poses through `node`'s HTTP port as admin (a
    POS manager): (t before the call, its seconds, error or None)."""
    body = hp.rpc_body(
        {
            "model": "pos.config",
            "method": "send_to_all_poses",
            "args": [CHANNEL, {"seq": seq, "via": name}],
            "kwargs": {},
        }
    )
    t0 = time.time()
    try:
        async with session.post(
            node.url + "/web/dataset/call_kw",
            json=body,
            headers={"Cookie": "session_id=" + cookie},
            timeout=aiohttp.ClientTimeout(total=60),
        ) as r:
            data = await r.json(content_type=None)
        err = data.get("error") and str(data["error"])[:200]
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
        err = "%s: %s" % (type(e).__name__, e)
    return t0, time.time() - t0, err


async def start_node(server, timeout=90.0):
    """Start `server`; while PostgreSQL has no connection left (the first
    node's pool keeps up to db_maxconn open, other work may share the
    cluster), try again until `timeout`."""
    deadline = time.time() + timeout
    while True:
        try:
            return await asyncio.to_thread(server.start)
        except henv.HarnessError as e:
            if "too many clients" not in str(e) or time.time() > deadline:
                raise
            log("two nodes: PostgreSQL has no connection left, starting again")
            server.stop()
            await asyncio.sleep(2)


async def two_nodes(ctx, st, n, count=10, period=0.5, wait=60.0):
    """`n` POS pollers, half on each node's gevent port (PINGs to the same
    node); `count` send_to_all_poses, alternately through each node's HTTP
    port, with exactly the fleet's POSes open. Every poller must get every
    message exactly once, in order; latency from just before the call."""
    # a small pool: the first node's may hold 64 of PostgreSQL's 100
    second = henv.Server(
        ctx.wd,
        st.db,
        1,
        st.tag + "_node2",
        extra={"max_cron_threads": 0, "db_maxconn": 16},
    )
    nodes = {"node1": st.server, "node2": second}
    fleets, rows, checks = {}, [], []
    await start_node(second)
    try:
        await call(st.side, "set_open", count=n)
        ids = st.ids[:n]
        half = {"node1": ids[: n // 2], "node2": ids[n // 2 :]}
        for name, node in nodes.items():
            fleets[name] = st.fleet(
                "addon",
                half[name],
                poll_url=node.poll_url,
                http_url=node.url,
                names=(CHANNEL,),
            )
            await fleets[name].start(ramp=min(5.0, n / 100.0), settle=0)
        for f in fleets.values():
            await f.quiesce()
        sent = []  # (seq, via, t0, seconds, error)
        async with aiohttp.ClientSession() as session:
            for k in range(count):
                via = "node1" if k % 2 == 0 else "node2"
                t0, sec, err = await send_to_all(session, nodes[via], st.cookie, k, via)
                sent.append((k, via, t0, sec, err))
                await asyncio.sleep(max(0.0, t0 + period - time.time()))
        errors = [s for s in sent if s[4]]
        deadline = time.time() + wait
        while time.time() < deadline:
            lost = sum(
                [(await seq_check(f, CHANNEL, 0, count))[1] for f in fleets.values()]
            )
            if not lost:
                break
            await asyncio.sleep(0.5)
        # a duplicate would come with a next poll: let the re-polls end
        for node in nodes.values():
            await until_quiet(psutil.Process(node.gevent_pid()))
        t_send = {k: (via, t0, sec) for k, via, t0, sec, _ in sent}
        exact = total = lost = dup = dis = 0
        for recv, f in fleets.items():
            ok, lo, du, di = await seq_check(f, CHANNEL, 0, count)
            exact, lost, dup, dis = exact + ok, lost + lo, dup + du, dis + di
            total += len(f.pollers)
            for via in nodes:
                lat = [
                    (t - t_send[pl["seq"]][1]) * 1000.0
                    for p in f.pollers
                    for (t, _, ty, pl) in p.got
                    if ty == CHANNEL
                    and isinstance(pl, dict)
                    and pl.get("seq") in t_send
                    and t_send[pl["seq"]][0] == via
                ]
                call_ms = [sec * 1000.0 for v, _, sec in t_send.values() if v == via]
                s = f.stats.as_dict()
                rows.append(
                    {
                        "sent_via": via,
                        "received_on": recv,
                        "pollers": len(f.pollers),
                        "messages": sum(1 for v, _, _ in t_send.values() if v == via),
                        "receipts": len(lat),
                        "call_p50_ms": r1(pct(call_ms, 50)),
                        "p50_ms": r1(pct(lat, 50)),
                        "p99_ms": r1(pct(lat, 99)),
                        "max_ms": r1(max(lat) if lat else None),
                        "polls": s["polls"],
                        "failed_polls": s["poll_fail"],
                        "pings": s["pings"],
                    }
                )
        checks.append(
            check_row(
                "two nodes: every poller got every message exactly once, in order",
                exact == total and not errors,
                "%d/%d pollers exact, lost %d dup %d disorder %d; %d sends, %d failed%s"
                % (
                    exact,
                    total,
                    lost,
                    dup,
                    dis,
                    count,
                    len(errors),
                    (": " + errors[0][4]) if errors else "",
                ),
            )
        )
        tbs = second.tracebacks(henv.ADDON)
        checks.append(
            check_row(
                "two nodes: no traceback mentioning %s in the second node's log"
                % henv.ADDON,
                not tbs,
                "%d found" % len(tbs),
            )
        )
    finally:
        for f in fleets.values():
            await f.stop()
        await asyncio.to_thread(second.stop)
        await call(st.side, "set_open", count=len(st.ids))
        try:
            summarize_log(
                second.logpath,
                os.path.join(ctx.results, "odoo_log_%s.txt" % second.tag),
            )
        except OSError as e:
            log("log summary failed: %s" % e)
    for r in rows:
        log(
            "two nodes: via %(sent_via)s, on %(received_on)s: p50=%(p50_ms)s "
            "p99=%(p99_ms)s receipts=%(receipts)d failed_polls=%(failed_polls)d" % r
        )
    for c in checks:
        log("two nodes: %(check)s %(result)s %(detail)s" % c)
    return rows, checks
