"""Connected part: the dashboard's figures of a fleet of POSes, and what
recording them writes.

A server of its own (workers=2, the recorder's DEBUG lines in its log).
The fleet connects; the part reads ``pos.config``'s connection fields of
its POSes as the dashboard does until all read connected; holds the fleet
idle for a window, counting the recorder's writes (one SQL statement each,
one DEBUG line each, by process id) and the fleet's requests; stops the
fleet and reads until none reads connected; then counts the writes of a
quiet window (none expected: nothing changed).
"""
import asyncio
import collections
import re
import time

from .env import log
from .stack import Stack, call

RECORDER = "odoo.addons.pos_longpolling.models.contact_recorder"
# "<date> <time> <pid> DEBUG <db> <logger>: last contacts of N screen(s) written"
WRITE_LINE = re.compile(
    r"^\S+ (\S+) (\d+) DEBUG \S+ %s: last contacts of (\d+) screen"
    % re.escape(RECORDER)
)
READ_CODE = """
configs = env["pos.config"].browse(%s)
result = {
    "connected": len(configs.filtered("longpolling_connected")),
    "screens": sum(configs.mapped("longpolling_screen_count")),
}
"""


def writes_since(logpath, offset):
    """``(new offset, [(pid, screens), ...])`` of the recorder's writes
    logged after ``offset``."""
    with open(logpath, "rb") as f:
        f.seek(offset)
        data = f.read()
    writes = []
    for line in data.decode(errors="replace").splitlines():
        match = WRITE_LINE.match(line)
        if match:
            writes.append((int(match.group(2)), int(match.group(3))))
    return offset + len(data), writes


async def read(st, ids):
    return (await call(st.side, "exec", code=READ_CODE % list(ids)))["result"]


async def wait_for(st, ids, target, limit, every=5.0):
    """Seconds until the connected count reads ``target`` (within
    ``limit``), else None; and the samples ``[(seconds, connected)]``."""
    t0 = time.time()
    samples = []
    while True:
        figures = await read(st, ids)
        elapsed = time.time() - t0
        samples.append((round(elapsed, 1), figures["connected"]))
        if figures["connected"] == target:
            return round(elapsed, 1), samples
        if elapsed > limit:
            return None, samples
        await asyncio.sleep(every)


async def connected(ctx, n, window, quiet=60.0):
    st = Stack(
        ctx,
        2,
        "connected",
        extra={"log_handler": ":INFO,%s:DEBUG" % RECORDER},
    )
    try:
        ids = st.ids[:n]
        before = await read(st, ids)
        fleet = st.fleet("addon", ids, steady_phase=True)
        t_start = time.time()
        await fleet.start(ramp=min(5.0, n / 50.0), settle=0)
        try:
            all_in, up = await wait_for(st, ids, n, 60.0 + 30.0)
            all_in_s = round(time.time() - t_start, 1) if all_in is not None else None
            offset, _ = writes_since(st.server.logpath, 0)
            s0 = fleet.stats.as_dict()
            t0 = time.time()
            await asyncio.sleep(window)
            elapsed = time.time() - t0
            s1 = fleet.stats.as_dict()
            held = await read(st, ids)
            offset, writes = writes_since(st.server.logpath, offset)
        finally:
            await fleet.stop()
        none_left, down = await wait_for(st, ids, 0, 180.0 + 30.0, every=10.0)
        offset, _ = writes_since(st.server.logpath, offset)
        await asyncio.sleep(quiet)
        offset, quiet_writes = writes_since(st.server.logpath, offset)
    finally:
        st.close()
    minutes = elapsed / 60.0
    per_pid = collections.Counter(pid for pid, _screens in writes)
    requests = (s1["polls"] - s0["polls"]) + (s1["pings"] - s0["pings"])
    row = {
        "mode": st.mode,
        "pollers": n,
        "connected_before": before["connected"],
        "all_connected_after_s": all_in_s,
        "connected_samples": up,
        "connected_held": held["connected"],
        "screens_held": held["screens"],
        "window_s": round(elapsed),
        "writing_processes": len(per_pid),
        "statements_per_min_per_process": {
            str(pid): round(count / minutes, 2) for pid, count in per_pid.items()
        },
        "statements_per_min": round(len(writes) / minutes, 2),
        "screens_per_statement": round(
            sum(s for _p, s in writes) / max(1, len(writes)), 1
        ),
        "requests_per_min_per_pos": round(requests / minutes / n, 2),
        "none_connected_after_stop_s": none_left,
        "disconnect_samples": down,
        "quiet_s": quiet,
        "statements_when_quiet": len(quiet_writes),
    }
    row["pass"] = bool(
        all_in_s is not None
        and all_in_s <= 60.0
        and row["connected_held"] == n
        and none_left is not None
        and none_left <= 180.0
        and not quiet_writes
        and max(per_pid.values() or [0]) / minutes <= 2.0 + 0.5
    )
    log("connected: %s" % {k: v for k, v in row.items() if "samples" not in k})
    return [row]
