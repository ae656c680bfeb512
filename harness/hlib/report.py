"""Tables on stdout, CSV files and the latency plot."""
import csv
import json
import os


def check_row(check, ok, detail):
    """A row of the checks tables: ok True/False/None = PASS/FAIL/SKIP."""
    result = "PASS" if ok else ("SKIP" if ok is None else "FAIL")
    return {"check": check, "result": result, "detail": detail}


def table(title, rows, cols):
    if not rows:
        return "%s: (no rows)\n" % title

    def cell(r, c):
        v = r.get(c)
        # CPU seconds of one broadcast to one POS are milliseconds
        if c.endswith("_cpu_s") and isinstance(v, float):
            return "%.3f" % v
        return fmt(v)

    widths = [max(len(c), *(len(cell(r, c)) for r in rows)) for c in cols]
    out = [
        "",
        title,
        "  ".join(c.ljust(w) for c, w in zip(cols, widths)),
        "  ".join("-" * w for w in widths),
    ]
    for r in rows:
        out.append("  ".join(cell(r, c).ljust(w) for c, w in zip(cols, widths)))
    return "\n".join(out) + "\n"


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.1f" % v if abs(v) >= 10 or v == 0 else "%.2f" % v
    if isinstance(v, dict):
        return ";".join("%s=%s" % kv for kv in v.items()) or "-"
    return str(v)


def write_csv(path, rows, cols):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow(
                [
                    fmt(r.get(c)) if isinstance(r.get(c), dict) else r.get(c)
                    for c in cols
                ]
            )


DELIVERY_COLS = [
    "sent",
    "received",
    "lost",
    "duplicates",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
]
LAT_COLS = [
    "mode",
    "kind",
    "pollers",
    "rate",
    *DELIVERY_COLS,
    "notify_ms_p50",
    "polls",
    "failed_polls",
    "connect_s",
    "failed_polls_connect",
    "settled",
    "first_contact_p50_s",
    "first_contact_max_s",
    "no_contact_in_10s",
    "fail_kinds",
    "fail_kinds_connect",
]
RATIO_COLS = [
    "mode",
    "pollers",
    "addon_p50_ms",
    "raw_p50_ms",
    "p50_ratio",
    "addon_p99_ms",
    "raw_p99_ms",
    "p99_ratio",
    "addon_failed_polls",
    "raw_failed_polls",
]
FAN_COLS = [
    "open_poses",
    "server_ms",
    "call_ms",
    "commit_ms",
    "notify_ms",
    "sql_statements",
    "bus_rows",
    "notifies",
    "notify_channels",
    "raw_sendmany_ms",
    "raw_sendmany_sql",
]
IDLE_COLS = [
    "mode",
    "pollers",
    "seconds",
    "silence_s",
    "check_interval_s",
    "pong_timeout_s",
    "polls_per_min_per_pos",
    "pings_per_min_per_pos",
    "requests_per_min_per_pos",
    "bus_rows_per_min_per_pos",
    "failed_polls",
    "failed_pings",
    "ping_fail_kinds",
    "offline_after",
    "pings_expected_per_min_per_pos",
    "pings_note",
]
CAP_COLS = [
    "mode",
    "pollers",
    "sent",
    "lost",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "failed_polls",
    "connect_s",
    "failed_polls_connect",
    "under_limit",
    "from_latency",
]
BCAST_COLS = [
    "mode",
    "kind",
    "pollers",
    "rounds",
    *DELIVERY_COLS,
    "late",
    "send_ms",
    "window_s",
    "gevent_cpu_s",
    "harness_cpu_s",
    "harness_over_server_cpu",
    "busy_cpu_s",
    "client_lag_p99_ms",
    "round_p99_ms",
    "first_over_next_p99",
    "polls",
    "failed_polls",
    "fail_kinds",
    "quiet_before",
]
BCAST_SIDE_COLS = [
    "pollers",
    "addon_p50_ms",
    "addon_p99_ms",
    "raw_p50_ms",
    "raw_p99_ms",
    "floor_p50_ms",
    "floor_p99_ms",
    "addon_over_floor_p99",
    "addon_failed_polls",
    "raw_failed_polls",
    "floor_failed_polls",
    "addon_first_over_next_p99",
    "floor_harness_over_server_cpu",
]
SOAK_COLS = [
    "mode",
    "kind",
    "pollers",
    "seconds",
    "msgs_per_poller",
    "messages_sent",
    "lost",
    "duplicated",
    "out_of_order",
    "pollers_exact",
    "failed_polls",
    "p50_ms",
    "p99_ms",
    "rss_start_mb",
    "rss_end_mb",
    "rss_max_mb",
    "pass",
]
STARTUP_COLS = [
    "mode",
    "kind",
    "pollers",
    "ramp_s",
    "keepalive",
    "start_s",
    "first_contact_p50_s",
    "first_contact_p99_s",
    "first_contact_max_s",
    "over_pong_timeout",
    "never",
    "polls",
    "failed_polls",
    "pings",
    "failed_pings",
    "fail_kinds",
]
PROBE_COLS = ["window", "seconds", "probes", "failed", "p50_ms", "p99_ms", "max_ms"]
TWO_NODES_COLS = [
    "sent_via",
    "received_on",
    "pollers",
    "messages",
    "receipts",
    "call_p50_ms",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "polls",
    "failed_polls",
    "pings",
]
SYNC_COLS = [
    "mode",
    "sync_url",
    "green_s",
    "messages",
    "received",
    "p50_ms",
    "max_ms",
    "outsider_read",
    "outsider_reason",
    "outsider_ping_answered",
]
FAULT_COLS = ["check", "result", "detail"]
HOSTILE_COLS = ["kind", "user", "sent", "answer", "p50_ms", "max_ms", "as_expected"]
HOSTILE_LEGIT_COLS = [
    "window",
    "seconds",
    "pollers",
    "sent",
    "delivered",
    "lost",
    "duplicated",
    "out_of_order",
    "polls",
    "failed_polls",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "hostile_requests",
    "fail_kinds",
]


def ratios(lat_rows):
    out = []
    by = {(r["mode"], r["kind"], r["pollers"]): r for r in lat_rows}
    for (mode, kind, n), r in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        if kind != "addon" or (mode, "raw", n) not in by:
            continue
        raw = by[(mode, "raw", n)]

        def q(a, b):
            return round(a / b, 2) if a is not None and b else None

        out.append(
            {
                "mode": mode,
                "pollers": n,
                "addon_p50_ms": r["p50_ms"],
                "raw_p50_ms": raw["p50_ms"],
                "p50_ratio": q(r["p50_ms"], raw["p50_ms"]),
                "addon_p99_ms": r["p99_ms"],
                "raw_p99_ms": raw["p99_ms"],
                "p99_ratio": q(r["p99_ms"], raw["p99_ms"]),
                "addon_failed_polls": r["failed_polls"]
                + r.get("failed_polls_connect", 0),
                "raw_failed_polls": raw["failed_polls"]
                + raw.get("failed_polls_connect", 0),
            }
        )
    return out


def broadcast_side_by_side(rows):
    """Per N: the addon, Odoo's raw bus and the floor server's broadcast,
    and addon p99 / floor p99."""
    by = {(r["kind"], r["pollers"]): r for r in rows}
    out = []
    for n in sorted({r["pollers"] for r in rows}):
        row = {"pollers": n}
        for kind in ("addon", "raw", "floor"):
            r = by.get((kind, n), {})
            row["%s_p50_ms" % kind] = r.get("p50_ms")
            row["%s_p99_ms" % kind] = r.get("p99_ms")
            row["%s_failed_polls" % kind] = r.get("failed_polls")
        row["addon_first_over_next_p99"] = by.get(("addon", n), {}).get(
            "first_over_next_p99"
        )
        row["floor_harness_over_server_cpu"] = by.get(("floor", n), {}).get(
            "harness_over_server_cpu"
        )
        a, f = row["addon_p99_ms"], row["floor_p99_ms"]
        row["addon_over_floor_p99"] = round(a / f, 2) if a is not None and f else None
        out.append(row)
    return out


def plot(path, lat_rows, cap_rows=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=False)
    modes = sorted({r["mode"] for r in lat_rows})
    for ax, mode in zip(axes, modes + [None] * (2 - len(modes))):
        if mode is None:
            ax.axis("off")
            continue
        for kind, color in (("addon", "tab:blue"), ("raw", "tab:gray")):
            rows = sorted(
                (r for r in lat_rows if r["mode"] == mode and r["kind"] == kind),
                key=lambda r: r["pollers"],
            )
            if not rows:
                continue
            xs = [r["pollers"] for r in rows]
            label = "pos_longpolling" if kind == "addon" else "raw bus._sendone"
            for key, style in (("p50_ms", "-o"), ("p95_ms", "--s"), ("p99_ms", ":^")):
                ys = [r[key] if r[key] is not None else float("nan") for r in rows]
                ax.plot(xs, ys, style, color=color, label="%s %s" % (label, key[:3]))
            for r in rows:
                if r["failed_polls"] or r.get("failed_polls_connect"):
                    ax.annotate(
                        "%d failed polls"
                        % (r["failed_polls"] + r.get("failed_polls_connect", 0)),
                        (r["pollers"], r["p99_ms"] or 1),
                        fontsize=7,
                        color=color,
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        from matplotlib.ticker import ScalarFormatter

        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel("connected POSes (pollers)")
        ax.set_ylabel("delivery latency, commit to receipt (ms)")
        ax.set_title("Odoo 15 %s" % mode)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_broadcast(path, rows):
    """Latency (p50, p99) and failed polls of the broadcast against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    fig, (lat_ax, fail_ax, cpu_ax) = plt.subplots(1, 3, figsize=(15, 4.6))
    for kind, color, label in (
        ("addon", "tab:blue", "pos_longpolling"),
        ("raw", "tab:gray", "raw bus._sendmany"),
        ("floor", "tab:green", "floor (bare gevent server)"),
    ):
        kr = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["pollers"])
        if not kr:
            continue
        xs = [r["pollers"] for r in kr]
        for key, style in (("p50_ms", "-o"), ("p99_ms", ":^")):
            ys = [r[key] if r[key] is not None else float("nan") for r in kr]
            lat_ax.plot(xs, ys, style, color=color, label="%s %s" % (label, key[:3]))
        fail_ax.plot(
            xs, [r["failed_polls"] for r in kr], "-o", color=color, label=label
        )
        for key, style, what in (
            ("gevent_cpu_s", "-o", "server (gevent)"),
            ("harness_cpu_s", "--s", "harness pollers"),
        ):
            cpu_ax.plot(
                xs,
                [r[key] for r in kr],
                style,
                color=color,
                label="%s: %s" % (label, what),
            )
    for ax, ylabel, title in (
        (
            lat_ax,
            "latency, commit (floor: event) to receipt (ms)",
            "Delivery to all POSes",
        ),
        (fail_ax, "failed polls (all rounds)", "Failed polls"),
        (cpu_ax, "CPU seconds per broadcast", "CPU, send to last receipt"),
    ):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("connected POSes (pollers), each gets the message")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    lat_ax.set_yscale("log")
    lat_ax.yaxis.set_major_formatter(ScalarFormatter())
    most = max((r["failed_polls"] or 0 for r in rows), default=0)
    top = max(1, most * 1.15)
    fail_ax.set_ylim(-0.04 * top, top)  # markers at 0 stay whole
    fail_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    cpu_ax.set_ylim(bottom=0)
    fig.suptitle(
        "Odoo 15 workers=2 (gevent port) and the floor server: one transaction"
        " (one event) per broadcast",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_startup(path, rows):
    """The storm: seconds to first contact (p50, p99, max) and failed polls
    of the addon, the raw bus and the floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in ("addon", "raw", "floor") if any(r["kind"] == k for r in rows)]
    by = {r["kind"]: r for r in rows}
    fig, (time_ax, fail_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.25
    for j, key in enumerate(
        ("first_contact_p50_s", "first_contact_p99_s", "first_contact_max_s")
    ):
        time_ax.bar(
            [i + (j - 1) * width for i in range(len(kinds))],
            [by[k][key] or 0 for k in kinds],
            width,
            label=key.split("_")[-2],
        )
    pong = 10
    time_ax.axhline(pong, color="tab:red", ls=":", label="pong timeout (10 s)")
    fail_ax.bar(range(len(kinds)), [by[k]["failed_polls"] for k in kinds], 0.5)
    for ax, ylabel in (
        (time_ax, "start to first poll answer (green), s"),
        (fail_ax, "failed polls until 3 s after the last first contact"),
    ):
        ax.set_xticks(range(len(kinds)))
        ax.set_xticklabels(kinds)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
    time_ax.legend(fontsize=7)
    r = rows[0]
    fig.suptitle(
        "Connection storm: %d POSes started within %s s, each its own connection%s"
        % (r["pollers"], r["ramp_s"], " (kept alive)" if r.get("keepalive") else ""),
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_all(results_dir, res):
    os.makedirs(results_dir, exist_ok=True)
    text = []
    if res.get("latency"):
        lat = res["latency"]
        rat = ratios(lat)
        text.append(
            table(
                "Delivery latency, sender's commit -> client's receipt", lat, LAT_COLS
            )
        )
        text.append(
            table(
                "Headline: pos_longpolling vs raw bus (ratio > 1 = addon slower)",
                rat,
                RATIO_COLS,
            )
        )
        write_csv(os.path.join(results_dir, "latency.csv"), lat, LAT_COLS)
        write_csv(os.path.join(results_dir, "latency_ratio.csv"), rat, RATIO_COLS)
        plot(os.path.join(results_dir, "latency.png"), lat)
    if res.get("broadcast"):
        text.append(
            table(
                "Broadcast: one message to all N POSes, commit -> receipt "
                "(CPU seconds and window per round)",
                res["broadcast"],
                BCAST_COLS,
            )
        )
        write_csv(
            os.path.join(results_dir, "broadcast.csv"), res["broadcast"], BCAST_COLS
        )
        side = broadcast_side_by_side(res["broadcast"])
        text.append(
            table(
                "Broadcast side by side: addon, raw bus, floor server "
                "(addon_over_floor_p99 = addon p99 / floor p99)",
                side,
                BCAST_SIDE_COLS,
            )
        )
        write_csv(
            os.path.join(results_dir, "broadcast_floor.csv"), side, BCAST_SIDE_COLS
        )
        plot_broadcast(os.path.join(results_dir, "broadcast.png"), res["broadcast"])
    if res.get("startup"):
        plot_startup(os.path.join(results_dir, "startup.png"), res["startup"])
    for key, title, cols, fname in (
        (
            "send_all",
            "send_to_all_poses cost (median of 3)",
            FAN_COLS,
            "send_to_all_poses.csv",
        ),
        (
            "idle",
            "Idle cost per connected POS (default timeouts)",
            IDLE_COLS,
            "idle.csv",
        ),
        (
            "capacity",
            "Capacity of one gevent worker (p99 < 100 ms)",
            CAP_COLS,
            "capacity.csv",
        ),
        ("soak", "Soak", SOAK_COLS, "soak.csv"),
        (
            "hostile",
            "Hostile requests (per kind: answers, HTTP status + JSON-RPC error or result)",
            HOSTILE_COLS,
            "hostile.csv",
        ),
        (
            "hostile_legit",
            "Legit POS pollers without / with hostile traffic",
            HOSTILE_LEGIT_COLS,
            "hostile_legit.csv",
        ),
        ("hostile_checks", "Hostile checks", FAULT_COLS, "hostile_checks.csv"),
        (
            "startup",
            "Startup: N POSes started within the ramp (a connection storm), start "
            "to first contact (over_pong_timeout: later than 10 s); addon, raw bus, floor",
            STARTUP_COLS,
            "startup.csv",
        ),
        (
            "nginx",
            "Behind nginx (README's configuration): one message to N POSes, "
            "upstream keep-alive on and off",
            ["upstream_keepalive"] + BCAST_COLS,
            "nginx.csv",
        ),
        (
            "startup_probe",
            "Startup: JSON-RPC version_info on the HTTP port every 100 ms",
            PROBE_COLS,
            "startup_probe.csv",
        ),
        (
            "two_nodes",
            "Two nodes on one database: send_to_all_poses through either node, "
            "latency from just before the call",
            TWO_NODES_COLS,
            "two_nodes.csv",
        ),
        ("two_nodes_checks", "Two nodes checks", FAULT_COLS, "two_nodes_checks.csv"),
        (
            "sync_server",
            "Sync server (another origin) relaying to a real POS, per mode; "
            "what an outsider polling it for the POS's channels reads",
            SYNC_COLS,
            "sync_server.csv",
        ),
        (
            "sync_server_checks",
            "Sync server checks",
            FAULT_COLS,
            "sync_server_checks.csv",
        ),
        ("faults", "Faults", FAULT_COLS, "faults.csv"),
        ("browser", "Real POS in Chromium", FAULT_COLS, "browser.csv"),
    ):
        if res.get(key):
            text.append(table(title, res[key], cols))
            write_csv(os.path.join(results_dir, fname), res[key], cols)
    if res.get("capacity_best") is not None:
        text.append(
            "Most pollers one gevent worker held with p99 < 100 ms: %s\n"
            % res["capacity_best"]
        )
    if res.get("durations_s"):
        text.append(
            table(
                "Wall-clock seconds per part (total %s s)" % res.get("duration_s"),
                [{"part": k, "seconds": v} for k, v in res["durations_s"].items()],
                ["part", "seconds"],
            )
        )
    meta = {
        k: v
        for k, v in res.items()
        if k
        in (
            "machine",
            "started",
            "duration_s",
            "durations_s",
            "command",
            "capacity_best",
            "addon",
            "hostile_log",
        )
    }
    if res.get("broadcast"):
        meta["broadcast"] = [
            {
                k: r.get(k)
                for k in (
                    "kind",
                    "pollers",
                    "p50_ms",
                    "p99_ms",
                    "max_ms",
                    "lost",
                    "late",
                    "duplicates",
                    "failed_polls",
                    "fail_kinds",
                    "gevent_cpu_s",
                    "harness_cpu_s",
                    "busy_cpu_s",
                    "window_s",
                    "receipt",
                )
            }
            for r in res["broadcast"]
        ]
    with open(os.path.join(results_dir, "summary.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
    out = "\n".join(text)
    with open(os.path.join(results_dir, "tables.txt"), "w") as f:
        f.write(out)
    return out


def read_csv(path, floats, ints):
    """Rows of a results CSV, with the numbers the plots need as numbers."""

    def num(kind, v):
        return kind(v) if v not in (None, "", "None", "-") else None

    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            row = dict(r)
            row.update({k: num(float, r.get(k)) for k in floats})
            row.update({k: num(int, r.get(k)) or 0 for k in ints})
            rows.append(row)
    return rows


def replot(results_dir):
    """Redraw latency.png and broadcast.png from their CSV files
    (``python -m hlib.report DIR``)."""
    rows = read_csv(
        os.path.join(results_dir, "latency.csv"),
        ("p50_ms", "p95_ms", "p99_ms"),
        ("pollers", "failed_polls", "failed_polls_connect"),
    )
    plot(os.path.join(results_dir, "latency.png"), rows)
    path = os.path.join(results_dir, "broadcast.csv")
    if os.path.exists(path):
        rows = read_csv(
            path,
            ("p50_ms", "p99_ms", "gevent_cpu_s", "harness_cpu_s"),
            ("pollers", "failed_polls"),
        )
        plot_broadcast(os.path.join(results_dir, "broadcast.png"), rows)


if __name__ == "__main__":
    import sys

    replot(sys.argv[1] if len(sys.argv) > 1 else "results")
