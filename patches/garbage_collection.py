"""The gevent process: fewer and shorter full garbage collections.

Python's collector walks every object it tracks at each full collection,
and in the gevent process that walk is slow: its objects are spread over
the whole heap, and each visit is a cache miss (some 0.8 µs an object).
Thousands of waiting polls keep their objects alive for up to a minute,
so a broadcast, after which every POS polls again, promotes a fleet's
worth of objects to the oldest generation and triggers a full collection
each time a quarter more have come (Python's rule). With 5,000 POSes each
full collection stopped the process for 0.2 to 0.35 s, three or four times
per broadcast: half a second of its latency.

Here, in the gevent process only:

* once a registry is loaded, what is garbage then is collected and the
  rest frozen (``gc.freeze``): later collections skip it. Before the next
  freeze (another database, a registry reloaded after a module change) it
  unfreezes first, so that what an old registry left behind is collected;
* a full collection waits for ``YOUNG_COLLECTIONS`` collections of the
  middle generation (Python's default is 10) besides Python's own rule: in
  the harness's runs of 5,000 POSes, a handful in six minutes instead of
  three or four per broadcast. Young garbage, cycles included, is
  collected as before; what waits is garbage that lived long enough to be
  promoted (the harness's soak kept the server's memory flat).
"""
import functools
import gc
import logging
import time

import odoo
from odoo.modules.registry import Registry

_logger = logging.getLogger(__name__)

YOUNG_COLLECTIONS = 1000


def freeze():
    """Collect, then move every object left to the permanent generation."""
    start = time.monotonic()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _logger.info(
        "%d objects frozen out of garbage collection in %.2f s",
        gc.get_freeze_count(),
        time.monotonic() - start,
    )


def freeze_when_loaded():
    """Freeze once the registry loading now (if any) is loaded."""
    with Registry._lock:  # held while a registry loads
        freeze()


def install(evented=None, spawn=None):
    evented = odoo.evented if evented is None else evented
    new = Registry.new.__func__
    if not evented or getattr(new, "freezes", False):
        return

    @functools.wraps(new)
    def new_then_freeze(cls, *args, **kwargs):
        registry = new(cls, *args, **kwargs)
        freeze()
        return registry

    new_then_freeze.freezes = True
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, YOUNG_COLLECTIONS)
    Registry.new = classmethod(new_then_freeze)
    if spawn is None:
        from gevent import spawn
    # post_load runs while the first registry of the process loads
    spawn(freeze_when_loaded)
