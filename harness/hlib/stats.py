"""Numbers the parts share: percentiles, latency and poll counts, CPU time,
per-poller sequence checks."""
import asyncio
import time


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def r1(x):
    return None if x is None else round(x, 1)


def lat_stats(lat):
    """p50/p95/p99/max of latencies in ms."""
    return {
        "p50_ms": r1(pct(lat, 50)),
        "p95_ms": r1(pct(lat, 95)),
        "p99_ms": r1(pct(lat, 99)),
        "max_ms": r1(max(lat) if lat else None),
    }


def poll_delta(stats0, stats1):
    """Poll requests and failed polls (by kind) between two Stats.as_dict()."""
    kinds0 = stats0["fail_kinds"]
    return {
        "polls": stats1["polls"] - stats0["polls"],
        "failed_polls": stats1["poll_fail"] - stats0["poll_fail"],
        "fail_kinds": {
            k: v - kinds0.get(k, 0)
            for k, v in stats1["fail_kinds"].items()
            if v - kinds0.get(k, 0)
        },
    }


def cpu_s(proc):
    """CPU seconds `proc` used so far; None once it is gone (the master
    restarts a gevent process that died: its figures are lost, not wrong)."""
    import psutil

    try:
        t = proc.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return t.user + t.system


def busy_cpu_s():
    """CPU seconds all processes used so far, all cores (from /proc/stat)."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


async def until_quiet(proc, share=0.2, step=0.5, steps=2, timeout=15.0):
    """Wait until `proc` used less than `share` of a core for `steps`
    windows in a row (the re-polls after a delivery are through)."""
    deadline = time.time() + timeout
    calm = 0
    while calm < steps and time.time() < deadline:
        c0 = cpu_s(proc)
        await asyncio.sleep(step)
        c1 = cpu_s(proc)
        if c0 is None or c1 is None:
            return False
        calm = calm + 1 if c1 - c0 < share * step else 0
    return calm >= steps


async def seq_check(fleet, typ, start, count):
    """Per poller: the seq values of type typ in [start, start+count) it got.
    Returns (n_ok, n_lost, n_dup, n_disorder)."""
    lost = dup = disorder = ok = 0
    for p in fleet.pollers:
        seqs = [
            pl["seq"]
            for (_, _, ty, pl) in p.got
            if ty == typ
            and isinstance(pl, dict)
            and start <= pl.get("seq", -1) < start + count
        ]
        uniq = set(seqs)
        lost += count - len(uniq)
        dup += len(seqs) - len(uniq)
        disorder += sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
        ok += 1 if (seqs == list(range(start, start + count))) else 0
    return ok, lost, dup, disorder


def got_seq(fleet, seq, typ="seq"):
    """Has every poller got `seq` (of type typ)?"""
    return all(
        any(
            ty == typ and isinstance(pl, dict) and pl.get("seq") == seq
            for (_, _, ty, pl) in p.got
        )
        for p in fleet.pollers
    )
