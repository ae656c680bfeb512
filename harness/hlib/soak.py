"""Soak part: one message per second to every POS for a while."""
import asyncio
import time

from .env import log
from .stack import call
from .stats import pct, r1, seq_check


def rss_mb(server):
    return round(sum(server.rss().values()) / 1048576.0, 1)


async def soak(ctx, st, n, seconds, period=1.0, kind="addon"):
    ids = st.ids[:n]
    fleet = st.fleet(kind, ids, names=("soak",), raw_prefix="lp_soak_")
    targets = ids if kind == "addon" else [fleet.raw_prefix + str(i) for i in ids]
    count = int(seconds / period)
    samples = []

    async def sample_rss():
        while True:
            samples.append((time.time(), rss_mb(st.server)))
            await asyncio.sleep(5)

    sampler = None
    try:
        await fleet.start(ramp=min(5.0, n / 50.0), settle=2.0)
        sampler = asyncio.ensure_future(sample_rss())
        t0 = time.time()
        res = await call(
            st.side,
            "broadcast_seq",
            timeout=seconds + 600,
            kind=kind,
            targets=targets,
            period=period,
            count=count,
            channel="soak",
        )
        sent = res["sent"]
        deadline = time.time() + 60
        while time.time() < deadline:
            ok, lost, dup, dis = await seq_check(fleet, "soak", 0, sent)
            if lost == 0:
                break
            await asyncio.sleep(1)
        sampler.cancel()
        lat = [
            (t - res["rows"][pl["seq"]][2]) * 1000.0
            for p in fleet.pollers
            for (t, _, ty, pl) in p.got
            if ty == "soak" and isinstance(pl, dict) and pl.get("seq", -1) < sent
        ]
        ok, lost, dup, dis = await seq_check(fleet, "soak", 0, sent)
        s = fleet.stats.as_dict()
    finally:
        if sampler:
            sampler.cancel()
        await fleet.stop()
    rss = [v for _, v in samples]
    row = {
        "mode": st.mode,
        "kind": kind,
        "pollers": n,
        "seconds": round(time.time() - t0),
        "msgs_per_poller": sent,
        "messages_sent": sent * n,
        "lost": lost,
        "duplicated": dup,
        "out_of_order": dis,
        "pollers_exact": ok,
        "send_errors": res["n_errors"],
        "failed_polls": s["poll_fail"],
        "p50_ms": r1(pct(lat, 50)),
        "p99_ms": r1(pct(lat, 99)),
        "rss_start_mb": rss[0] if rss else None,
        "rss_end_mb": rss[-1] if rss else None,
        "rss_max_mb": max(rss) if rss else None,
    }
    row["pass"] = lost == 0 and dup == 0 and dis == 0
    log("soak: %s" % row)
    return [row]
