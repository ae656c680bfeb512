from . import connection_pool, pos_config
