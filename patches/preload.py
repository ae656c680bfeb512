"""The gevent process loads its databases when it starts, not at a poll.

Odoo's gevent process loads a database's registry at the first request
for it: after a restart, the first polls of the whole fleet, and the first
message, wait those seconds. Loaded server-wide (``server_wide_modules``),
the addon has the gevent process load the databases Odoo preloads
(``db_name``) as soon as it serves; loaded with a database, the others of
``db_name``.
"""
import logging

import odoo
from odoo.modules.registry import Registry
from odoo.tools import config

_logger = logging.getLogger(__name__)


def to_preload():
    """The databases of ``db_name`` whose registry is not loaded (nor
    loading) in this process."""
    names = [name.strip() for name in (config["db_name"] or "").split(",")]
    return [name for name in names if name and name not in Registry.registries]


def preload(dbnames):
    for dbname in dbnames:
        try:
            odoo.registry(dbname)
        except Exception:  # pylint: disable=broad-except
            # the first request for it will try again, as in Odoo
            _logger.warning("database %s not preloaded", dbname, exc_info=True)


def install(evented=None, spawn=None):
    evented = odoo.evented if evented is None else evented
    dbnames = to_preload() if evented else []
    if dbnames:
        if spawn is None:
            from gevent import spawn
        # runs once the process serves: the listening socket queues meanwhile
        spawn(preload, dbnames)
