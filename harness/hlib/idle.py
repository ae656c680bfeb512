"""Idle part: requests and bus rows of connected POSes with nothing sent."""
import asyncio
import time

from .env import log
from .stack import call


async def idle_cost(ctx, st, n, seconds, warmup=10.0):
    """Counts over `seconds` of steady state, after the start-up (each
    client pings once when it starts) has settled for `warmup` s. An idle
    client repeats itself every `silence` (60) s: PING, PONG ending the
    poll, the next poll timing out after 50 s; a window of 60 s holds one
    cycle of every poller, whatever its phase."""
    fleet = st.fleet("addon", st.ids[:n])
    try:
        await fleet.start(ramp=min(5.0, n / 50.0), settle=warmup)
        before = await call(st.side, "bus_stats")
        s0 = fleet.stats.as_dict()
        t0 = time.time()
        await asyncio.sleep(seconds)
        elapsed = time.time() - t0
        s1 = fleet.stats.as_dict()
        after = await call(st.side, "bus_stats")
    finally:
        await fleet.stop()
    s = {k: s1[k] - s0[k] for k in ("polls", "pings", "poll_fail", "ping_fail")}
    minutes = elapsed / 60.0
    row = {
        "mode": st.mode,
        "pollers": n,
        "seconds": round(elapsed),
        "silence_s": fleet.silence,
        "pong_timeout_s": fleet.pong_timeout,
        "polls_per_min_per_pos": round(s["polls"] / minutes / n, 2),
        "pings_per_min_per_pos": round(s["pings"] / minutes / n, 2),
        "requests_per_min_per_pos": round((s["polls"] + s["pings"]) / minutes / n, 2),
        "bus_rows_per_min_per_pos": round(
            (after["max_id"] - before["max_id"]) / minutes / n, 2
        ),
        "failed_polls": s["poll_fail"],
        "failed_pings": s["ping_fail"],
        "offline_after": sum(1 for p in fleet.pollers if not p.online),
    }
    log("idle cost: %s" % row)
    return [row]
