"""Broadcast part: one message to all N POSes at once."""
import asyncio
import contextlib
import statistics
import time

from .env import log
from .stack import call
from .stats import (
    busy_cpu_s,
    cpu_s,
    lat_stats,
    pct,
    poll_delta,
    r1,
    seq_check,
    until_quiet,
)

BCAST_SEQ = 1000000  # above the seq values of the latency stream


async def send_round(st, kind, targets, seq, floor=None):
    """One broadcast of `seq`: (rows [(seq, t_pre, t_commit)], errors).
    For the floor, t_commit is when its event fires."""
    if kind == "floor":
        t_pre = time.time()
        try:
            t_fire, _ = await asyncio.to_thread(floor.fire, seq)
        except OSError:
            return [], 1
        return [(seq, t_pre, t_fire)], 0
    res = await call(
        st.side,
        "broadcast_seq",
        kind=kind,
        targets=targets,
        period=0,
        count=1,
        channel="lat",
        start=seq,
        grace=60,
    )
    return res["rows"], res["n_errors"]


async def broadcast(
    st, fleet, kind, ids, rounds=3, wait_max=30.0, floor=None, seq0=BCAST_SEQ
):
    """One message to all N pollers of a settled fleet, `rounds` times, one
    transaction each: ``records._send_to_channel`` on their N pos.config
    records (what send_to_all_poses does), ``bus._sendmany`` to N plain
    channels (raw) or one event of the floor server (floor). Per POS
    latency from the commit (the event); CPU seconds of the gevent process
    (the floor's), of the harness (its pollers) and of the whole machine
    from just before the send to the last receipt."""
    import psutil

    t_part = time.time()
    targets = list(ids) if kind == "addon" else [fleet.raw_prefix + str(i) for i in ids]
    server_pid = floor.proc.pid if kind == "floor" else st.server.gevent_pid()
    gevent, harness = psutil.Process(server_pid), psutil.Process()
    stats0, lags0 = fleet.stats.as_dict(), len(fleet.lags)
    left = {}  # seq -> indexes of the pollers still waiting for it
    arrived = {}  # seq -> set once every poller has it
    all_in = asyncio.Event()

    def on_message(poller, t, bid, typ, payload):
        seq = payload.get("seq") if isinstance(payload, dict) else None
        if seq in left and poller.index in left[seq]:
            left[seq].discard(poller.index)
            if not left[seq]:
                arrived[seq].set()
                if not any(left.values()):
                    all_in.set()

    commits, send_ms, quiet, errors = {}, [], [], 0
    use = {"window_s": [], "gevent_cpu_s": [], "harness_cpu_s": [], "busy_cpu_s": []}
    fleet.on_message = on_message
    try:
        for k in range(rounds):
            quiet.append(await until_quiet(gevent))
            seq = seq0 + k
            left[seq], arrived[seq] = {p.index for p in fleet.pollers}, asyncio.Event()
            all_in.clear()
            t0, g0, h0, b0 = time.time(), cpu_s(gevent), cpu_s(harness), busy_cpu_s()
            rows, n_errors = await send_round(st, kind, targets, seq, floor)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrived[seq].wait(), wait_max)
            use["window_s"].append(time.time() - t0)
            g1 = cpu_s(gevent)
            if g0 is not None and g1 is not None:
                use["gevent_cpu_s"].append(g1 - g0)
            use["harness_cpu_s"].append(cpu_s(harness) - h0)
            use["busy_cpu_s"].append(busy_cpu_s() - b0)
            errors += n_errors
            if not rows:
                del left[seq]
                break  # never committed: the rounds counted stay 0..k-1
            for _, t_pre, t_commit in rows:
                commits[seq] = t_commit
                send_ms.append((t_commit - t_pre) * 1000.0)
        # A poll Odoo did not wake still re-reads the bus when it times out
        # (50 s): a receipt missing now is late, lost only after that.
        late_by = [commits[seq] + 60 for seq, waiting in left.items() if waiting]
        if late_by:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(all_in.wait(), max(late_by) - time.time())
        # late duplicates would come with the next poll: let it happen
        await until_quiet(gevent)
    finally:
        fleet.on_message = None
    lat, seen, by_round = [], set(), {seq: [] for seq in commits}
    for p in fleet.pollers:
        for t, _, _, pl in p.got:
            seq = pl.get("seq") if isinstance(pl, dict) else None
            if seq in commits and (p.index, seq) not in seen:
                seen.add((p.index, seq))
                lat.append((t - commits[seq]) * 1000.0)
                by_round[seq].append(lat[-1])
    round_p99 = [r1(pct(by_round[seq], 99)) for seq in sorted(by_round)]
    ok, lost, dup, dis = await seq_check(fleet, "lat", seq0, len(commits))
    stats1 = fleet.stats.as_dict()
    lags = [lag * 1000.0 for _, lag in fleet.lags[lags0:]]
    row = {
        "mode": st.mode,
        "kind": kind,
        "pollers": len(ids),
        "rounds": len(commits),
        "sent": len(commits) * len(ids),
        "received": len(seen),
        "lost": lost,
        "duplicates": dup,
        "out_of_order": dis,
        "late": sum(1 for x in lat if x > wait_max * 1000.0),
        **lat_stats(lat),
        "send_ms": r1(statistics.median(send_ms) if send_ms else None),
        **poll_delta(stats0, stats1),
        "send_errors": errors,
        "client_lag_p99_ms": r1(pct(lags, 99)),
        "receipt": "socket" if fleet.stamping else "task",
        "quiet_before": all(quiet),
        "part_s": round(time.time() - t_part, 1),
        "round_p99_ms": round_p99,
        "_lat": lat,  # for merge(); not saved
    }
    for key, values in use.items():
        # median: a round that waited for a late receipt does not skew it
        row[key] = round(statistics.median(values), 3) if values else None
    derived(row)
    log(
        "broadcast %(mode)s %(kind)-5s N=%(pollers)-5d p50=%(p50_ms)s p99=%(p99_ms)s "
        "max=%(max_ms)s lost=%(lost)d late=%(late)d dup=%(duplicates)d "
        "failed_polls=%(failed_polls)d "
        "%(fail_kinds)s; per round: %(window_s)s s, CPU gevent %(gevent_cpu_s)s s, "
        "harness %(harness_cpu_s)s s (%(harness_over_server_cpu)sx the server's), "
        "machine %(busy_cpu_s)s s; p99 per round %(round_p99_ms)s" % row
    )
    return row


def derived(row):
    """The figures computed from others: the first round against the
    next, the pollers' CPU against the server's they measure (the
    generator's share of the 2 cores should stay below the server's)."""
    rp = row["round_p99_ms"]
    row["first_over_next_p99"] = (
        round(rp[0] / statistics.median(rp[1:]), 2)
        if len(rp) > 1 and all(rp) and statistics.median(rp[1:])
        else None
    )
    row["harness_over_server_cpu"] = (
        round(row["harness_cpu_s"] / row["gevent_cpu_s"], 2)
        if row["harness_cpu_s"] is not None and row["gevent_cpu_s"]
        else None
    )


SUMMED = (
    "rounds",
    "sent",
    "received",
    "lost",
    "duplicates",
    "out_of_order",
    "late",
    "polls",
    "failed_polls",
    "send_errors",
    "part_s",
)
MEDIAN = ("send_ms", "window_s", "gevent_cpu_s", "harness_cpu_s", "busy_cpu_s")


def merge(rows):
    """One row from rows of one round each of the same fleet."""
    out = dict(rows[0])
    lat = [x for r in rows for x in r["_lat"]]
    out.update(lat_stats(lat))
    for key in SUMMED:
        out[key] = round(sum(r[key] for r in rows), 1)
    for key in MEDIAN:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    kinds = {}
    for r in rows:
        for k, v in r["fail_kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    out["fail_kinds"] = kinds
    lags = [r["client_lag_p99_ms"] for r in rows if r["client_lag_p99_ms"] is not None]
    out["client_lag_p99_ms"] = max(lags) if lags else None
    out["quiet_before"] = all(r["quiet_before"] for r in rows)
    out["round_p99_ms"] = [p for r in rows for p in r["round_p99_ms"]]
    out["_lat"] = lat
    derived(out)
    return out


async def side_by_side(st, fleets, ids, rounds, floor):
    """`rounds` rounds of each of `fleets` ({kind: settled fleet}), one
    round of each in turn: the load others put on the machine weighs on
    all alike. {kind: merged row}."""
    done = {kind: [] for kind in fleets}
    for k in range(rounds):
        for kind, fleet in fleets.items():
            done[kind].append(
                await broadcast(
                    st, fleet, kind, ids, 1, floor=floor, seq0=BCAST_SEQ + k
                )
            )
    out = {}
    for kind, rows in done.items():
        out[kind] = merge(rows)
        out[kind]["interleaved"] = True
        log(
            "broadcast %s %s N=%d interleaved: p50=%s p99=%s lost=%d dup=%d "
            "failed_polls=%d; p99 per round %s; harness %sx the server's CPU"
            % (
                st.mode,
                kind,
                len(ids),
                out[kind]["p50_ms"],
                out[kind]["p99_ms"],
                out[kind]["lost"],
                out[kind]["duplicates"],
                out[kind]["failed_polls"],
                out[kind]["round_p99_ms"],
                out[kind]["harness_over_server_cpu"],
            )
        )
    return out
