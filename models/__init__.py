from . import bus_listener, connection_pool, db_outage, pos_config
