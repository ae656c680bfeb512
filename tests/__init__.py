from . import test_channels, test_send, test_update_route, test_ui
