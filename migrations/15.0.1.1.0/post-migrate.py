"""15.0.1.1.0: the gap bookkeeping moves from ``pos_config.longpolling_deleted_id``
(which Point of Sale users could write) to ``pos.longpolling.gap`` (which no
user can), values kept, never beyond the bus's newest id."""


def migrate(cr, version):
    cr.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'pos_config'"
        " AND column_name = 'longpolling_deleted_id'"
    )
    if not cr.fetchone():
        return
    cr.execute(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bus_bus_id_seq"
    )
    (newest,) = cr.fetchone()
    cr.execute(
        "INSERT INTO pos_longpolling_gap (config_id, deleted_id)"
        " SELECT id, LEAST(longpolling_deleted_id, %s) FROM pos_config"
        " WHERE longpolling_deleted_id > 0"
        " ON CONFLICT (config_id) DO UPDATE SET deleted_id = GREATEST("
        "pos_longpolling_gap.deleted_id, EXCLUDED.deleted_id)",
        (newest,),
    )
    cr.execute("ALTER TABLE pos_config DROP COLUMN longpolling_deleted_id")
