from . import bus_bus, pos_config, pos_longpolling_gap
