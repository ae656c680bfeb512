import gc
import weakref

from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..patches import garbage_collection


class Cycle:
    __slots__ = ("me", "__weakref__")

    def __init__(self):
        self.me = self


@tagged("post_install", "-at_install")
class TestGarbageCollection(BaseCase):
    """The gevent process freezes its registries out of the collector and
    makes full collections rare."""

    def setUp(self):
        super().setUp()
        # this process is threaded: put back what a test changes
        self.addCleanup(gc.set_threshold, *gc.get_threshold())
        self.addCleanup(gc.unfreeze)
        self.addCleanup(setattr, Registry, "new", Registry.__dict__["new"])

    def install(self, evented=True):
        spawned = []
        loaded = []

        def new(cls, db_name, *args, **kwargs):
            loaded.append(db_name)
            return "registry of %s" % db_name

        Registry.new = classmethod(new)
        garbage_collection.install(evented, spawn=spawned.append)
        return spawned, loaded

    def test_threaded_process_unchanged(self):
        threshold = gc.get_threshold()
        spawned, _loaded = self.install(evented=False)
        self.assertEqual(spawned, [])
        self.assertFalse(getattr(Registry.new, "freezes", False))
        self.assertEqual(gc.get_threshold(), threshold)

    def test_a_loaded_registry_is_frozen(self):
        young, middle, _old = gc.get_threshold()
        spawned, loaded = self.install()
        self.assertEqual(spawned, [garbage_collection.freeze_when_loaded])
        self.assertEqual(
            gc.get_threshold(),
            (young, middle, garbage_collection.YOUNG_COLLECTIONS),
        )
        gc.unfreeze()
        kept = [object() for _ in range(3)]  # noqa: F841
        self.assertEqual(Registry.new("lp_db"), "registry of lp_db")
        self.assertEqual(loaded, ["lp_db"])
        self.assertGreater(gc.get_freeze_count(), 0)
        # installed once, however often post_load runs
        new, spawned = Registry.new, []
        garbage_collection.install(True, spawn=spawned.append)
        self.assertEqual(spawned, [])
        self.assertIs(Registry.new.__func__, new.__func__)

    def test_what_an_old_registry_left_is_collected_at_the_next_freeze(self):
        old = Cycle()
        gone = weakref.ref(old)
        garbage_collection.freeze()
        del old
        gc.collect()
        self.assertIsNotNone(gone(), "frozen: out of the collector's reach")
        garbage_collection.freeze()
        self.assertIsNone(gone(), "unfrozen, then collected")

    def test_freeze_waits_for_the_registry_loading_now(self):
        events = []

        class Lock:  # Registry._lock, held while a registry loads
            def __enter__(self):
                events.append("acquired")

            def __exit__(self, *exc):
                events.append("released")

        self.patch(Registry, "_lock", Lock())
        self.patch(garbage_collection, "freeze", lambda: events.append("frozen"))
        garbage_collection.freeze_when_loaded()
        self.assertEqual(events, ["acquired", "frozen", "released"])
