"""Fan-out part: the cost of send_to_all_poses."""
import statistics

from .env import log
from .stack import call
from .stats import r1


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
