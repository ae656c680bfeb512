#!/usr/bin/env python3
# pylint: disable=print-used
"""Live end-to-end / fault / performance harness of pos_longpolling.

    ODOO_BIN=/path/to/odoo-bin [ODOO_PYTHON=/path/to/python] python harness/run.py [--long] [--only ...]

See harness/README.rst.
"""
import argparse
import asyncio
import contextlib
import os
import platform
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hlib import env as henv  # noqa: E402
from hlib.env import log  # noqa: E402

PARTS = (
    "latency",
    "broadcast",
    "fanout",
    "idle",
    "capacity",
    "soak",
    "hostile",
    "startup",
    "two_nodes",
    "nginx",
    "faults",
    "browser",
    "connected",
    "sync_server",
)

# The settings of the parts: (default, --long, --quick); None = the default.
SETTINGS = {
    "levels": ([1, 50, 200, 1000], None, [1, 20]),  # latency and broadcast
    "threaded_levels": ([1, 50], [1, 50, 200, 1000], [1, 20]),
    "rate": (20.0, None, None),
    "lat_seconds": (8.0, 30.0, 4.0),
    "bc_rounds": (3, None, 2),
    "raw_rounds": (None, None, None),  # None: bc_rounds
    "fan_sizes": ([10, 100, 1000], None, [10, 100]),
    "idle_pollers": (50, None, 10),
    "idle_seconds": (60.0, 600.0, 60.0),
    # steps that are latency points of the same length are not measured again
    "cap_steps": (
        [200, 1000, 1200],
        [50, 100, 200, 400, 700, 1000, 1500, 2000, 2500, 3000],
        [50, 100],
    ),
    "cap_seconds": (8.0, 15.0, 4.0),
    "soak_pollers": (200, None, 20),
    "soak_seconds": (45.0, 600.0, 15.0),
    "soak_raw": (False, True, None),
    # hostile: legit pollers, seconds of hostile traffic, of baseline before
    "hostile_pollers": (20, None, 10),
    "hostile_seconds": (20.0, 60.0, 8.0),
    "hostile_baseline": (10.0, 20.0, 5.0),
    # startup: pollers started within the ramp (s)
    "startup_pollers": (1000, 5000, 100),
    "startup_ramp": (5.0, 10.0, None),
    "two_nodes_pollers": (200, None, 20),
    # broadcast through nginx (README's configuration, then without keep-alive)
    "nginx_pollers": (1000, None, 50),
    "two_nodes_messages": (10, 20, 6),
    "fault_pollers": (20, None, 5),
    "short_outage": (30.0, None, 10.0),
    "long_outage": (105.0, 115.0, 105.0),
    "browser_pages": (2, None, 1),
    # connected: POS pollers, seconds held idle while all read connected
    "connected_pollers": (1000, None, 100),
    "connected_window": (120.0, 600.0, 60.0),
    "sync_messages": (10, 20, 5),
}


def parse():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--long",
        action="store_true",
        help="long run: 10-minute soak and idle window, more samples",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (a few minutes): small fleets, short waits",
    )
    ap.add_argument(
        "--only", default="", help="comma-separated parts among: " + ",".join(PARTS)
    )
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out")
    ap.add_argument("--levels", default="", help="latency levels, e.g. 1,50,200,1000")
    ap.add_argument(
        "--soak-raw",
        action="store_true",
        help="repeat the soak on the raw bus (always with --long)",
    )
    ap.add_argument(
        "--threaded-levels", default="", help="latency levels of the threaded server"
    )
    ap.add_argument(
        "--max-pos",
        type=int,
        default=1200,
        help="POS configs in the harness template (default 1200, 3000 with --long)",
    )
    ap.add_argument(
        "--results",
        default=os.path.join(henv.HARNESS, "results"),
        help="where CSV/PNG go",
    )
    ap.add_argument(
        "--keepalive",
        action="store_true",
        help="pollers reuse HTTP connections (default: one connection per request)",
    )
    ap.add_argument(
        "--pollers",
        choices=("light", "aiohttp"),
        default="light",
        help="poll client: light (default, asyncio protocol) or aiohttp",
    )
    ap.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="longpolling_backlog of the workers=2 server and the floor's backlog "
        "(default: none, gevent's 128)",
    )
    for name, what in (
        ("--bc-rounds", "broadcast rounds (3)"),
        ("--raw-rounds", "broadcast rounds of the raw bus (default: as --bc-rounds)"),
        ("--nginx-pollers", "POSes behind nginx (1000)"),
        ("--startup-pollers", "POSes of the storm (1000, 5000 with --long)"),
    ):
        ap.add_argument(name, type=int, default=0, help=what)
    ap.add_argument(
        "--startup-ramp",
        type=float,
        default=0,
        help="seconds the storm's POSes start in (5, 10 with --long)",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp dir (logs) and the run databases",
    )
    return ap.parse_args()


def plan(args):
    only = [p for p in args.only.split(",") if p] or list(PARTS)
    bad = [p for p in only + args.skip.split(",") if p and p not in PARTS]
    if bad:
        raise SystemExit(
            "unknown part(s): %s (choose among %s)" % (",".join(bad), ",".join(PARTS))
        )
    parts = [p for p in only if p not in args.skip.split(",")]
    c = {}
    for key, (default, long_, quick) in SETTINGS.items():
        # --quick wins over --long (both may be given)
        c[key] = default
        if args.long and long_ is not None:
            c[key] = long_
        if args.quick and quick is not None:
            c[key] = quick
    if args.long and args.max_pos == 1200:
        args.max_pos = 5000
    if args.soak_raw:
        c["soak_raw"] = True
    if args.levels:
        c["levels"] = [int(x) for x in args.levels.split(",")]
    for key in ("bc_rounds", "raw_rounds", "nginx_pollers"):
        if getattr(args, key):
            c[key] = getattr(args, key)
    if args.startup_pollers:
        c["startup_pollers"] = args.startup_pollers
    if args.startup_ramp:
        c["startup_ramp"] = args.startup_ramp
    if args.threaded_levels:
        c["threaded_levels"] = [int(x) for x in args.threaded_levels.split(",")]
    return parts, c


class Ctx:
    pass


class Timer:
    """Wall-clock seconds per part (and per server set-up), in run order."""

    def __init__(self, res):
        self.durations = res.setdefault("durations_s", {})

    @contextlib.contextmanager
    def __call__(self, name):
        t0 = time.time()
        try:
            yield
        finally:
            took = time.time() - t0
            self.durations[name] = round(self.durations.get(name, 0) + took, 1)
            log("part %s: %.0f s" % (name, took))


async def main_async(args, parts, c, ctx, res):
    from hlib import capacity, fanout, faults, idle, latency, soak
    from hlib.logs import save_tracebacks
    from hlib.stack import Stack

    timed = Timer(res)
    # Every part but the faults, the browser, the connected part and the
    # sync server runs on the workers=2 server.
    need_workers = any(
        p in parts
        for p in PARTS
        if p not in ("faults", "browser", "connected", "sync_server")
    )
    if need_workers:
        with timed("setup workers=2"):
            st = Stack(
                ctx,
                2,
                "w2",
                # server-wide, as README says: the queue from the first connection
                extra={
                    "longpolling_backlog": args.backlog,
                    "server_wide_modules": "base,web," + henv.ADDON,
                }
                if args.backlog
                else None,
            )
        try:
            log(
                "server workers=2: http %d, gevent %d, db %s"
                % (st.server.http_port, st.server.lp_port, st.db)
            )
            if "latency" in parts or "broadcast" in parts:
                # the broadcast rounds go to the latency fleets once settled
                bcast = [] if "broadcast" in parts else None
                name = "latency workers=2" if "latency" in parts else "broadcast"
                with timed(name):
                    res["latency"] += await latency.latency(
                        ctx,
                        st,
                        c["levels"],
                        c["rate"],
                        c["lat_seconds"],
                        stream="latency" in parts,
                        bcast=bcast,
                        bc_rounds=c["bc_rounds"],
                        raw_rounds=c["raw_rounds"],
                    )
                if bcast is not None:
                    res["broadcast"] = bcast
                if bcast and name != "broadcast":
                    spent = round(sum(r["part_s"] for r in bcast), 1)
                    timed.durations[name] = round(timed.durations[name] - spent, 1)
                    timed.durations["broadcast"] = spent
                    log(
                        "of which broadcast rounds %.0f s, latency %.0f s"
                        % (spent, timed.durations[name])
                    )
            if "fanout" in parts:
                with timed("fanout"):
                    res["send_all"] = await fanout.send_all_cost(
                        ctx, st, c["fan_sizes"]
                    )
            if "idle" in parts:
                with timed("idle"):
                    res["idle"] = await idle.idle_cost(
                        ctx, st, c["idle_pollers"], c["idle_seconds"]
                    )
            if "capacity" in parts:
                with timed("capacity"):
                    measured = (
                        [r for r in res["latency"] if r["kind"] == "addon"]
                        if c["cap_seconds"] == c["lat_seconds"]
                        else []
                    )
                    res["capacity"], res["capacity_best"] = await capacity.capacity(
                        ctx,
                        st,
                        c["cap_steps"],
                        c["rate"],
                        c["cap_seconds"],
                        measured=measured,
                    )
            if "soak" in parts:
                with timed("soak"):
                    res["soak"] = await soak.soak(
                        ctx, st, c["soak_pollers"], c["soak_seconds"]
                    )
                    if c["soak_raw"]:
                        res["soak"] += await soak.soak(
                            ctx,
                            st,
                            c["soak_pollers"],
                            c["soak_seconds"],
                            kind="raw",
                        )
            if "hostile" in parts:
                from hlib import hostile

                with timed("hostile"):
                    (
                        res["hostile"],
                        res["hostile_legit"],
                        res["hostile_checks"],
                        res["hostile_log"],
                    ) = await hostile.hostile(
                        ctx,
                        st,
                        c["hostile_pollers"],
                        c["hostile_seconds"],
                        c["hostile_baseline"],
                    )
            if "startup" in parts:
                from hlib import startup
                from hlib.floor_server import FloorServer

                with timed("startup"):
                    floor = FloorServer(
                        ctx.wd.python,
                        henv.free_port(),
                        os.path.join(ctx.wd.path, "floor_startup.log"),
                        backlog=ctx.backlog,
                    )
                    try:
                        res["startup"], res["startup_probe"] = await startup.startup(
                            ctx,
                            st,
                            c["startup_pollers"],
                            c["startup_ramp"],
                            floor=floor,
                        )
                    finally:
                        floor.close()
            if "two_nodes" in parts:
                from hlib import two_nodes

                with timed("two_nodes"):
                    (
                        res["two_nodes"],
                        res["two_nodes_checks"],
                    ) = await two_nodes.two_nodes(
                        ctx, st, c["two_nodes_pollers"], c["two_nodes_messages"]
                    )
            if "nginx" in parts:
                from hlib import nginx

                with timed("nginx"):
                    res["nginx"] = await nginx.behind_nginx(
                        ctx, st, c["nginx_pollers"], c["bc_rounds"]
                    )
        finally:
            tb = st.server.tracebacks(henv.ADDON)
            save_tracebacks(ctx, st.tag, tb)
            res["workers_tracebacks"] = len(tb)
            if tb:
                log(
                    "workers server: %d traceback(s) mentioning %s, first:\n%s"
                    % (len(tb), henv.ADDON, tb[0])
                )
            with timed("teardown workers=2"):
                st.close(drop=not args.keep)
    if "latency" in parts and c["threaded_levels"]:
        with timed("setup threaded"):
            st = Stack(ctx, 0, "thr")
        try:
            log("server threaded: http %d, db %s" % (st.server.http_port, st.db))
            with timed("latency threaded"):
                res["latency"] += await latency.latency(
                    ctx, st, c["threaded_levels"], c["rate"], c["lat_seconds"]
                )
        finally:
            with timed("teardown threaded"):
                st.close(drop=not args.keep)
    if "connected" in parts:
        from hlib import connected

        with timed("connected"):
            res["connected"] = await connected.connected(
                ctx, c["connected_pollers"], c["connected_window"]
            )
    if "faults" in parts or "browser" in parts:
        # a fresh server: the latency fleets' polls linger on the threaded
        # one (up to 50 s, same POS channels); the fault fleet's PONGs wake
        # them all at once, each takes a connection, and the POS page's
        # requests fail with PoolError
        with timed("setup threaded (faults)"):
            st = Stack(ctx, 0, "thr_faults")
        try:
            log(
                "server threaded (faults): http %d, db %s"
                % (st.server.http_port, st.db)
            )
            browser = None
            if "browser" in parts:
                from hlib import browser as hb

                browser = hb.Browser(n_pages=c["browser_pages"])
            if "faults" in parts:
                with timed("faults" + ("+browser" if browser else "")):
                    res["faults"] = await faults.faults(
                        ctx,
                        st,
                        c["fault_pollers"],
                        c["short_outage"],
                        c["long_outage"],
                        browser=browser,
                    )
            elif browser:
                with timed("browser"):
                    res["browser"] = await hb.standalone(ctx, st, browser)
        finally:
            with timed("teardown threaded (faults)"):
                st.close(drop=not args.keep)
    if "sync_server" in parts:
        from hlib import browser as hb, sync_server

        # two threaded servers of their own: main and sync (another origin)
        with timed("sync_server"):
            (
                res["sync_server"],
                res["sync_server_checks"],
            ) = await sync_server.sync_server(
                ctx, hb.Browser(n_pages=1), c["sync_messages"]
            )


def main():
    args = parse()
    parts, c = plan(args)
    t0 = time.time()
    try:
        odoo_bin, py, version = henv.find_odoo()
    except henv.HarnessError as e:
        sys.stderr.write("harness: %s\n" % e)
        return 2
    try:
        import aiohttp  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as e:
        sys.stderr.write("harness: %s; pip install -r harness/requirements.txt\n" % e)
        return 2
    log("Odoo %s; parts: %s" % (version, ",".join(parts)))
    from hlib import pollers

    pollers.KEEPALIVE = args.keepalive
    pollers.CLIENT_KIND = args.pollers
    ctx = Ctx()
    ctx.backlog = args.backlog or None
    ctx.wd = henv.Workdir(odoo_bin, py)
    log("work dir %s" % ctx.wd.path)
    t = time.time()
    ctx.template = henv.ensure_template(ctx.wd, args.max_pos)
    res_template_s = round(time.time() - t, 1)
    ctx.results = args.results
    os.makedirs(args.results, exist_ok=True)
    for f in os.listdir(args.results):
        if f.startswith("odoo_log_"):
            os.remove(os.path.join(args.results, f))
    res = {
        "latency": [],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "run.py " + " ".join(sys.argv[1:]),
        "addon": {"backend_hash": henv.addon_hash(), "git": henv.git_describe()},
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "odoo": version,
            "mem_gb": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
            ),
        },
    }
    res["durations_s"] = {"template": res_template_s}
    rc = 0
    # SIGTERM as Ctrl-C: the servers and databases of the run are cleaned up
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(main_async(args, parts, c, ctx, res))
    except (Exception, KeyboardInterrupt):  # noqa: BLE001
        traceback.print_exc()
        rc = 1
    res["duration_s"] = round(time.time() - t0)
    from hlib import report

    print(report.save_all(args.results, res))
    print("results in %s (%d s)" % (args.results, res["duration_s"]))
    fails = [
        r
        for r in res.get("faults", [])
        + res.get("browser", [])
        + res.get("soak", [])
        + res.get("hostile_checks", [])
        + res.get("two_nodes_checks", [])
        + res.get("connected", [])
        + res.get("sync_server_checks", [])
        if r.get("result") == "FAIL" or r.get("pass") is False
    ]
    if fails:
        rc = rc or 1
    if not args.keep:
        import shutil

        shutil.rmtree(ctx.wd.path, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
