"""Startup part: a whole fleet of POSes starts at once (a shop opening, a
server back), and what the HTTP workers answer meanwhile."""
import asyncio
import contextlib
import time

import aiohttp

from . import pollers as hp
from .env import log
from .stats import pct, r1


class Probe:
    """JSON-RPC /web/webclient/version_info on the HTTP port every `period`
    s, open loop (a slow answer does not delay the next probe)."""

    def __init__(self, http_url, period=0.1, timeout=10.0):
        self.url = http_url + "/web/webclient/version_info"
        self.period, self.timeout = period, timeout
        self.samples = []  # (t_sent, ms or None when failed)
        self.tasks = set()
        self.runner = None

    async def one(self, session):
        t = time.time()
        try:
            async with session.post(
                self.url,
                json=hp.rpc_body({}),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as r:
                data = await r.json(content_type=None)
            ok = r.status == 200 and "result" in data
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            ok = False
        self.samples.append((t, (time.time() - t) * 1000.0 if ok else None))

    async def run(self):
        conn = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=conn) as session:
            t0 = time.time()
            k = 0
            while not self.stopping.is_set():
                task = asyncio.ensure_future(self.one(session))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                k += 1
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        self.stopping.wait(),
                        max(0.0, t0 + k * self.period - time.time()),
                    )
            # the probes in flight are counted (answer or failure)
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def start(self):
        self.stopping = asyncio.Event()
        self.runner = asyncio.ensure_future(self.run())

    async def stop(self):
        self.stopping.set()
        await self.runner

    def window(self, t0, t1, name):
        got = [ms for t, ms in self.samples if t0 <= t < t1]
        ok = [ms for ms in got if ms is not None]
        return {
            "window": name,
            "seconds": round(t1 - t0, 1),
            "probes": len(got),
            "failed": len(got) - len(ok),
            "p50_ms": r1(pct(ok, 50)),
            "p99_ms": r1(pct(ok, 99)),
            "max_ms": r1(max(ok) if ok else None),
        }


async def connect_all(fleet, ramp, timeout, hold):
    """Start `fleet` over `ramp` s; wait for every poller's first contact
    (at most `timeout` s), then `hold` s more: the polls that follow the
    first ones may fail too. (t_start, t_end: last first contact)."""
    t_start = time.time()
    await fleet.start(ramp=ramp, settle=0)
    deadline = t_start + timeout
    while time.time() < deadline and not all(p.first_contact for p in fleet.pollers):
        await asyncio.sleep(0.1)
    t_end = time.time()
    await asyncio.sleep(hold)
    return t_start, t_end


def storm_row(mode, kind, fleet, ramp, t_start, t_end):
    n = len(fleet.pollers)
    firsts = [p.first_contact - p.started for p in fleet.pollers if p.first_contact]
    s = fleet.stats.as_dict()
    return {
        "mode": mode,
        "kind": kind,
        "pollers": n,
        "ramp_s": ramp,
        "keepalive": fleet.keepalive,
        "start_s": round(t_end - t_start, 1),
        "first_contact_p50_s": r1(pct(firsts, 50)),
        "first_contact_p99_s": r1(pct(firsts, 99)),
        "first_contact_max_s": r1(max(firsts) if firsts else None),
        # green (a poll answer) later than the client's pong timeout
        "over_pong_timeout": sum(1 for x in firsts if x > fleet.pong_timeout),
        "never": n - len(firsts),
        "polls": s["polls"],
        "failed_polls": s["poll_fail"],
        "pings": s["pings"],
        "failed_pings": s["ping_fail"],
        "fail_kinds": s["fail_kinds"],
    }


async def startup(
    ctx, st, n, ramp=5.0, before=5.0, timeout=120.0, hold=3.0, floor=None
):
    """A connection storm: `n` addon pollers, each on its own POS (the
    fleet's logged-in session), started over `ramp` s. Per poller the time
    from its start to its first contact (a poll answer); requests and PINGs
    sent until `hold` s after the last first contact; the HTTP probe before
    and during it. Then the same storm of raw-bus pollers on the same server
    and, with `floor`, of pollers of the floor server."""
    probe = Probe(st.server.url)
    probe.start()
    await asyncio.sleep(before)
    fleet = st.fleet("addon", st.ids[:n])
    try:
        t_start, t_end = await connect_all(fleet, ramp, timeout, hold)
    finally:
        # the probes of the start are all sent: stop before the fleet does
        await probe.stop()
        await fleet.stop()
    rows = [storm_row(st.mode, "addon", fleet, ramp, t_start, t_end)]
    probes = [
        probe.window(t_start - before, t_start, "before"),
        probe.window(t_start, t_end, "during the start"),
    ]
    others = [("raw", st.fleet("raw", st.ids[:n], raw_prefix="lp_storm_"))]
    if floor:
        others.append(
            (
                "floor",
                hp.Fleet(
                    floor.url,
                    floor.url,
                    st.db,
                    st.cookie,
                    "raw",
                    st.ids[:n],
                    start_last=floor.last_id(),
                    raw_prefix="f",
                ),
            )
        )
    for kind, other in others:
        # the previous fleet's connections are closed: let the server settle
        await asyncio.sleep(3)
        try:
            t0, t1 = await connect_all(other, ramp, timeout, hold)
        finally:
            await other.stop()
        rows.append(storm_row(st.mode, kind, other, ramp, t0, t1))
    for row in rows:
        log("startup: %s" % row)
    for p in probes:
        log("startup HTTP probe: %s" % p)
    return rows, probes
