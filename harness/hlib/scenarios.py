"""The harness's scenarios. Each returns rows for the results tables."""
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import time

from . import env as henv, pollers as hp
from .browser import after_loading
from .env import log
from .report import check_row


def short_paths(text):
    """A traceback without machine paths: each file from its package on
    (site-packages, the addon, Odoo's addons, Odoo)."""
    import re

    def cut(m):
        path = m.group(1)
        for mark, keep in (
            ("/site-packages/", ""),
            ("/%s/" % henv.ADDON, henv.ADDON + "/"),
            (os.path.realpath(henv.REPO) + "/", henv.ADDON + "/"),
            ("/odoo/addons/", "odoo/addons/"),
            ("/addons/", "addons/"),
            ("/odoo/", "odoo/"),
            ("/lib/python", "python"),
        ):
            if mark in path:
                return 'File "%s%s"' % (keep, path.rsplit(mark, 1)[1])
        return 'File "%s"' % os.path.basename(path)

    return re.sub(r'File "([^"]+)"', cut, text)


def save_tracebacks(ctx, tag, tbs, limit=5):
    """The first `limit` tracebacks, whole (paths shortened), for the
    results: the evidence behind a failed traceback check."""
    path = os.path.join(ctx.results, "tracebacks_%s.txt" % tag)
    if not tbs:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w") as f:
        f.write(
            "# %d traceback(s) with a frame in %s; the first %d\n\n"
            % (len(tbs), henv.ADDON, min(limit, len(tbs)))
        )
        for tb in tbs[:limit]:
            f.write(short_paths(tb) + "\n\n")


def tb_digest(tb):
    """The frames of the addon and the exception lines of a traceback."""
    lines = tb.splitlines()
    keep = [
        henv.ADDON + "/" + ln.split("/%s/" % henv.ADDON, 1)[1].strip()
        for ln in lines
        if ("/%s/" % henv.ADDON) in ln
    ]
    keep += [
        l.strip()
        for l in lines
        if l.strip() and not l.startswith((" ", "\t", "Traceback"))
    ]
    return " | ".join(keep)[:700]


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


def summarize_log(logpath, out):
    """ERROR/WARNING/CRITICAL lines of an Odoo log by message, with counts and
    the last line of the first traceback after each: evidence that survives
    the temp dir. Messages about missing filestore files (the harness's data
    dir has none of the template's) are left out."""
    import collections
    import re

    counts, first_tb = collections.Counter(), {}
    pending = None
    with open(logpath, errors="replace") as f:
        for line in f:
            m = re.match(
                r"\S+ \S+ \d+ (ERROR|WARNING|CRITICAL) (\S+) (\S+): (.*)", line
            )
            g = re.search(r"\} failed with (\w+)", line)
            if g:
                counts["gevent: request failed with %s" % g.group(1)] += 1
                continue
            if m:
                msg = re.sub(r"\d+", "N", m.group(4))[:160]
                key = "%s %s: %s" % (m.group(1), m.group(3), msg)
                if "_read_file" in key or "filestore" in key:
                    pending = None
                    continue
                counts[key] += 1
                pending = key if key not in first_tb else None
            elif (
                pending
                and line.strip()
                and not line.startswith((" ", "Traceback", "\t"))
            ):
                if (
                    re.match(r"^[\w.]+(Error|Exception|Full|Denied)\b", line.strip())
                    or ": " in line
                ):
                    first_tb[pending] = line.strip()[:200]
                    pending = None
    with open(out, "w") as f:
        f.write(
            "# %s\n# count  level logger: message  [exception of the first occurrence]\n"
            % os.path.basename(logpath)
        )
        for key, n in counts.most_common(30):
            f.write(
                "%6d  %s%s\n"
                % (n, key, ("  [%s]" % first_tb[key]) if key in first_tb else "")
            )


class Stack:
    """One Odoo server on its own fresh database + in-Odoo helper + login."""

    def __init__(self, ctx, workers, tag, extra=None):
        self.ctx, self.workers, self.tag = ctx, workers, tag
        self.db = henv.fresh_db(ctx.template, tag)
        self.server = henv.Server(ctx.wd, self.db, workers, tag, extra=extra)
        # the helper loads its registry while the server starts
        self.server.start(wait=False)
        try:
            self.side = henv.Side(ctx.wd, self.db)
            self.server.wait_ready()
        except BaseException:
            self.server.stop()
            raise
        ids = self.side.call("bench_ids")
        self.ids, self.other_ids = ids["ids"], ids["others"]
        self.cookie = hp.login(self.server.url, self.db)
        self.mode = "workers=%d" % workers if workers else "threaded"

    def fleet(self, kind, ids, poll_url=None, http_url=None, **kw):
        start_last = self.side.call("bus_stats")["max_id"]
        return hp.Fleet(
            poll_url or self.server.poll_url,
            http_url or self.server.url,
            self.db,
            self.cookie,
            kind,
            ids,
            start_last=start_last,
            **kw
        )

    def close(self, drop=True):
        try:
            self.side.close()
        finally:
            self.server.stop()
            try:
                summarize_log(
                    self.server.logpath,
                    os.path.join(self.ctx.results, "odoo_log_%s.txt" % self.tag),
                )
            except Exception as e:  # noqa: BLE001
                log("log summary failed: %s" % e)
            if drop:
                henv.drop_db(self.db)


async def call(side, cmd, timeout=900, **kw):
    return await asyncio.to_thread(side.call, cmd, timeout, **kw)


# ------------------------------------------------------------------ latency
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
):
    """Latency rows of N pollers per level and kind. With a list as `bcast`,
    the same fleets then take the broadcast rounds (gevent port only), whose
    rows go there; `stream=False` leaves the latency stream out."""
    rows = []
    for n in levels:
        if n > len(st.ids):
            log("latency: only %d bench POSes, skipping %d" % (len(st.ids), n))
            continue
        for kind in kinds:
            ids = st.ids[:n]
            fleet = st.fleet(kind, ids)
            # at most 4 messages/s per POS: one POS gets a message every 250 ms
            lrate = min(rate, 4.0 * n)
            count = int(lrate * seconds)
            order = list(ids)
            random.Random(n).shuffle(order)
            targets = (
                order if kind == "addon" else [fleet.raw_prefix + str(i) for i in order]
            )
            try:
                t0 = time.time()
                # quiesce() waits for quiet itself: no settling before it
                await fleet.start(ramp=min(10.0, n / 200.0), settle=0)
                quiet = await fleet.quiesce()
                ramp_s = time.time() - t0
                first_pongs = [
                    p.first_pong - p.started for p in fleet.pollers if p.first_pong
                ]
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
                    bcast.append(await broadcast(st, fleet, kind, ids, bc_rounds))
            finally:
                await fleet.stop()
            if not stream:
                continue
            m.update(
                mode=st.mode,
                kind=kind,
                pollers=n,
                connect_s=round(ramp_s, 1),
                rate=lrate,
                failed_polls_connect=failed_connect,
                fail_kinds_connect=fail_kinds_connect,
                settled=quiet,
                first_pong_p50_s=r1(pct(first_pongs, 50)) if fleet.ping else None,
                first_pong_max_s=r1(max(first_pongs))
                if fleet.ping and first_pongs
                else None,
                no_pong_in_10s=(
                    sum(
                        1
                        for p in fleet.pollers
                        if not p.first_pong or p.first_pong - p.started > 10
                    )
                    if fleet.ping
                    else None
                ),
            )
            rows.append(m)
            log(
                "latency %s %-5s N=%-5d p50=%s p95=%s p99=%s lost=%d dup=%d failed_polls=%d %s "
                "(connect %.0f s, %d failed polls while connecting%s, first PONG later than 10 s: %s)"
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
                    m["no_pong_in_10s"],
                )
            )
    return rows


# ------------------------------------------------------------------ broadcast
BCAST_SEQ = 1000000  # above the seq values of the latency stream


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


async def broadcast(st, fleet, kind, ids, rounds=3, wait_max=30.0):
    """One message to all N pollers of a settled fleet, `rounds` times, one
    transaction each: ``records._send_to_channel`` on their N pos.config
    records (what send_to_all_poses does) or ``bus._sendmany`` to N plain
    channels (raw). Per POS latency from the commit; CPU seconds of the
    gevent process, of the harness (its pollers) and of the whole machine
    from just before the send to the last receipt."""
    import psutil

    t_part = time.time()
    targets = list(ids) if kind == "addon" else [fleet.raw_prefix + str(i) for i in ids]
    gevent, harness = psutil.Process(st.server.gevent_pid()), psutil.Process()
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
            seq = BCAST_SEQ + k
            left[seq], arrived[seq] = {p.index for p in fleet.pollers}, asyncio.Event()
            all_in.clear()
            t0, g0, h0, b0 = time.time(), cpu_s(gevent), cpu_s(harness), busy_cpu_s()
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
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrived[seq].wait(), wait_max)
            use["window_s"].append(time.time() - t0)
            g1 = cpu_s(gevent)
            if g0 is not None and g1 is not None:
                use["gevent_cpu_s"].append(g1 - g0)
            use["harness_cpu_s"].append(cpu_s(harness) - h0)
            use["busy_cpu_s"].append(busy_cpu_s() - b0)
            errors += res["n_errors"]
            if not res["rows"]:
                del left[seq]
                break  # never committed: the rounds counted stay 0..k-1
            for _, t_pre, t_commit in res["rows"]:
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
    lat, seen = [], set()
    for p in fleet.pollers:
        for t, _, _, pl in p.got:
            seq = pl.get("seq") if isinstance(pl, dict) else None
            if seq in commits and (p.index, seq) not in seen:
                seen.add((p.index, seq))
                lat.append((t - commits[seq]) * 1000.0)
    ok, lost, dup, dis = await seq_check(fleet, "lat", BCAST_SEQ, len(commits))
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
    }
    for key, values in use.items():
        # median: a round that waited for a late receipt does not skew it
        row[key] = round(statistics.median(values), 3) if values else None
    log(
        "broadcast %(mode)s %(kind)-5s N=%(pollers)-5d p50=%(p50_ms)s p99=%(p99_ms)s "
        "max=%(max_ms)s lost=%(lost)d late=%(late)d dup=%(duplicates)d "
        "failed_polls=%(failed_polls)d "
        "%(fail_kinds)s; per round: %(window_s)s s, CPU gevent %(gevent_cpu_s)s s, "
        "harness %(harness_cpu_s)s s, machine %(busy_cpu_s)s s" % row
    )
    return row


# ------------------------------------------------------------------ fan-out cost
async def send_all_cost(ctx, st, sizes, repeats=3):
    rows = []
    for n in sizes:
        if n > len(st.ids):
            continue
        opened = await call(st.side, "set_open", count=n)
        samples = [await call(st.side, "send_all") for _ in range(repeats)]
        med = lambda key: r1(statistics.median(s[key] for s in samples))  # noqa: E731
        row = {
            "open_poses": opened["open_sessions"],
            "server_ms": med("total_ms"),
            "call_ms": med("call_ms"),
            "commit_ms": med("commit_ms"),
            "notify_ms": med("notify_ms"),
            "sql_statements": samples[-1]["sql"],
            "bus_rows": samples[-1]["bus_rows"],
            "notifies": samples[-1]["notifies"],
            "notify_channels": samples[-1]["notify_channels"],
            "raw_sendmany_ms": med("raw_sendmany_ms"),
            "raw_sendmany_sql": samples[-1]["raw_sendmany_sql"],
        }
        rows.append(row)
        log(
            "send_to_all_poses to %(open_poses)d: %(server_ms)s ms, %(sql_statements)d SQL, "
            "%(bus_rows)d bus rows, %(notifies)d NOTIFY" % row
        )
    await call(st.side, "set_open", count=len(st.ids))
    return rows


# ------------------------------------------------------------------ idle cost
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


# ------------------------------------------------------------------ capacity
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


# ------------------------------------------------------------------ soak
def rss_mb(server):
    return round(sum(server.rss().values()) / 1048576.0, 1)


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


GAP = "pos.longpolling/gap"


def got_gap(poller):
    """Has the poller been sent the server's gap notification?"""
    return any(ty == GAP for (_, _, ty, _) in poller.got)


def got_seq(fleet, seq, typ="seq"):
    """Has every poller got `seq` (of type typ)?"""
    return all(
        any(
            ty == typ and isinstance(pl, dict) and pl.get("seq") == seq
            for (_, _, ty, pl) in p.got
        )
        for p in fleet.pollers
    )


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


# ------------------------------------------------------------------ faults
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
