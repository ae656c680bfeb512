from . import (
    bus_bus,
    pos_config,
    pos_config_connection,
    pos_longpolling_contact,
    pos_longpolling_gap,
    pos_announcement,
    pos_announcement_receipt,
    sync_credential,
)
