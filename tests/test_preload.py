import threading
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import config

from ..patches import preload


@tagged("post_install", "-at_install")
class TestPreload(BaseCase):
    """The gevent process loads the databases of ``db_name`` at start."""

    def install(self, db_name, evented=True):
        spawned = []
        with patch.dict(config.options, {"db_name": db_name}):
            preload.install(evented, spawn=lambda *args: spawned.append(args))
        return spawned

    def test_gevent_process_loads_the_databases_not_loaded(self):
        other = "lp_never_%s" % get_db_name()
        spawned = self.install("%s, %s" % (get_db_name(), other))
        self.assertEqual(spawned, [(preload.preload, [other])])

    def test_nothing_to_load(self):
        self.assertEqual(self.install(get_db_name()), [], "loaded already")
        self.assertEqual(self.install(""), [])
        self.assertEqual(self.install("lp_never", evented=False), [], "threaded")

    def test_a_database_that_fails_to_load_is_left_to_the_first_request(self):
        # loading names the thread's database (log lines): put it back
        thread = threading.current_thread()
        self.addCleanup(setattr, thread, "dbname", getattr(thread, "dbname", None))
        with self.assertLogs(preload.__name__, "WARNING") as logs:
            preload.preload(["lp_never_%s" % get_db_name()])
        self.assertIn("not preloaded", logs.output[0])
