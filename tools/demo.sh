#!/usr/bin/env bash
# The demo of pos_longpolling (README.rst, "Quick start"):
#   tools/demo.sh [serve]         a database "pos_longpolling_demo" with
#                                 point_of_sale, demo data and this addon, an
#                                 open POS session, and a server on
#                                 http://127.0.0.1:${PORT:-8069} (Ctrl-C or
#                                 `tools/demo.sh stop` stops it)
#   tools/demo.sh send-message TEXT [--title TITLE] [--ack]
#                                 what "Send a message to POS screens" does
#                                 (as admin): every open POS shows TEXT, in a
#                                 popup to close with --ack
#   tools/demo.sh send CHANNEL JSON   send_to_all_poses(CHANNEL, JSON) in
#                                 that database, committed: open POSes get it
#   tools/demo.sh stop            stops the server that serve started
#   tools/demo.sh clean           stops it, drops the demo and template
#                                 databases with their files, removes the
#                                 cached tools and temporary folders
# Environment: PORT (8069); DEMO_INTERFACE, the address to serve on
# (127.0.0.1: this machine only; 0.0.0.0 for every interface); ADDONS, a
# comma-separated list of module folders to install beside the addon (or of
# addons folders to add to the addons path); POS_LONGPOLLING_DEMO_DB.
# Needs Odoo 15.0 (ODOO_BIN, ODOO_PYTHON: see tools/odoo_env.sh) and PostgreSQL.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/odoo_env.sh
. "$repo/tools/odoo_env.sh"
db=${POS_LONGPOLLING_DEMO_DB:-pos_longpolling_demo}
port=${PORT:-8069}
interface=${DEMO_INTERFACE:-127.0.0.1}
pidfile=$data_dir/$db.pid
# the ADDONS of the running demo, for the commands that send
addons_file=$data_dir/$db.addons
me=$0
usage="usage: $me [serve | send-message TEXT [--title TITLE] [--ack] | send CHANNEL JSON | stop | clean]"

die() {
    echo "$me: $*" >&2
    exit 2
}

need_odoo() {
    find_odoo || die "no Odoo 15.0 found: set ODOO_BIN to an odoo-bin of Odoo 15.0 (and ODOO_PYTHON to its Python)"
}

# The demo's database, for the commands that send to it.
need_demo_db() {
    db_exists "$db" || die "no demo database $db: start the demo first ($me)"
}

running_pid() {
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# link_addons: ADDONS into Odoo's addons path; sets `modules`, those to install.
link_addons() {
    local path paths names=()
    IFS=, read -r -a paths <<<"${ADDONS:-}"
    for path in "${paths[@]}"; do
        [ -n "$path" ] || continue
        [ -d "$path" ] || die "ADDONS: $path is not a folder"
        path=$(cd "$path" && pwd)
        if [ -f "$path/__manifest__.py" ]; then
            [ "$(basename "$path")" != pos_longpolling ] ||
                die "ADDONS: $path is named pos_longpolling, as this addon"
            ln -sfn "$path" "$addons_link_dir/$(basename "$path")"
            names+=("$(basename "$path")")
        else
            addons_path=$addons_path,$path
        fi
    done
    modules=$(IFS=, && echo "${names[*]}")
}

# demo_shell: Odoo's shell on the demo database, with the running demo's ADDONS
demo_shell() {
    need_demo_db
    if [ -z "${ADDONS+set}" ] && [ -f "$addons_file" ]; then
        ADDONS=$(cat "$addons_file")
    fi
    link_addons
    odoo_shell -d "$db" --log-level=error --http-port="$(free_port)" "$@"
}

# One compound command, read whole before it runs: the script may change
# (a git pull) while the demo serves.
{
case "${1:-serve}" in
serve)
    [ $# -le 1 ] || die "serve takes no argument ($usage)"
    if pid=$(running_pid); then
        die "the demo already runs (pid $pid): stop it first ($me stop)"
    fi
    need_odoo
    link_addons
    mkdir -p "$data_dir"
    printf '%s\n' "${ADDONS:-}" >"$addons_file"
    if db_exists "$db"; then
        echo "updating pos_longpolling${modules:+,$modules} in the database $db..."
    else
        echo "making the database $db (the first time: a few minutes)..."
        fresh_db "$db"
    fi
    # -i what is not installed (a new module, an interrupted first start),
    # -u what is: an earlier database gets this code's version
    odoo_run -d "$db" -i "pos_longpolling${modules:+,$modules}" \
        -u "pos_longpolling${modules:+,$modules}" --stop-after-init --log-level=warn \
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
    case "$interface" in
    127.* | localhost | ::1) host=$interface where="this machine only; DEMO_INTERFACE=0.0.0.0 serves every interface" ;;
    0.0.0.0 | ::) host=$(hostname) where="every network interface: anyone who reaches this machine can log in" ;;
    *) host=$interface where="the interface $interface" ;;
    esac
    cat <<TXT
POS Longpolling demo on http://$host:$port (on $where)
database $db, login admin / admin${modules:+, with $modules}
  1. open http://$host:$port/pos/ui; the longpolling icon in the header
     turns green;
  2. from another shell, send the cashiers a message; it shows at once:
       $me send-message "Hello from the back office"
       $me send-message "Count the till before closing" --title Closing --ack
     (the same as Point of Sale > Configuration > Point of Sale, Action >
     "Send a message to POS screens");
  3. your own channel: subscribe in the browser console, then push to it:
       posmodel.bus.add_channel_callback("demo", (data) => alert(JSON.stringify(data)))
       $me send demo '{"hello": "POS"}'
Ctrl-C or "$me stop" stops the server; "$me clean" removes what the demo made.
TXT
    # Not exec: the shell removes the temporary addons folder when Odoo ends.
    # No cron thread: the demo needs none, and Odoo's stops with a traceback.
    "${odoo[@]}" --addons-path="$addons_path" --data-dir="$data_dir" -d "$db" \
        --db-filter="^$db\$" --http-interface="$interface" --http-port="$port" \
        --workers=0 --max-cron-threads=0 --pidfile="$pidfile" --log-level=warn || true
    ;;
send)
    [ $# -eq 3 ] || die "send takes a channel name and JSON data: $me send CHANNEL JSON"
    [ -n "${2//[[:space:]]/}" ] || die "send: the channel name is empty"
    [ -n "${3//[[:space:]]/}" ] || die "send: the JSON data is empty (e.g. '{\"hello\": \"POS\"}')"
    error=$(python3 -c 'import json, sys; json.loads(sys.argv[1])' "$3" 2>&1 | tail -n 1) ||
        die "send: the data is not JSON (${error#json.decoder.JSONDecodeError: })"
    need_odoo
    CHANNEL=$2 DATA=$3 ME=$me demo_shell <<'PY'
import json, os, sys
from odoo.exceptions import UserError
try:
    env["pos.config"].send_to_all_poses(os.environ["CHANNEL"], json.loads(os.environ["DATA"]))
except (UserError, ValueError) as error:
    print("%s: send: %s" % (os.environ["ME"], error.args[0]), file=sys.stderr)
    sys.exit(2)
env.cr.commit()
print("sent to %d open POS(es)" % env["pos.session"].search_count([("state", "!=", "closed")]))
PY
    ;;
send-message)
    musage="$me send-message TEXT [--title TITLE] [--ack]"
    [ $# -ge 2 ] || die "send-message needs a text: $musage"
    text=$2 title="" ack=""
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --title)
            [ $# -ge 2 ] || die "send-message: --title needs a title: $musage"
            title=$2 && shift 2
            ;;
        --ack) ack=1 && shift ;;
        *) die "send-message: unknown argument '$1': $musage" ;;
        esac
    done
    [ -n "${text//[[:space:]]/}" ] || die "send-message: the text is empty: $musage"
    need_odoo
    TEXT=$text TITLE=$title ACK=$ack ME=$me demo_shell <<'PY'
import os, sys, time
from odoo.exceptions import UserError
try:
    wizard = env["pos.announcement.wizard"].with_user(env.ref("base.user_admin")).create({
        "body": os.environ["TEXT"],
        "title": os.environ["TITLE"],
        "needs_ack": bool(os.environ["ACK"]),
    })
    action = wizard.action_send()
except UserError as error:
    print("%s: send-message: %s" % (os.environ["ME"], error.args[0]), file=sys.stderr)
    sys.exit(2)
env.cr.commit()
announcement = env["pos.announcement"].browse(action["res_id"])
print("sent to %d POS(es): %s (committed at %.3f)" % (
    len(announcement.receipt_ids), announcement.display_name, time.time()))
PY
    ;;
stop)
    if ! pid=$(running_pid); then
        echo "no demo server is running"
        exit 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" && rm -f "$pidfile"
    fi
    echo "stopped the demo server (pid $pid)"
    ;;
clean)
    "$0" stop
    for name in "$db" "$template_db" "${template_db}_making"; do
        if db_exists "$name"; then
            if drop_db "$name"; then
                echo "dropped the database $name and its files"
            else
                echo "$me: could not drop the database $name (in use?)" >&2
            fi
        fi
    done
    rm -f "$addons_file"
    if [ -z "${POS_LONGPOLLING_DATA_DIR:-}" ]; then  # the demo's own: sessions too
        rm -rf "$data_dir/sessions" "$data_dir/addons"
    fi
    rmdir "$data_dir/filestore" "$data_dir" 2>/dev/null || true
    rm -rf "$cache" "${TMPDIR:-/tmp}"/pos_longpolling_addons.* \
        "${TMPDIR:-/tmp}"/pos_longpolling_odoo_tests*.log
    echo "removed the cached tools ($cache) and temporary folders"
    ;;
*)
    die "unknown command '$1' ($usage)"
    ;;
esac
exit
}
