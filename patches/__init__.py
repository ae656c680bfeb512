"""Changes to Odoo 15's internals, kept apart from models and controllers.

The manifest's ``post_load`` applies them once per process, when the first
database that has this addon installed is loaded. Each module changes one
thing (README, *Patches of Odoo*); where a change can tell the databases
apart, it acts only for those where this addon is installed.
"""
from . import (
    bus_dispatch,
    bus_listener,
    connection_pool,
    db_outage,
    garbage_collection,
    json_request,
    longpolling_socket,
    pos_poll,
    preload,
    request_headers,
    response_write,
)


def post_load():
    bus_listener.install()
    bus_dispatch.install()
    connection_pool.install()
    db_outage.install()
    db_outage.install_pool_full()
    garbage_collection.install()
    json_request.install()
    longpolling_socket.install()
    pos_poll.install()
    preload.install()
    request_headers.install()
    response_write.install()
