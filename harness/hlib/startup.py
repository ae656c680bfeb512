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


async def startup(ctx, st, n, ramp=5.0, before=5.0, timeout=120.0):
    """`n` addon pollers, each on its own POS (the fleet's logged-in
    session), started over `ramp` s. Per poller the time from its start to
    its first contact (a poll answer); requests and PINGs sent until the
    last first contact (the start); the HTTP probe before and during it."""
    probe = Probe(st.server.url)
    probe.start()
    await asyncio.sleep(before)
    fleet = st.fleet("addon", st.ids[:n])
    t_start = time.time()
    try:
        await fleet.start(ramp=ramp, settle=0)
        deadline = t_start + timeout
        while time.time() < deadline and not all(
            p.first_contact for p in fleet.pollers
        ):
            await asyncio.sleep(0.1)
        t_end = time.time()
        s = fleet.stats.as_dict()
    finally:
        # the probes of the start are all sent: stop before the fleet does
        await probe.stop()
        await fleet.stop()
    firsts = [p.first_contact - p.started for p in fleet.pollers if p.first_contact]
    pong_timeout = fleet.pong_timeout
    row = {
        "mode": st.mode,
        "pollers": n,
        "ramp_s": ramp,
        "start_s": round(t_end - t_start, 1),
        "first_contact_p50_s": r1(pct(firsts, 50)),
        "first_contact_p99_s": r1(pct(firsts, 99)),
        "first_contact_max_s": r1(max(firsts) if firsts else None),
        "over_pong_timeout": sum(1 for x in firsts if x > pong_timeout),
        "never": n - len(firsts),
        "polls": s["polls"],
        "failed_polls": s["poll_fail"],
        "pings": s["pings"],
        "failed_pings": s["ping_fail"],
        "fail_kinds": s["fail_kinds"],
    }
    probes = [
        probe.window(t_start - before, t_start, "before"),
        probe.window(t_start, t_end, "during the start"),
    ]
    log("startup: %s" % row)
    for p in probes:
        log("startup HTTP probe: %s" % p)
    return [row], probes
