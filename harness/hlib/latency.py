"""Latency part: one message to one POS, N pollers per level."""
import asyncio
import os
import random
import time

from . import pollers as hp
from .broadcast import broadcast, side_by_side
from .env import free_port, log
from .floor_server import FloorServer
from .stack import call
from .stats import lat_stats, pct, poll_delta, r1


async def measure_stream(
    st, fleet, kind, targets, rate, count, prefix, wait_max=60.0, channel="lat"
):
    """Send `count` messages (one transaction each) and collect latencies."""
    stats0 = fleet.stats.as_dict()
    res = await call(
        st.side,
        "stream",
        kind=kind,
        targets=targets,
        rate=rate,
        count=count,
        prefix=prefix,
        channel=channel,
    )
    sent = {r[0]: r for r in res["rows"]}
    deadline = time.time() + wait_max
    while time.time() < deadline:
        got = {
            p["mid"]
            for (_, _, _, p) in fleet.received(channel)
            if isinstance(p, dict) and p.get("mid") in sent
        }
        if len(got) >= len(sent):
            break
        await asyncio.sleep(0.25)
    recv = [
        (i, t, b, p)
        for (i, t, b, p) in fleet.received(channel)
        if isinstance(p, dict) and p.get("mid") in sent
    ]
    seen, lat, dup = set(), [], 0
    for i, t, b, p in recv:
        if p["mid"] in seen:
            dup += 1
            continue
        seen.add(p["mid"])
        lat.append((t - sent[p["mid"]][3]) * 1000.0)
    notify_ms = [(r[4] - r[3]) * 1000.0 for r in res["rows"]]
    stats1 = fleet.stats.as_dict()
    return {
        "sent": len(sent),
        "received": len(seen),
        "lost": len(sent) - len(seen),
        "duplicates": dup,
        "send_errors": res["n_errors"],
        **lat_stats(lat),
        "notify_ms_p50": r1(pct(notify_ms, 50)),
        **poll_delta(stats0, stats1),
        "latencies": lat,
    }


async def latency(
    ctx,
    st,
    levels,
    rate,
    seconds,
    kinds=("addon", "raw"),
    stream=True,
    bcast=None,
    bc_rounds=3,
    raw_rounds=None,
):
    """Latency rows of N pollers per level and kind. With a list as `bcast`,
    the same fleets then take the broadcast rounds (gevent port only), whose
    rows go there (`raw_rounds` for the raw bus, if given: its rounds may
    wait 60 s each); `stream=False` leaves the latency stream out."""
    rows = []
    floor = None
    if bcast is not None and st.server.gevent_pid():
        floor = FloorServer(
            ctx.wd.python,
            free_port(),
            os.path.join(ctx.wd.path, "floor.log"),
            backlog=ctx.backlog,
        )
    try:
        for n in levels:
            if n > len(st.ids):
                log("latency: only %d bench POSes, skipping %d" % (len(st.ids), n))
                continue
            todo = kinds + (("floor",) if floor else ())
            if floor and not stream:
                # broadcast only: the addon's and the floor's rounds in turn
                rows_bc = await interleaved(st, n, bc_rounds, floor)
                bcast.extend(rows_bc)
                todo = [k for k in todo if k not in ("addon", "floor")]
            for kind in todo:
                rounds = raw_rounds if kind == "raw" and raw_rounds else bc_rounds
                row = await level(
                    st, n, kind, rate, seconds, stream, bcast, rounds, floor
                )
                if row:
                    rows.append(row)
    finally:
        if floor:
            floor.close()
        for r in bcast or ():
            r.pop("_lat", None)
    return rows


def floor_fleet(st, ids, floor):
    # the floor's message ids are its own, not the bus's
    return hp.Fleet(
        floor.url,
        floor.url,
        st.db,
        st.cookie,
        "raw",
        ids,
        start_last=floor.last_id(),
        raw_prefix="f",
    )


async def interleaved(st, n, rounds, floor):
    """Broadcast rows of the addon and the floor, N POSes each, both fleets
    connected, their rounds in turn."""
    ids = st.ids[:n]
    fleets = {"addon": st.fleet("addon", ids), "floor": floor_fleet(st, ids, floor)}
    try:
        for fleet in fleets.values():
            await fleet.start(ramp=min(10.0, n / 200.0), settle=0)
            await fleet.quiesce()
        out = await side_by_side(st, fleets, ids, rounds, floor)
    finally:
        for fleet in fleets.values():
            await fleet.stop()
    return [out["addon"], out["floor"]]


async def level(st, n, kind, rate, seconds, stream, bcast, bc_rounds, floor):
    """One fleet of N pollers of `kind`: its latency row (None without the
    stream; the floor has none), its broadcast row appended to `bcast`."""
    ids = st.ids[:n]
    if kind == "floor":
        fleet = floor_fleet(st, ids, floor)
        stream = False
    else:
        fleet = st.fleet(kind, ids)
    # at most 4 messages/s per POS: one POS gets a message every 250 ms
    lrate = min(rate, 4.0 * n)
    count = int(lrate * seconds)
    order = list(ids)
    random.Random(n).shuffle(order)
    targets = order if kind == "addon" else [fleet.raw_prefix + str(i) for i in order]
    try:
        t0 = time.time()
        # quiesce() waits for quiet itself: no settling before it
        await fleet.start(ramp=min(10.0, n / 200.0), settle=0)
        quiet = await fleet.quiesce()
        ramp_s = time.time() - t0
        firsts = [p.first_contact - p.started for p in fleet.pollers if p.first_contact]
        failed_connect = fleet.stats.poll_fail
        fail_kinds_connect = dict(fleet.stats.fail_kinds)
        m = {}
        if stream:
            m = await measure_stream(
                st,
                fleet,
                kind,
                targets[:count],
                lrate,
                count,
                "%s%d_" % (kind[0], n),
            )
        if bcast is not None and st.server.gevent_pid():
            bcast.append(await broadcast(st, fleet, kind, ids, bc_rounds, floor=floor))
    finally:
        await fleet.stop()
    if not stream:
        return None
    m.update(
        mode=st.mode,
        kind=kind,
        pollers=n,
        connect_s=round(ramp_s, 1),
        rate=lrate,
        failed_polls_connect=failed_connect,
        fail_kinds_connect=fail_kinds_connect,
        settled=quiet,
        first_contact_p50_s=r1(pct(firsts, 50)),
        first_contact_max_s=r1(max(firsts)) if firsts else None,
        no_contact_in_10s=sum(
            1
            for p in fleet.pollers
            if not p.first_contact or p.first_contact - p.started > 10
        ),
    )
    log(
        "latency %s %-5s N=%-5d p50=%s p95=%s p99=%s lost=%d dup=%d failed_polls=%d %s "
        "(connect %.0f s, %d failed polls while connecting%s, first contact later than 10 s: %s)"
        % (
            st.mode,
            kind,
            n,
            m["p50_ms"],
            m["p95_ms"],
            m["p99_ms"],
            m["lost"],
            m["duplicates"],
            m["failed_polls"],
            m["fail_kinds"] or "",
            ramp_s,
            failed_connect,
            "" if quiet else ", NOT settled",
            m["no_contact_in_10s"],
        )
    )
    return m
