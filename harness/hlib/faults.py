"""Faults part: Odoo killed, PostgreSQL restarted, the server unreachable."""
import asyncio
import os
import subprocess
import time

from . import env as henv, pollers as hp
from .browser import after_loading
from .env import log
from .logs import save_tracebacks, tb_digest
from .report import check_row
from .stack import call
from .stats import got_seq, r1, seq_check

GAP = "pos.longpolling/gap"


def got_gap(poller):
    """Has the poller been sent the server's gap notification?"""
    return any(ty == GAP for (_, _, ty, _) in poller.got)


def _pg_cluster():
    """(version, name) of the cluster holding the harness's databases: the
    pg_lsclusters line whose data directory the server reports (a machine
    may run other clusters, which must be left alone)."""
    data_dir = henv.psql("SHOW data_directory")
    out = subprocess.run(
        ["pg_lsclusters", "-h"], capture_output=True, text=True, timeout=30
    )
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and os.path.realpath(parts[5]) == os.path.realpath(data_dir):
            return parts[0], parts[1]
    raise henv.HarnessError(
        "cannot find the PostgreSQL cluster of %s: set LP_PG_STOP and LP_PG_START"
        % data_dir
    )


def pg_ctl(what):
    """Stop or start PostgreSQL: LP_PG_STOP / LP_PG_START, else pg_ctlcluster."""
    cmd = os.environ.get("LP_PG_" + what.upper())
    if cmd:
        return subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=180
        )
    if what == "stop":
        pg_ctl.cluster = _pg_cluster()
    ver, name = pg_ctl.cluster
    return subprocess.run(
        ["pg_ctlcluster", ver, name, what], capture_output=True, text=True, timeout=180
    )


async def faults(
    ctx,
    st,
    n_pollers,
    short_outage=30.0,
    long_outage=115.0,
    period=0.5,
    browser=None,
    which=("kill", "pg", "short", "long"),
):
    """Fault tests on `st` (threaded: one port) behind a pausable TCP proxy."""
    from .proxy import TcpProxy

    results = []
    proxy = TcpProxy(st.server.http_port, henv.free_port())
    await proxy.start()
    purl = "http://127.0.0.1:%d" % proxy.port
    # the second POS page goes through a proxy of its own: after the long
    # outage it comes back before the bus GC, the first page after it
    proxy2 = TcpProxy(st.server.http_port, henv.free_port())
    await proxy2.start()
    purl2 = "http://127.0.0.1:%d" % proxy2.port
    ids = st.ids[:n_pollers]
    fleet = None
    try:
        fleet = st.fleet("addon", ids, poll_url=purl, http_url=purl, names=("seq",))
        await fleet.start(ramp=1.0, settle=2.0)
        log_from = st.server.log_size()
        state = {"next": 0}
        tb_by_fault = {}

        def count_tbs(name):
            n = len(
                st.server.tracebacks(henv.ADDON, since=state.get("log_at", log_from))
            )
            if n:
                tb_by_fault[name] = n

        def add(row):
            results.append(row)
            log("FAULT %(check)-40s %(result)s  %(detail)s" % row)

        def line(name, ok, detail):
            add(check_row(name, ok, detail))

        if browser:
            if browser.available:
                await browser.open(purl, st, urls=[purl, purl2])
            if browser.available:
                for row in await after_loading(browser, st.side):
                    add(row)
            else:
                line("real POS in Chromium", None, browser.why_not)

        async def with_traffic(
            action, planned, pre=3.0, after=10.0, wait=120.0, expect_loss=False
        ):
            state["log_at"] = st.server.log_size()
            start = state["next"]
            count = int((pre + planned + after) / period)
            targets = ids + (browser.configs if browser and browser.available else [])
            sender = asyncio.ensure_future(
                call(
                    st.side,
                    "broadcast_seq",
                    timeout=planned + 900,
                    kind="addon",
                    targets=targets,
                    period=period,
                    count=count,
                    channel="seq",
                    start=start,
                    grace=300,
                    close_all_on_error=True,
                )
            )
            await asyncio.sleep(pre)
            t_fault = time.time()
            info = await action()
            t_back = time.time()
            res = await sender
            sent = res["sent"]
            state["next"] = start + sent
            deadline = time.time() + wait
            # a logged-out session gets nothing more (see session_check)
            logged_in = bool(
                await asyncio.to_thread(hp.session_uid, st.server.url, st.cookie)
            )
            while logged_in and time.time() < deadline:
                ok, lost, dup, dis = await seq_check(fleet, "seq", start, sent)
                # after a long outage the oldest are gone for good: delivery
                # is in order, so the last one arriving everywhere ends it
                if lost == 0 or (expect_loss and got_seq(fleet, start + sent - 1)):
                    break
                await asyncio.sleep(1)
            ok, lost, dup, dis = await seq_check(fleet, "seq", start, sent)
            pages = []
            if browser and browser.available:
                while logged_in and time.time() < deadline:
                    pages = await browser.seq_check(start, sent)
                    if all(p[1] for p in pages) or expect_loss:
                        break
                    await asyncio.sleep(1)
                pages = await browser.seq_check(start, sent)
            # time from the end of the fault to the last poller having everything
            last_recv = max(
                (
                    t
                    for p in fleet.pollers
                    for (t, _, ty, pl) in p.got
                    if ty == "seq"
                    and isinstance(pl, dict)
                    and start <= pl.get("seq", -1) < start + sent
                ),
                default=None,
            )
            return {
                "sent_per_poller": sent,
                "pollers": len(ids),
                "exact": ok,
                "lost": lost,
                "duplicated": dup,
                "out_of_order": dis,
                "send_errors": res["n_errors"],
                "fault_s": round(t_back - t_fault, 1),
                "recovered_s": r1(last_recv - t_back) if last_recv else None,
                # only when everything arrived (else the last receipt may
                # even precede the end of the fault)
                "recovered": (
                    "recovered %.1fs" % (last_recv - t_back)
                    if last_recv and lost == 0
                    else "not all delivered"
                ),
                "info": info,
                "start": start,
                "t_back": t_back,
                "pages": pages,
                "waited": "" if logged_in else " (session logged out: not waited for)",
            }

        async def session_check(name, r):
            """Odoo may log the session out during a fault: then the POS
            channels are refused. Report it, log in again, check the rest."""
            uid = await asyncio.to_thread(hp.session_uid, st.server.url, st.cookie)
            if uid:
                return True
            refused = st.server.log_tail(200000).count(
                "log in as a user of the Point of Sale"
            )
            line(
                name + ": the POS's login session survived",
                False,
                "Odoo logged the session out (a request came while the database was unreachable); "
                "afterwards polls and pings are refused ('log in as a user of the Point of Sale', "
                "%d such warnings in the log) until the cashier logs in again"
                % refused,
            )
            st.cookie = await asyncio.to_thread(hp.login, st.server.url, st.db)
            fleet.cookie = st.cookie
            t_login = time.time()
            if browser and browser.available:
                # the reloaded page polls before the harness can register its
                # callbacks again: its deliveries are not checked, its colour is
                await browser.relogin(st.cookie)
                g = await browser.wait_green(
                    since=t_login,
                    timeout=browser.pong_timeout + 30,
                    what="after logging in again",
                )
                line(
                    name + ", logged in again: real POS green",
                    all(t is not None for t in g["times"]),
                    g["detail"],
                )
            start, sent = r["start"], r["sent_per_poller"]
            deadline = time.time() + 60
            while time.time() < deadline:
                ok, lost, dup, dis = await seq_check(fleet, "seq", start, sent)
                if lost == 0:
                    break
                await asyncio.sleep(1)
            line(
                name + ", logged in again: pollers got all, exactly once, in order",
                ok == len(ids),
                "%d/%d pollers exact, lost %d dup %d disorder %d"
                % (ok, len(ids), lost, dup, dis),
            )
            return False

        async def browsers_green(name, r, check_seq=True, logged_in=True):
            if not browser:
                return
            if not browser.available:
                line(name + ": real POS green again", None, browser.why_not)
                return
            if not logged_in:
                line(
                    name
                    + ": real POS green within pong timeout (%gs)"
                    % browser.pong_timeout,
                    False,
                    "the session was logged out: red until logged in again (see above)",
                )
                return
            res = await browser.wait_green(
                since=r["t_back"], timeout=browser.pong_timeout + 60
            )
            line(
                name
                + ": real POS green within pong timeout (%gs)" % browser.pong_timeout,
                res["ok"],
                res["detail"],
            )
            if check_seq:
                line(
                    name + ": real POS got all, exactly once, in order",
                    all(p[1] for p in r["pages"]),
                    "; ".join(
                        "POS %d: %s (%d got, %d distinct of %d)"
                        % (cid, "ok" if ok else "WRONG", n, u, r["sent_per_poller"])
                        for cid, ok, n, u in r["pages"]
                    ),
                )

        if browser and browser.available:
            await browser.reset_gap()

        # 1. Odoo killed and restarted
        if "kill" in which:

            async def kill():
                await asyncio.to_thread(st.server.kill)
                await asyncio.sleep(3)
                t = time.time()
                await asyncio.to_thread(st.server.start)
                return {"restart_s": round(time.time() - t, 1)}

            r = await with_traffic(kill, planned=10)
            line(
                "odoo killed+restarted: exactly once, in order",
                r["exact"] == len(ids),
                "%(exact)d/%(pollers)d pollers exact, lost %(lost)d dup %(duplicated)d disorder %(out_of_order)d, "
                "%(sent_per_poller)d msgs each, %(recovered)s after restart%(waited)s"
                % r,
            )
            count_tbs("odoo killed+restarted")
            logged_in = await session_check("odoo killed+restarted", r)
            await browsers_green("odoo killed+restarted", r, logged_in=logged_in)

        # 2. PostgreSQL restarted
        if "pg" in which:

            async def pgr():
                t = time.time()
                out = await asyncio.to_thread(pg_ctl, "stop")
                # a POS pings while the database is down (as any POS whose
                # poll just failed does): deterministic, not left to chance
                await asyncio.sleep(1)
                ping = await asyncio.to_thread(hp.ping, purl, st.cookie, st.db, ids[0])
                await asyncio.sleep(2)
                out2 = await asyncio.to_thread(pg_ctl, "start")
                return {
                    "pg_down_s": round(time.time() - t, 1),
                    "rc": (out.returncode, out2.returncode),
                    "ping_while_down": ping,
                }

            r = await with_traffic(pgr, planned=5, after=15, wait=90)
            line(
                "postgresql restarted: exactly once, in order",
                r["exact"] == len(ids),
                "%(exact)d/%(pollers)d pollers exact, lost %(lost)d dup %(duplicated)d disorder %(out_of_order)d, "
                "%(recovered)s after restart, send errors %(send_errors)d%(waited)s" % r
                + "; a ping while down got: %s" % r["info"].get("ping_while_down"),
            )
            count_tbs("postgresql restarted")
            logged_in = await session_check("postgresql restarted", r)
            await browsers_green("postgresql restarted", r, logged_in=logged_in)

        # 3. unreachable for a short while
        if "short" in which:

            async def outage():
                await proxy.pause()
                await proxy2.pause()
                await asyncio.sleep(short_outage)
                await proxy.resume()
                await proxy2.resume()
                return {}

            r = await with_traffic(outage, planned=short_outage)
            line(
                "unreachable %ds: exactly once, in order" % short_outage,
                r["exact"] == len(ids),
                "%(exact)d/%(pollers)d pollers exact, lost %(lost)d dup %(duplicated)d disorder %(out_of_order)d, "
                "%(recovered)s after reconnect%(waited)s" % r,
            )
            count_tbs("unreachable %ds" % short_outage)
            logged_in = await session_check("unreachable %ds" % short_outage, r)
            await browsers_green(
                "unreachable %ds" % short_outage, r, logged_in=logged_in
            )

        # nothing was deleted so far: no gap anywhere (the gap comes from
        # the server, only for deleted notifications the POS had not read)
        if which != ("long",):
            gapped = [p.index for p in fleet.pollers if got_gap(p)]
            pages_gaps = await browser.gaps() if browser and browser.available else None
            line(
                "faults without bus GC: no gap signal",
                not gapped and not any(g for _, g in pages_gaps or []),
                "pollers with a gap notification: %d of %d; %s"
                % (
                    len(gapped),
                    len(ids),
                    "; ".join(
                        "POS %d: %s" % (cid, g or "no gap")
                        for cid, g in pages_gaps or []
                    )
                    or "no POS page",
                ),
            )

        # 4. unreachable for longer than the bus keeps messages
        if "long" in which:
            split = bool(browser and browser.available and len(browser.pages) >= 2)
            early = {}
            if browser and browser.available:
                await browser.reset_gap()

            async def long_outage_action():
                await proxy.pause()
                await proxy2.pause()
                await asyncio.sleep(long_outage)
                if split:
                    # the second page comes back before the GC: it reads
                    # what it missed (its first answer holds it all, then
                    # the PONG turns it green); the GC then deletes only
                    # notifications it read: no gap for it
                    t = time.time()
                    await proxy2.resume()
                    early["green"] = await browser.wait_green(
                        since=t,
                        timeout=browser.pong_timeout + 30,
                        what="after its proxy came back, before the GC",
                        pages=[1],
                    )
                    await asyncio.sleep(1)
                gc = await call(st.side, "gc")
                await proxy.resume()
                if not split:
                    await proxy2.resume()
                return gc

            r = await with_traffic(
                long_outage_action,
                planned=long_outage,
                after=10,
                wait=90,
                expect_loss=True,
            )
            line(
                "unreachable %ds (> retention): no dup, in order" % long_outage,
                r["duplicated"] == 0 and r["out_of_order"] == 0,
                "bus GC deleted %s rows; lost %d of %d msgs per poller (expected: those older than 100 s), "
                "dup %d disorder %d%s"
                % (
                    r["info"].get("deleted"),
                    r["lost"] // max(1, len(ids)),
                    r["sent_per_poller"],
                    r["duplicated"],
                    r["out_of_order"],
                    r["waited"],
                ),
            )
            gapped = [p.index for p in fleet.pollers if got_gap(p)]
            line(
                "unreachable %ds, bus GC before back: gap notification to every poller"
                % long_outage,
                len(gapped) == len(ids),
                "%d of %d pollers got a %s notification" % (len(gapped), len(ids), GAP),
            )
            if browser:
                if browser.available:
                    g = await browser.gap_fired(
                        timeout=browser.pong_timeout + 60, pages=[0]
                    )
                    line(
                        "unreachable %ds, bus GC before back: gap signal fired in real POS"
                        % long_outage,
                        g["ok"],
                        g["detail"],
                    )
                    if split:
                        deadline = time.time() + 30
                        while True:
                            pages = await browser.seq_check(
                                r["start"], r["sent_per_poller"]
                            )
                            if pages[1][1] or time.time() > deadline:
                                break
                            await asyncio.sleep(1)
                        cid, ok, n, u = pages[1]
                        gaps = dict(await browser.gaps() or [])
                        line(
                            "unreachable %ds, back before the bus GC: no gap, got all exactly once, in order"
                            % long_outage,
                            ok and not gaps.get(cid) and early["green"]["ok"],
                            "POS %d: %s (%d got, %d distinct of %d), gap callback: %s; %s"
                            % (
                                cid,
                                "ok" if ok else "WRONG",
                                n,
                                u,
                                r["sent_per_poller"],
                                gaps.get(cid) or "not fired",
                                early["green"]["detail"],
                            ),
                        )
                else:
                    line(
                        "unreachable %ds: gap signal fired in real POS" % long_outage,
                        None,
                        browser.why_not,
                    )
            count_tbs("unreachable %ds" % long_outage)
            await browsers_green("unreachable %ds" % long_outage, r, check_seq=False)

        tbs = st.server.tracebacks(henv.ADDON, since=log_from)
        save_tracebacks(ctx, st.tag, tbs)
        line(
            "server log: no traceback mentioning %s" % henv.ADDON,
            not tbs,
            "%d found%s"
            % (
                len(tbs),
                (
                    " (by fault: %s): "
                    % ", ".join("%s %d" % kv for kv in tb_by_fault.items())
                    + tb_digest(tbs[0])
                )
                if tbs
                else "",
            ),
        )
        s = fleet.stats.as_dict()
        results.append(
            {
                "check": "poller stats",
                "result": "INFO",
                "detail": "polls %d, failed %d (%s)"
                % (s["polls"], s["poll_fail"], dict(list(s["fail_kinds"].items())[:5])),
            }
        )
    finally:
        if browser:
            await browser.close()
        if fleet:
            await fleet.stop()
        await proxy.close()
        await proxy2.close()
    return results
