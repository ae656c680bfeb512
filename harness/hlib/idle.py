"""Idle part: requests and bus rows of connected POSes with nothing sent."""
import asyncio
import collections
import time

from .env import log
from .stack import call


async def idle_cost(ctx, st, n, seconds, warmup=10.0):
    """Counts over `seconds` of steady state, after the start-up (a peek
    each, no PING) has settled for `warmup` s. An idle client polls again
    when Odoo ends its poll (50 s) and PINGs once per `check_interval`
    (600 s) without a notification. Each poller starts at a random phase of
    that cycle (``steady_phase``), as in a fleet running for long: a window
    of W s then counts the PINGs of about W/600 of the pollers (noisy below
    600 s), a window of 600 s one per poller."""
    fleet = st.fleet("addon", st.ids[:n], steady_phase=True)
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
        "check_interval_s": fleet.check_interval,
        "pong_timeout_s": fleet.pong_timeout,
        "polls_per_min_per_pos": round(s["polls"] / minutes / n, 2),
        "pings_per_min_per_pos": round(s["pings"] / minutes / n, 2),
        "requests_per_min_per_pos": round((s["polls"] + s["pings"]) / minutes / n, 2),
        "bus_rows_per_min_per_pos": round(
            (after["max_id"] - before["max_id"]) / minutes / n, 2
        ),
        "failed_polls": s["poll_fail"],
        "failed_pings": s["ping_fail"],
        "ping_fail_kinds": dict(
            collections.Counter(
                k[5:80]
                for t, _, k in fleet.fail_log
                if k.startswith("ping:") and t >= t0
            ).most_common(3)
        ),
        "offline_after": sum(1 for p in fleet.pollers if not p.online),
        "pings_expected_per_min_per_pos": round(60.0 / fleet.check_interval, 2),
        "pings_note": (
            "PINGs come once per check_interval (%gs) per POS, pollers at random "
            "phases: %ss count about %.0f%% of the POSes' PINGs%s"
            % (
                fleet.check_interval,
                round(elapsed),
                min(100.0, 100.0 * elapsed / fleet.check_interval),
                "" if elapsed >= fleet.check_interval else " (noisy; --long: all)",
            )
        ),
    }
    log("idle cost: %s" % row)
    return [row]
