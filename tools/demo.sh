#!/usr/bin/env bash
# The main job of pos_longpolling (README.rst, "Demo"):
#   tools/demo.sh [serve]         a database "pos_longpolling_demo" with
#                                 point_of_sale, demo data and this addon, an
#                                 open POS session, and a server on
#                                 http://localhost:${PORT:-8069} (Ctrl-C stops)
#   tools/demo.sh send CHANNEL JSON   send_to_all_poses(CHANNEL, JSON) in
#                                 that database, committed: open POSes get it
# Needs Odoo 15.0 (ODOO_BIN, ODOO_PYTHON: see tools/odoo_env.sh) and PostgreSQL.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/odoo_env.sh
. "$repo/tools/odoo_env.sh"
db=${POS_LONGPOLLING_DEMO_DB:-pos_longpolling_demo}
port=${PORT:-8069}

if ! find_odoo; then
    echo "No Odoo 15.0 found: set ODOO_BIN to an odoo-bin of Odoo 15.0 (and ODOO_PYTHON)." >&2
    exit 2
fi

case "${1:-serve}" in
serve)
    if ! db_exists "$db"; then
        fresh_db "$db"
        odoo_run -d "$db" -i pos_longpolling --stop-after-init --log-level=warn \
            --http-port="$(free_port)"
    fi
    odoo_shell -d "$db" --log-level=warn --http-port="$(free_port)" <<'PY'
config = env.ref("point_of_sale.pos_config_main")
if not config.current_session_id:
    config.with_user(env.ref("base.user_admin")).open_session_cb(check_coa=False)
env.cr.commit()
PY
    cat <<TXT
POS Longpolling demo on http://localhost:$port (database $db, login admin / admin)
  1. open http://localhost:$port/pos/ui and click "Open session"; the
     longpolling icon in the header turns green;
  2. in the browser console, subscribe:
       posmodel.bus.add_channel_callback("demo", (data) => alert(JSON.stringify(data)))
  3. from another shell, push:
       $0 send demo '{"hello": "POS"}'
TXT
    exec "${odoo[@]}" --addons-path="$addons_path" --data-dir="$data_dir" -d "$db" \
        --db-filter="^$db\$" --http-port="$port" --workers=0
    ;;
send)
    channel=${2:?usage: $0 send CHANNEL JSON}
    data=${3:?usage: $0 send CHANNEL JSON}
    CHANNEL=$channel DATA=$data odoo_shell -d "$db" --log-level=warn \
        --http-port="$(free_port)" <<'PY'
import json, os
env["pos.config"].send_to_all_poses(os.environ["CHANNEL"], json.loads(os.environ["DATA"]))
env.cr.commit()
print("sent to %d open POS(es)" % env["pos.session"].search_count([("state", "!=", "closed")]))
PY
    ;;
*)
    echo "usage: $0 [serve | send CHANNEL JSON]" >&2
    exit 2
    ;;
esac
