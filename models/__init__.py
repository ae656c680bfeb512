from . import bus_bus, pos_config, sync_credential
