# Sourced by the project's commands: finds Odoo 15.0 and prepares databases.
#   ODOO_BIN     an odoo-bin of Odoo 15.0 (else an importable `odoo` package)
#   ODOO_PYTHON  the interpreter to run it with (default python3)
#   POS_LONGPOLLING_TEMPLATE_DB  template database with point_of_sale and
#                demo data, made on first use (default pos_longpolling_template)
#   POS_LONGPOLLING_DATA_DIR     Odoo's data dir for these databases' files
#                (default ~/.local/share/pos_longpolling)
# PostgreSQL is reached as libpq's environment says (PGHOST, PGUSER, ...).

repo=${repo:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pos_longpolling
template_db=${POS_LONGPOLLING_TEMPLATE_DB:-pos_longpolling_template}
data_dir=${POS_LONGPOLLING_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/pos_longpolling}
odoo=()

find_odoo() {
    local python=${ODOO_PYTHON:-python3}
    if [ -n "${ODOO_BIN:-}" ]; then
        odoo=("$python" "$ODOO_BIN")
    elif "$python" -c 'import odoo.release as r, sys; sys.exit(r.version_info[0] != 15)' 2>/dev/null; then
        odoo=("$python" -c 'import sys, odoo.cli; sys.argv[0] = "odoo"; odoo.cli.main()')
    else
        return 1
    fi
    # Odoo names an addon after its folder: whatever this clone's folder is
    # called, Odoo finds it as pos_longpolling.
    addons_link_dir=$(mktemp -d "${TMPDIR:-/tmp}/pos_longpolling_addons.XXXXXX")
    ln -s "$repo" "$addons_link_dir/pos_longpolling"
    # examples/: modules built on the addon (their tests run with its own)
    addons_path=$addons_link_dir,$repo/examples
    if [ -n "${ODOO_BIN:-}" ] && [ -d "$(dirname "$ODOO_BIN")/addons" ]; then
        addons_path="$(cd "$(dirname "$ODOO_BIN")/addons" && pwd),$addons_path"
    fi
    trap 'rm -rf "$addons_link_dir"' EXIT
}

# odoo_run ARGS...: Odoo with this project's addons path, logging to stdout.
odoo_run() {
    "${odoo[@]}" --addons-path="$addons_path" --data-dir="$data_dir" --no-database-list "$@"
}

# odoo_shell ARGS...: Odoo's shell (a subcommand comes before the options).
odoo_shell() {
    "${odoo[@]}" shell --addons-path="$addons_path" --data-dir="$data_dir" --no-database-list "$@"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

db_exists() {
    [ "$(psql -XAtc "SELECT 1 FROM pg_database WHERE datname = '$1'" postgres 2>/dev/null)" = 1 ]
}

# ensure_template: the template database, made once (about a minute).
ensure_template() {
    db_exists "$template_db" && return 0
    echo "  making the template database $template_db (point_of_sale with demo data, once: a few minutes)..."
    # made under another name: an interrupted run leaves no half template
    local making=${template_db}_making log ticker rc
    drop_db "$making" && createdb "$making" || return 1
    log=$(mktemp)
    minutes "making the template" &
    ticker=$!
    odoo_run -d "$making" -i point_of_sale --stop-after-init \
        --http-port="$(free_port)" --log-level=warn >"$log" 2>&1
    rc=$?
    kill "$ticker"
    if [ "$rc" -ne 0 ] ||
        ! psql -XqAtc "ALTER DATABASE \"$making\" RENAME TO \"$template_db\"" postgres; then
        tail -n 40 "$log"
        rm -f "$log"
        drop_db "$making"
        return 1
    fi
    rm -f "$log"
    if [ -d "$data_dir/filestore/$making" ]; then
        mv "$data_dir/filestore/$making" "$data_dir/filestore/$template_db"
    fi
}

# fresh_db NAME: a new database copied from the template, with its files.
fresh_db() {
    ensure_template || return 1
    drop_db "$1" && createdb -T "$template_db" "$1" || return 1
    if [ -d "$data_dir/filestore/$template_db" ]; then
        cp -a "$data_dir/filestore/$template_db" "$data_dir/filestore/$1"
    fi
}

drop_db() {
    dropdb --if-exists "$1" 2>/dev/null && rm -rf "${data_dir:?}/filestore/$1"
}

# minutes MESSAGE: "  MESSAGE: N min" each minute, for as long as this
# script runs or until killed; what a long step says while it works
minutes() {
    local n=0
    while sleep 60 && kill -0 $$ 2>/dev/null; do
        n=$((n + 1))
        echo "  $1: $n min"
    done
}

# tool_venv NAME REQUIREMENT...: prints a cached venv with these, made once
tool_venv() {
    local dir=$cache/$1
    shift
    if [ ! -f "$dir/.complete" ]; then
        echo "  installing $* from PyPI (once, into $cache)..." >&2
        rm -rf "$dir" && python3 -m venv "$dir" >&2 &&
            "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@" >&2 &&
            touch "$dir/.complete" || return 1
    fi
    echo "$dir"
}

# checklog LOG: fails on a warning or error of ours in an Odoo log, never
# on another module's (checklog-odoo.cfg says which records are ours)
checklog() {
    local venv
    venv=$(tool_venv checklog-odoo-1.0 checklog-odoo==1.0) || return 1
    "$venv/bin/checklog-odoo" --config "$repo/checklog-odoo.cfg" --no-echo "$1"
}

# The modules run_odoo_tests installs and tests: the addon and its examples.
tested_modules=(pos_longpolling pos_longpolling_partner_sync)

# run_odoo_tests: installs pos_longpolling and the examples on a fresh
# database and runs their tests; prints "odoo tests: P passed, F failed" and fails on a failed test,
# and on any warning or error of ours in the log (checklog).
run_odoo_tests() {
    local db="pos_longpolling_test_$$" log rc tests failures bad follower ticker
    fresh_db "$db" || { echo "odoo tests: 0 passed, 1 failed"; return 1; }
    # one log per run: runs from several clones may be under way at once
    log=${TMPDIR:-/tmp}/pos_longpolling_odoo_tests_$$.log
    echo "  installing ${tested_modules[*]} on the database $db, then their tests, class by class:"
    : >"$log"
    # each test class as it starts, until Odoo ends (or this script does)
    tail -n +1 -f --pid=$$ "$log" > >(while IFS= read -r line; do
        case $line in
        *" odoo.addons.pos_longpolling"*".tests."*": Starting "*)
            line=${line#*: Starting }
            [ "${line%%.*}" = "${class:-}" ] || echo "  ${line%%.*}"
            class=${line%%.*}
            ;;
        esac
    done) &
    follower=$!
    minutes "Odoo tests running" &
    ticker=$!
    odoo_run -d "$db" -i "$(tr ' ' , <<<"${tested_modules[*]}")" --test-enable \
        --test-tags "$(printf '/%s,' "${tested_modules[@]}" | sed 's/,$//')" \
        --stop-after-init --http-port="$(free_port)" --longpolling-port="$(free_port)" \
        --workers=0 --max-cron-threads=0 >"$log" 2>&1
    rc=$?
    kill "$follower" "$ticker"
    tests=$(sed -n 's/.* \([0-9]*\) post-tests in .*/\1/p' "$log" | tail -n 1)
    failures=$(sed -n 's/.* \([0-9]*\) failed, \([0-9]*\) error(s) of [0-9]* tests.*/\1 \2/p' "$log" |
        tail -n 1 | awk '{print $1 + $2}')
    failures=${failures:-0}
    # Warnings and errors of this addon (by logger, or naming its files)
    bad=$(checklog "$log" 2>&1) && bad=""
    drop_db "$db"
    if [ -n "$bad" ] || [ "$rc" -ne 0 ] || [ -z "$tests" ]; then
        printf 'errors or warnings of ours in the log (all of it: %s):\n%s\n' "$log" \
            "${bad:-$(tail -n 40 "$log")}" | head -n 200
        echo "odoo tests: $(( ${tests:-0} - failures > 0 ? ${tests:-0} - failures : 0 )) passed, $(( failures > 0 ? failures : 1 )) failed"
        return 1
    fi
    rm -f "$log"
    echo "odoo tests: $tests passed, 0 failed"
}
