#!/usr/bin/env bash
# The main job of pos_longpolling (README.rst, "Demo"):
#   tools/demo.sh [serve]         a database "pos_longpolling_demo" with
#                                 point_of_sale, demo data and this addon, an
#                                 open POS session, and a server on
#                                 http://localhost:${PORT:-8069} (Ctrl-C stops)
#   tools/demo.sh send-message TEXT [--title TITLE] [--ack]
#                                 what "Send a message to POS screens" does
#                                 (as admin): every open POS shows TEXT, in a
#                                 popup to close with --ack
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
    # A database of an earlier run gets this code's version of the addon.
    if db_exists "$db"; then install=-u; else fresh_db "$db" && install=-i; fi
    odoo_run -d "$db" "$install" pos_longpolling --stop-after-init --log-level=warn \
        --http-port="$(free_port)"
    odoo_shell -d "$db" --log-level=warn --http-port="$(free_port)" <<'PY'
config = env.ref("point_of_sale.pos_config_main").with_user(env.ref("base.user_admin"))
if not config.current_session_id:
    config.open_session_cb(check_coa=False)
# Counted the opening cash already: the POS opens on its product screen.
if config.current_session_id.state == "opening_control":
    config.current_session_id.set_cashbox_pos(0, "")
env.cr.commit()
PY
    cat <<TXT
POS Longpolling demo on http://localhost:$port (database $db, login admin / admin)
  1. open http://localhost:$port/pos/ui; the longpolling icon in the header
     turns green;
  2. from another shell, send the cashiers a message; it shows at once:
       $0 send-message "Hello from the back office"
       $0 send-message "Count the till before closing" --title Closing --ack
     (the same as Point of Sale > Configuration > Point of Sale, Action >
     "Send a message to POS screens");
  3. your own channel: subscribe in the browser console, then push to it:
       posmodel.bus.add_channel_callback("demo", (data) => alert(JSON.stringify(data)))
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
send-message)
    usage="usage: $0 send-message TEXT [--title TITLE] [--ack]"
    text=${2:?$usage}
    title="" ack=""
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --title) title=${2:?$usage} && shift 2 ;;
        --ack) ack=1 && shift ;;
        *) echo "$usage" >&2 && exit 2 ;;
        esac
    done
    TEXT=$text TITLE=$title ACK=$ack odoo_shell -d "$db" --log-level=warn \
        --http-port="$(free_port)" <<'PY'
import os, time
wizard = env["pos.announcement.wizard"].with_user(env.ref("base.user_admin")).create({
    "body": os.environ["TEXT"],
    "title": os.environ["TITLE"],
    "needs_ack": bool(os.environ["ACK"]),
})
action = wizard.action_send()
env.cr.commit()
print("%s (committed at %.3f)" % (action["params"]["message"], time.time()))
PY
    ;;
*)
    echo "usage: $0 [serve | send-message TEXT [--title TITLE] [--ack] | send CHANNEL JSON]" >&2
    exit 2
    ;;
esac
