#!/usr/bin/env bash
# The test command of pos_longpolling (README.rst, "Tests"). Runs:
#   1. the checks of .pre-commit-config.yaml with pre-commit (pinned, from
#      PyPI; the hooks' tools from PyPI and npm), on every file under git
#      control: its formatters fix files in place, as pre-commit does;
#   2. the packaging (tools/check_package.sh);
#   3. the client's logic under Node's test runner (static/tests/node);
#   4. the demo's refusals of bad input (tools/demo.sh, no Odoo needed);
#   5. the log check of the Odoo tests on a sample log (tools/checklog);
#   6. where an Odoo 15.0 is available, the Odoo-native tests (tests/, and
#      those of examples/) on a fresh database copied from a template with
#      point_of_sale and demo data.
# Odoo is found through ODOO_BIN (its odoo-bin; ODOO_PYTHON the interpreter
# to run it with, default python3), else as an importable `odoo` package.
# Without Odoo, step 6 is skipped and says so. Ends with one summary line.
# Tools are installed once into ${XDG_CACHE_HOME:-~/.cache}/pos_longpolling.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
passed=0 failed=0 skipped=0

step() { printf '\n== %s\n' "$*"; }
ok() { passed=$((passed + ${2:-1})); printf 'ok: %s\n' "$1"; }
ko() { failed=$((failed + ${2:-1})); printf 'FAILED: %s\n' "$1"; }
skip() { skipped=$((skipped + 1)); printf 'SKIPPED: %s\n' "$1"; }

# shellcheck source=tools/odoo_env.sh
. "$repo/tools/odoo_env.sh"

step "OCA checks: pre-commit run --all-files (.pre-commit-config.yaml)"
log=$(mktemp)
if ! venv=$(tool_venv pre-commit-3.8.0 pre-commit==3.8.0); then
    ko "pre-commit: could not install it from PyPI"
else
    # each hook's result as it comes; the first run installs their tools
    minutes "pre-commit running" &
    ticker=$!
    (cd "$repo" && PRE_COMMIT_HOME=$cache/pre-commit "$venv/bin/pre-commit" run \
        --all-files --show-diff-on-failure --color=never) 2>&1 | tee "$log" |
        while IFS= read -r line; do  # (awk may wait for a full buffer)
            case $line in
            "[INFO] Installing environment"*)
                [ -n "${installing:-}" ] ||
                    echo "  installing the hooks' tools from PyPI and npm (first run only)..."
                installing=1
                ;;
            *Passed | *Failed | *Skipped) echo "  $line" ;;
            esac
        done
    rc=${PIPESTATUS[0]}
    kill "$ticker"
    if [ "$rc" -eq 0 ]; then
        ok "pre-commit: $(grep -c 'Passed$' "$log") hooks passed, $(grep -c 'Skipped$' "$log") had no files"
    else
        cat "$log"
        ko "pre-commit: $(grep -c 'Failed$' "$log") hooks failed (the formatters fixed what they could: see git diff)"
    fi
fi
rm -f "$log"

step "Packaging: the wheel odoo-addon-pos_longpolling (tools/check_package.sh)"
echo "  building the wheel and installing it into a scratch venv..."
log=$(mktemp)
minutes "packaging check running" &
ticker=$!
"$repo/tools/check_package.sh" >"$log" 2>&1
rc=$?
kill "$ticker"
if [ "$rc" -eq 0 ]; then
    tail -n 3 "$log"
    ok "package"
else
    cat "$log"
    ko "package"
fi
rm -f "$log"

step "Client logic under Node (static/tests/node)"
if command -v node >/dev/null; then
    log=$(mktemp)
    (cd "$repo" && node --test --test-reporter=tap static/tests/node/) >"$log" 2>&1
    rc=$?
    n_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log")
    n_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log")
    grep -E '^(not ok|# (tests|pass|fail))' "$log"
    if [ "$rc" -eq 0 ] && [ "${n_pass:-0}" -gt 0 ]; then
        ok "node tests" "$n_pass"
    else
        cat "$log"
        ko "node tests" "$(( ${n_fail:-0} > 0 ? n_fail : 1 ))"
    fi
    rm -f "$log"
else
    skip "node tests: no node on PATH (Node.js 18 or newer runs them)"
fi

step "Demo commands: bad input is refused in one line, before Odoo is asked (tools/demo.sh)"
# each: exit status 2, one line on stderr, nothing on stdout
demo_refuses() {
    local out err rc
    err=$(mktemp)
    out=$(ODOO_BIN=/nonexistent "$repo/tools/demo.sh" "$@" 2>"$err")
    rc=$?
    if [ "$rc" -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <"$err")" -eq 1 ]; then
        ok "demo.sh $1 refused: $(sed 's/^.*demo\.sh: //' "$err" | cut -c1-70)"
    else
        ko "demo.sh $* (exit $rc, stdout '${out:0:60}', stderr: $(head -c 300 "$err"))"
    fi
    rm -f "$err"
}
demo_refuses send "" '{}'
demo_refuses send demo "  "
demo_refuses send demo '{"hello": '
demo_refuses send demo
demo_refuses send-message "   "
demo_refuses send-message "Hello" --colour red
demo_refuses send-message "Hello" --title

step "Log check of the Odoo tests: only this addon's records count (checklog-odoo.cfg)"
# on tools/checklog_sample.log: 3 records of ours, 3 of other modules (du_an,
# nhan_su, phong_ban), all in a database named pos_longpolling_test_4242
out=$(checklog "$repo/tools/checklog_sample.log" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'errors that caused failure (3)' <<<"$out" &&
    grep -q 'errors that did not cause failure (3)' <<<"$out" &&
    ! grep -A100 'errors that caused failure' <<<"$out" | grep -qE 'du_an|nhan_su|phong_ban'; then
    ok "log check: the 3 records of ours fail the tests, the 3 of other modules do not"
else
    printf '%s\n' "$out"
    ko "log check (tools/checklog_sample.log)"
fi

step "Odoo-native tests (tests/) in Odoo 15.0"
if ! find_odoo; then
    skip "Odoo-native tests: no Odoo 15.0 here (set ODOO_BIN to an odoo-bin, ODOO_PYTHON to its interpreter)"
else
    log=$(mktemp)
    run_odoo_tests | tee "$log"
    rc=${PIPESTATUS[0]}
    read -r o_pass o_fail < <(sed -n 's/^odoo tests: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n 1)
    rm -f "$log"
    o_pass=${o_pass:-0} o_fail=${o_fail:-0}
    if [ "$rc" -eq 0 ] && [ "$o_fail" -eq 0 ] && [ "$o_pass" -gt 0 ]; then
        ok "Odoo tests" "$o_pass"
    else
        passed=$((passed + o_pass))
        ko "Odoo tests" "$(( o_fail > 0 ? o_fail : 1 ))"
    fi
fi

printf '\nsummary: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
