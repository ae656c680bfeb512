import json
import select
import uuid

import psycopg2

import odoo
from odoo.tests import tagged

from odoo.addons.bus.models import bus

from ..models.bus_bus import BusBus, wake_channel
from .common import PosLongpollingCase


class ExtendsCreate:
    """What another module's extension of bus.bus's create looks like."""

    _inherit = "bus.bus"

    def create(self, vals_list):
        return super().create(vals_list)


class NotifyListener:
    """The imbus NOTIFY payloads of one database, on a connection of its own."""

    def __init__(self, dbname):
        self.dbname = dbname
        _dsn, info = odoo.sql_db.connection_info_for("postgres")
        self.connection = psycopg2.connect(**info)
        self.connection.autocommit = True
        self.connection.cursor().execute("LISTEN imbus")

    def payloads_until(self, send_sentinel, timeout=10):
        """What came before a sentinel NOTIFY sent after the others were
        committed: PostgreSQL delivers them in commit order."""
        # What Odoo's listeners read: a list of channels, here one nobody
        # polls (other servers on this PostgreSQL read it too).
        sentinel = json.dumps(["pos_longpolling sentinel %s" % uuid.uuid4()])
        send_sentinel(sentinel)
        connection, payloads = self.connection, []
        while select.select([connection], [], [], timeout) != ([], [], []):
            connection.poll()
            while connection.notifies:
                payload = connection.notifies.pop(0).payload
                if payload == sentinel:
                    return [p for p in payloads if self.dbname in p]
                payloads.append(payload)
        raise AssertionError("the sentinel NOTIFY never came")

    def close(self):
        self.connection.close()


@tagged("post_install", "-at_install")
class TestSendCost(PosLongpollingCase):
    """A send to N POSes: the same statements whatever N, one NOTIFY."""

    def open_poses(self, count):
        configs = self.env["pos.config"]
        for i in range(count):
            config = self.pos_a.copy({"name": "LP cost %d" % i})
            self.env["pos.session"].create(
                {"config_id": config.id, "user_id": self.env.uid}
            )
            configs |= config
        return configs

    def statements(self, function):
        self.env["base"].flush()
        before = self.cr.sql_log_count
        function()
        return self.cr.sql_log_count - before

    def notifies_of(self, function):
        """The NOTIFY payloads ``function``'s commit would send."""
        postcommit = self.env.cr.postcommit
        before = list(postcommit._funcs)
        function()
        hooks = [hook for hook in postcommit._funcs if hook not in before]
        for hook in hooks:
            postcommit._funcs.remove(hook)
        listener = NotifyListener(self.dbname)
        self.addCleanup(listener.close)

        def run_then(sentinel):
            for hook in hooks:
                hook()
            with odoo.sql_db.db_connect("postgres").cursor() as cr:
                cr.execute("NOTIFY imbus, %s", (sentinel,))

        return listener.payloads_until(run_then)

    def test_statements_do_not_grow_with_the_poses(self):
        send = lambda: self.PosConfig.send_to_all_poses("c", {"n": 1})  # noqa: E731
        send()  # caches warm, as in a running server
        open_sessions = self.env["pos.session"].search([("state", "!=", "closed")])
        few = self.statements(send)
        self.open_poses(30 - len(open_sessions) + 3)
        many = self.statements(send)
        self.assertEqual(many, few, "3 and 30 more open POSes, same statements")

    def test_one_notify_for_all_poses(self):
        configs = self.open_poses(200)
        last = self.last_bus_id()
        (payload,) = self.notifies_of(
            lambda: configs._send_to_channel("many", {"x": 1})
        )
        rows = self.bus_rows_since(last)
        self.assertEqual(len(rows), 200)
        self.assertEqual(
            sorted(row[0][1] for row in rows),
            sorted(configs.mapped(lambda c: c._get_full_channel_name("many"))),
        )
        self.assertTrue(all(row[1:] == ("many", {"x": 1}) for row in rows))
        # 200 channels do not fit one payload: all polls of the name wake.
        self.assertEqual(bus.json_dump([[self.dbname, wake_channel("many")]]), payload)

    def test_a_small_send_notifies_its_channels(self):
        configs = self.pos_a | self.pos_b
        (payload,) = self.notifies_of(lambda: configs._send_to_channel("few", 1))
        self.assertEqual(
            sorted(map(tuple, json.loads(payload))),
            sorted((self.dbname, c._get_full_channel_name("few")) for c in configs),
        )

    def test_same_rows_as_odoos_send(self):
        channels = [self.pos_a._get_full_channel_name(n) for n in ("a", "b")]
        message = {"when": "2024-01-02", "n": [1, 2]}
        notifications = [(channel, "t", message) for channel in channels]
        Bus = self.env["bus.bus"]
        fields = ["channel", "message", "create_uid", "write_uid", "create_date"]

        def written(send):
            last = self.last_bus_id()
            send(notifications)
            Bus.invalidate_cache()
            rows = Bus.sudo().search([("id", ">", last)], order="id")
            return [{f: row[f] for f in fields} for row in rows]

        ours = written(Bus._sendmany)
        odoos = written(lambda n: bus.ImBus._sendmany(Bus, n))
        self.assertEqual(ours, odoos)
        self.assertEqual(len(ours), 2)

    def test_other_sends_take_odoos_path(self):
        last = self.last_bus_id()
        statements = self.statements(
            lambda: self.env["bus.bus"]._sendmany(
                [("plain", "t", 1), (self.pos_a._get_full_channel_name("a"), "t", 2)]
            )
        )
        self.assertEqual(len(self.bus_rows_since(last)), 2)
        # Odoo's create: one INSERT per row, and more around it.
        self.assertGreater(statements, 2)

    def test_odoos_path_when_a_module_extends_create(self):
        registry_class = type(self.env["bus.bus"])
        self.assertTrue(registry_class._sends_as_odoo())
        extended = type(
            "ExtendedBus", (ExtendsCreate, registry_class), {"_register": False}
        )
        self.assertFalse(extended._sends_as_odoo())
        self.assertIn(BusBus, extended.__mro__)
