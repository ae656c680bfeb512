# pylint: disable=invalid-commit,except-pass
# (a benchmark tool that commits on purpose, outside the addon)
"""Runs *inside* Odoo's interpreter (ODOO_PYTHON), importing odoo with the
harness's own config file. Never imported by the harness driver itself.

Usage: ODOO_PYTHON odoo_side.py ODOO_ROOT CONF DB COMMAND [JSON-ARGS]

Commands:
  populate {"count": N}   create N extra POS configs with open sessions
  prepare  {}             template fixes: attachments in db, drop asset bundles
  daemon   {}             read JSON commands on stdin, answer one JSON line each
"""
import json
import os
import sys
import time
import traceback

ODOO_ROOT, CONF, DB, COMMAND = sys.argv[1:5]
ARGS = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
sys.path.insert(0, ODOO_ROOT)

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api  # noqa: E402

odoo.tools.config.parse_config(["-c", CONF, "-d", DB])
# no crons, no http in this process
odoo.tools.config["max_cron_threads"] = 0
registry = odoo.registry(DB)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def admin_env(cr):
    env = api.Environment(cr, SUPERUSER_ID, {})
    uid = env.ref("base.user_admin").id
    return api.Environment(cr, uid, {})


# ---------------------------------------------------------------- one-shot
def cmd_prepare(args):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("ir_attachment.location", "db")
        # asset bundles stored in the template's filestore would be missing
        # in the harness's own data dir: drop them, they are rebuilt in db.
        cr.execute("DELETE FROM ir_attachment WHERE url LIKE '/web/assets/%%'")
        cr.commit()
    out({"ok": True})


def cmd_populate(args):
    count = int(args["count"])
    t0 = time.time()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        base = env.ref("point_of_sale.pos_config_main")
        bank = base.payment_method_ids.filtered(
            lambda m: not m.is_cash_count and m.journal_id
        )[:1]
        admin = env.ref("base.user_admin")
        existing = env["pos.config"].search_count([("name", "like", "LP bench %")])
        created = 0
        for i in range(existing, count):
            config = env["pos.config"].create(
                {
                    "name": "LP bench %04d" % i,
                    "payment_method_ids": [(6, 0, bank.ids)],
                    "journal_id": base.journal_id.id,
                    "invoice_journal_id": base.invoice_journal_id.id,
                    "pricelist_id": base.pricelist_id.id,
                    "available_pricelist_ids": [
                        (6, 0, base.available_pricelist_ids.ids)
                    ],
                }
            )
            env["pos.session"].with_user(admin).create(
                {"config_id": config.id, "user_id": admin.id}
            )
            created += 1
            if created % 100 == 0:
                cr.commit()
                sys.stderr.write(
                    "populate: %d configs in %.0f s\n" % (created, time.time() - t0)
                )
        cr.commit()
        cr.execute("SELECT count(*) FROM pos_session WHERE state = 'opened'")
        opened = cr.fetchone()[0]
    out({"ok": True, "created": created, "opened": opened, "seconds": time.time() - t0})


# ---------------------------------------------------------------- daemon
class Notifies:
    """Counts the NOTIFY imbus that reach PostgreSQL (LISTEN on db postgres)."""

    def __init__(self):
        import psycopg2

        self.conn = psycopg2.connect(**self._dsn())
        self.conn.autocommit = True
        self.conn.cursor().execute("LISTEN imbus")

    @staticmethod
    def _dsn():
        cfg = odoo.tools.config
        dsn = {"dbname": "postgres"}
        for key, opt in (
            ("host", "db_host"),
            ("port", "db_port"),
            ("user", "db_user"),
            ("password", "db_password"),
        ):
            if cfg.get(opt):
                dsn[key] = cfg[opt]
        return dsn

    def drain(self, wait=0.3, quiet=0.25):
        """Count the NOTIFYs until none came for `quiet` s (at most `wait` s):
        the bus sends them at commit, before the sender's call returns."""
        import select

        n, channels = 0, 0
        deadline = time.time() + wait
        while True:
            left = min(deadline - time.time(), quiet)
            if left <= 0:
                break
            if select.select([self.conn], [], [], left) == ([], [], []):
                break
            self.conn.poll()
            while self.conn.notifies:
                note = self.conn.notifies.pop()
                n += 1
                try:
                    channels += len(json.loads(note.payload))
                except ValueError:
                    pass
        return n, channels


def _commit_timed(cr):
    """Commit; return (t_db_commit, t_after_postcommit).

    t_db_commit is taken by a hook put *first* in the postcommit queue, i.e.
    right after PostgreSQL acknowledged COMMIT and before the bus's NOTIFY.
    """
    stamp = {}
    cr.postcommit._funcs.appendleft(lambda: stamp.setdefault("t", time.time()))
    cr.commit()
    t_after = time.time()
    return stamp.get("t", t_after), t_after


def _send(env, kind, target, channel_name, payload):
    if kind == "raw":
        env["bus.bus"]._sendone(target, channel_name, payload)
    elif kind == "addon":
        env["pos.config"]._send_to_channel_by_id(
            env.cr.dbname, int(target), channel_name, payload
        )
    elif kind == "addon_records":
        env["pos.config"].browse([int(t) for t in target])._send_to_channel(
            channel_name, payload
        )
    else:
        raise ValueError(kind)


def d_stream(args):
    """Send `count` messages, one transaction each, round-robin over targets,
    at `rate` per second. Returns per message (mid, target, t_pre, t_commit, t_notified)."""
    kind, targets, rate, count = (
        args["kind"],
        args["targets"],
        float(args["rate"]),
        int(args["count"]),
    )
    channel_name = args.get("channel", "lat")
    prefix = args.get("prefix", "m")
    start = time.time()
    rows, errors = [], []
    for i in range(count):
        due = start + i / rate if rate > 0 else 0
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        target = targets[i % len(targets)]
        mid = "%s%d" % (prefix, i)
        t_pre = time.time()
        payload = {
            "mid": mid,
            "seq": i // len(targets),
            "t": t_pre,
            "pad": args.get("pad", ""),
        }
        try:
            with registry.cursor() as cr:
                _send(admin_env(cr), kind, target, channel_name, payload)
                t_commit, t_after = _commit_timed(cr)
            rows.append([mid, target, t_pre, t_commit, t_after])
        except Exception as e:  # noqa: BLE001 - faults are expected in fault tests
            errors.append("%s: %s" % (type(e).__name__, e))
            time.sleep(0.2)
    return {"rows": rows, "errors": errors[:20], "n_errors": len(errors)}


def d_broadcast_seq(args):
    """Soak/fault sender: every `period` s one transaction sending seq k to
    every POS id in `targets` (records._send_to_channel) or to plain channels.
    Retries a failed send (the same seq) until it commits, so the receiver
    must see 0..k exactly once in order. Runs `count` sequence numbers."""
    kind, targets = args["kind"], args["targets"]
    period, count = float(args["period"]), int(args["count"])
    channel_name = args.get("channel", "seq")
    start = time.time()
    errors, rows = [], []
    k = int(args.get("start", 0))
    deadline = start + period * count + float(args.get("grace", 120))
    while k < int(args.get("start", 0)) + count and time.time() < deadline:
        due = start + (k - int(args.get("start", 0))) * period
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        t_pre = time.time()
        payload = {"seq": k, "t": t_pre}
        stamp = {}
        try:
            with registry.cursor() as cr:
                env = admin_env(cr)
                if kind == "addon":
                    env["pos.config"].browse(
                        [int(t) for t in targets]
                    )._send_to_channel(channel_name, payload)
                else:
                    env["bus.bus"]._sendmany(
                        [(t, channel_name, payload) for t in targets]
                    )
                cr.postcommit._funcs.appendleft(
                    lambda: stamp.setdefault("t", time.time())
                )
                cr.commit()
            rows.append([k, t_pre, stamp["t"]])
            k += 1
        except Exception as e:  # noqa: BLE001
            errors.append("%s: %s" % (type(e).__name__, str(e)[:200]))
            if "t" in stamp:
                # committed, only the NOTIFY failed: the row is there, the
                # clients get it at their next poll; do not send it twice
                rows.append([k, t_pre, stamp["t"]])
                k += 1
            if args.get("close_all_on_error"):
                odoo.sql_db.close_all()
            time.sleep(0.5)
    return {
        "rows": rows,
        "sent": len(rows),
        "errors": errors[:20],
        "n_errors": len(errors),
    }


def d_send_all(args):
    """Cost of pos.config.send_to_all_poses as admin with `opened` open sessions."""
    notifies = Notifies()
    notifies.drain(0.05)
    res = {}
    with registry.cursor() as cr:
        cr.execute("SELECT coalesce(max(id), 0) FROM bus_bus")
        before = cr.fetchone()[0]
        env = admin_env(cr)
        cr.sql_log_count = 0
        t0 = time.time()
        env["pos.config"].send_to_all_poses(
            args.get("channel", "bench"), {"t": t0, "bench": True}
        )
        t_call = time.time()
        sql_in_call = cr.sql_log_count
        t_commit, t_after = _commit_timed(cr)
        sql_total = cr.sql_log_count
        cr.execute("SELECT count(*) FROM bus_bus WHERE id > %s", (before,))
        rows = cr.fetchone()[0]
    n_notify, n_chan = notifies.drain(1.0)
    # the same notifications through Odoo's own bus._sendmany, for comparison
    with registry.cursor() as cr:
        env = admin_env(cr)
        cr.execute("SELECT config_id FROM pos_session WHERE state != 'closed'")
        ids = sorted({r[0] for r in cr.fetchall()})
        notes = [
            (
                env["pos.config"]._get_full_channel_name_by_id(cr.dbname, i, "bench"),
                "bench",
                {"t": 0},
            )
            for i in ids
        ]
        cr.sql_log_count = 0
        r0 = time.time()
        env["bus.bus"]._sendmany(notes)
        raw_sql = cr.sql_log_count
        _commit_timed(cr)
        res.update(raw_sendmany_ms=(time.time() - r0) * 1000, raw_sendmany_sql=raw_sql)
    notifies.drain(0.5)
    res.update(
        call_ms=(t_call - t0) * 1000,
        total_ms=(t_after - t0) * 1000,
        commit_ms=(t_commit - t_call) * 1000,
        notify_ms=(t_after - t_commit) * 1000,
        sql=sql_in_call,
        sql_incl_flush=sql_total,
        bus_rows=rows,
        notifies=n_notify,
        notify_channels=n_chan,
    )
    return res


def d_set_open(args):
    """Leave exactly `count` of the harness configs with an opened session
    (others closed, by SQL: a benchmark copy only). Returns their ids."""
    count = int(args["count"])
    with registry.cursor() as cr:
        cr.execute(
            """SELECT c.id FROM pos_config c WHERE c.name LIKE 'LP bench %%' ORDER BY c.id"""
        )
        ids = [r[0] for r in cr.fetchall()]
        keep = ids[:count]
        cr.execute(
            "UPDATE pos_session SET state = 'closed' WHERE state != 'closed' AND config_id NOT IN %s",
            (tuple(keep) or (0,),),
        )
        cr.execute(
            "UPDATE pos_session SET state = 'opened' WHERE config_id IN %s",
            (tuple(keep) or (0,),),
        )
        cr.execute("SELECT count(*) FROM pos_session WHERE state != 'closed'")
        n = cr.fetchone()[0]
        cr.commit()
    return {"ids": keep, "open_sessions": n}


def d_bench_ids(args):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT id FROM pos_config WHERE name LIKE 'LP bench %%' ORDER BY id"
        )
        ids = [r[0] for r in cr.fetchall()]
        cr.execute(
            "SELECT id FROM pos_config WHERE name NOT LIKE 'LP bench %%' ORDER BY id"
        )
        others = [r[0] for r in cr.fetchall()]
    return {"ids": ids, "others": others}


def d_bus_stats(args):
    with registry.cursor() as cr:
        cr.execute("SELECT coalesce(max(id), 0), count(*) FROM bus_bus")
        mx, cnt = cr.fetchone()
    return {"max_id": mx, "count": cnt}


def d_gc(args):
    """Run the bus garbage collector (rows older than 2*TIMEOUT = 100 s)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("SELECT count(*) FROM bus_bus")
        before = cr.fetchone()[0]
        env["bus.bus"]._gc_messages()
        cr.commit()
        cr.execute("SELECT count(*) FROM bus_bus")
        after = cr.fetchone()[0]
    return {"deleted": before - after, "left": after}


def d_set_param(args):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param(args["key"], args["value"])
        cr.commit()
    return {"ok": True}


def d_config_write(args):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["pos.config"].browse(args["ids"]).write(args["values"])
        cr.commit()
    return {"ok": True}


def d_exec(args):
    """Evaluate python `code` with env (superuser); returns `result` var."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        scope = {"env": env, "cr": cr, "time": time, "json": json}
        exec(args["code"], scope)  # noqa: S102 - harness-internal
        cr.commit()
        return {"result": scope.get("result")}


def cmd_daemon(args):
    handlers = {k[2:]: v for k, v in globals().items() if k.startswith("d_")}
    out({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("cmd") == "quit":
            out({"bye": True})
            break
        try:
            res = handlers[req["cmd"]](req.get("args", {}))
            out({"ok": True, "res": res})
        except Exception as e:  # noqa: BLE001
            out(
                {
                    "ok": False,
                    "error": "%s: %s" % (type(e).__name__, e),
                    "tb": traceback.format_exc(),
                }
            )
        # connections to a restarted PostgreSQL must not stay in the pool
        odoo.sql_db.close_all() if req.get("close_all") else None


{"prepare": cmd_prepare, "populate": cmd_populate, "daemon": cmd_daemon}[COMMAND](ARGS)
