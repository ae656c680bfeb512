"""Capacity part: the largest fleet one gevent worker serves under the limit."""
from .latency import latency


async def capacity(ctx, st, steps, rate, seconds, limit_ms=100.0, measured=()):
    """Largest fleet with p99 < limit and nothing lost; stops after two
    steps in a row over the limit. A step with a row in `measured` (latency
    points of the same server, rate and length) is not measured again."""
    rows = []
    best = 0
    misses = 0
    known = {r["pollers"]: r for r in measured if r["mode"] == st.mode}
    for n in steps:
        if n > len(st.ids):
            break
        if n in known:
            r = dict(known[n], from_latency=True)
        else:
            r = (await latency(ctx, st, [n], rate, seconds, kinds=("addon",)))[0]
        ok = r["p99_ms"] is not None and r["p99_ms"] < limit_ms and r["lost"] == 0
        r["under_limit"] = ok
        rows.append(r)
        if ok:
            best = n
            misses = 0
        else:
            misses += 1
            if misses >= 2:
                break
    return rows, best
