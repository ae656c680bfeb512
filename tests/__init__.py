from . import (
    test_channels,
    test_connection_pool,
    test_dispatch,
    test_send,
    test_update_route,
    test_ui,
)
