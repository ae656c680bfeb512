from . import (
    test_announcement,
    test_bus_listener,
    test_channels,
    test_connection_pool,
    test_db_outage,
    test_dispatch,
    test_poll_route,
    test_rpc,
    test_send,
    test_update_route,
    test_ui,
)
