#!/usr/bin/env bash
# The OCA 15.0 checks of pos_longpolling, without pre-commit and without git
# hosts: the hooks of .pre-commit-config.yaml at the same pinned versions
# (tools/lint/requirements.txt from PyPI, tools/lint/package.json from npm),
# installed once into ${XDG_CACHE_HOME:-~/.cache}/pos_longpolling, plus
# manifestoo, the translations (tools/check_i18n.py) and the README
# (tools/gen_readme.sh --check).
#
#   tools/lint.sh              run every check; never changes the work tree
#   tools/lint.sh --fix        apply the formatters' fixes to the work tree
#                              (autoflake, pyupgrade, isort, black, prettier,
#                              eslint --fix, whitespace, end of files), then
#                              run every check
#   tools/lint.sh CHECK...     run only these checks (--list names them)
#   tools/lint.sh exec CMD...  run CMD in a copy of the work tree in a folder
#                              named pos_longpolling (.pre-commit-config.yaml
#                              uses it for the hooks that name the addon
#                              after its folder)
#
# The checks run on a copy of the work tree (files under git control and new
# files not ignored; every file when there is no git) in a folder named
# pos_longpolling, as Odoo, pylint-odoo and oca-checks-odoo-module name the
# addon after its folder. The formatters run first, in that order, on that
# copy; a formatter that would change a file fails and shows the diff; the
# other checks then see the formatted files, so what they report is what is
# left to fix by hand after `tools/lint.sh --fix`. Paths in the output are
# relative to the repository.
#
# One line per check at the end (ok / FAILED); exit 1 if any check failed.
# Needs python3 (3.8 to 3.11 for pylint-odoo 7; LINT_PYTHON picks one) and
# node with npm (12 or newer).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pos_longpolling

# Same as the top-level `exclude` of .pre-commit-config.yaml (the addon is
# at the root of the repository).
EXCLUDE='(^|/)static/description/index\.html$|\.svg$|(^|/)tests/([^/]+/)?cassettes/|^\.copier-answers\.yml$|^\.github/|(^|/)static/(src/)?lib/|(^|/)readme/.*\.(rst|md)$|(^|/)(build|dist)/|(^|/)tests/samples/|^harness/results/|(^|/)(LICENSE|COPYING)|(^|/)node_modules/'
# Generated files, left alone by the whitespace fixers (OCA: README, .po/.pot)
GENERATED='^README\.rst$|\.pot?$'

FIXERS=(autoflake pyupgrade isort black prettier eslint trailing-whitespace end-of-file-fixer fix-encoding-pragma mixed-line-ending)
CHECKS=(
    forbidden-files en-po-files
    "${FIXERS[@]}"
    debug-statements check-case-conflict check-docstring-first
    check-executables-have-shebangs check-merge-conflict check-symlinks check-xml
    flake8 pylint-odoo pylint-odoo-optional
    oca-checks-odoo-module oca-checks-po
    manifestoo i18n readme
)

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# --- the files -----------------------------------------------------------

# all_files DIR: the work tree's files, one per line, relative to DIR
all_files() {
    if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
        [ "$(cd "$(git -C "$1" rev-parse --show-toplevel)" && pwd -P)" = "$(cd "$1" && pwd -P)" ]; then
        git -C "$1" ls-files -co --exclude-standard | while IFS= read -r f; do
            [ -e "$1/$f" ] || [ -L "$1/$f" ] && printf '%s\n' "$f"
        done
    else
        (cd "$1" && find . \( -name .git -o -name node_modules -o -name __pycache__ \
            -o -path ./build -o -path ./dist \) -prune -o \( -type f -o -type l \) -print |
            sed 's|^\./||' | sort)
    fi
}

# stage DEST: a copy of the work tree at DEST/pos_longpolling
stage() {
    mkdir -p "$1/pos_longpolling"
    all_files "$repo" | tar -C "$repo" --no-recursion -T - -cf - | tar -C "$1/pos_longpolling" -xf -
}

# select REGEX [EXCLUDE]: lines of $files matching REGEX (and not EXCLUDE)
select_files() {
    local out
    out=$(printf '%s\n' "$files" | grep -E "$1" || true)
    if [ -n "${2:-}" ]; then out=$(printf '%s\n' "$out" | grep -Ev "$2" || true); fi
    printf '%s\n' "$out" | sed '/^$/d'
}

text_files() {
    # text, as pre-commit's `types: [text]`: no NUL byte
    select_files '.' "${1:-^$}" | while IFS= read -r f; do
        [ -f "$f" ] && ! [ -L "$f" ] && LC_ALL=C grep -qI '' "$f" 2>/dev/null && printf '%s\n' "$f"
        [ -f "$f" ] && ! [ -s "$f" ] && printf '%s\n' "$f"
    done | sort -u
}

# --- the tools -------------------------------------------------------------

pick_python() {
    local candidate
    for candidate in ${LINT_PYTHON:-} python3.11 python3.10 python3.9 python3.8 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "${LINT_PYTHON:-python3}"
}

ensure_tools() {
    local key dir python
    key=$(cat "$repo/tools/lint/requirements.txt" "$repo/tools/lint/package.json" \
        "$repo/tools/lint/package-lock.json" | sha256sum | cut -c1-12)
    dir=$cache/lint-$key
    venv=$dir/venv
    nodebin=$dir/node/node_modules/.bin
    xml_plugin=$dir/node/node_modules/@prettier/plugin-xml
    [ -f "$dir/.complete" ] && return 0
    python=$(pick_python)
    echo "installing the pinned linters into $dir (once, with $python and npm)..." >&2
    rm -rf "$dir"
    mkdir -p "$dir/node"
    if ! "$python" -m venv "$venv" >&2 ||
        ! "$venv/bin/python" -m pip install --disable-pip-version-check -q \
            -r "$repo/tools/lint/requirements.txt" >&2; then
        echo "could not install the Python linters" >&2
        return 1
    fi
    cp "$repo/tools/lint/package.json" "$repo/tools/lint/package-lock.json" "$dir/node/"
    if ! (cd "$dir/node" && npm ci --no-audit --no-fund --loglevel=error >&2); then
        echo "could not install the JavaScript linters (npm)" >&2
        return 1
    fi
    touch "$dir/.complete"
}

# --- running the checks ----------------------------------------------------

declare -A result
out=""

# run_fixer NAME CMD...: runs CMD (on the files it names) in the copy; fails
# if it changed a file or exited non-zero for another reason
run_fixer() {
    local name=$1 rc changed
    shift
    rm -rf "$work/before" && cp -a "$work/pos_longpolling" "$work/before"
    out=$("$@" 2>&1)
    rc=$?
    changed=$(cd "$work" && diff -ruN before pos_longpolling | sed \
        -e 's|^--- before/|--- a/|' -e 's|^+++ pos_longpolling/|+++ b/|' \
        -e 's|^diff -ruN before/\([^ ]*\) pos_longpolling/.*|diff \1|')
    if [ "$rc" -ne 0 ] && [ -n "$out" ]; then
        printf '%s\n' "$out" | sed -e "s|$work/pos_longpolling/||g" -e "s|$work/||g"
    fi
    if [ -n "$changed" ]; then
        echo "would change: $(printf '%s\n' "$changed" | sed -n 's/^diff //p' | tr '\n' ' ')"
        printf '%s\n' "$changed" | head -n "${LINT_DIFF_LINES:-300}"
        [ "$(printf '%s\n' "$changed" | wc -l)" -gt "${LINT_DIFF_LINES:-300}" ] &&
            echo "... (diff cut at ${LINT_DIFF_LINES:-300} lines: LINT_DIFF_LINES=N for more)"
        result[$name]="FAILED: $name (would change files: tools/lint.sh --fix)"
    elif [ "$rc" -ne 0 ]; then
        result[$name]="FAILED: $name"
    else
        result[$name]="ok: $name"
    fi
}

# run_check NAME CMD...: fails if CMD exits non-zero; shows its output
run_check() {
    local name=$1 rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    out=$(printf '%s\n' "$out" | sed -e "s|$work/pos_longpolling/||g" -e "s|$work/||g")
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out"
        result[$name]="FAILED: $name"
    else
        [ -n "${SHOW_OK_OUTPUT:-}" ] && printf '%s\n' "$out"
        result[$name]="ok: $name"
    fi
}

# odoo_addons_path: Odoo's addons folders, from ODOO_BIN (as tools/test.sh
# finds Odoo) or from an `odoo` importable by ODOO_PYTHON; empty if neither
odoo_addons_path() {
    local base python=${ODOO_PYTHON:-python3}
    if [ -n "${ODOO_BIN:-}" ] && [ -f "$ODOO_BIN" ]; then
        base=$(cd "$(dirname "$ODOO_BIN")" && pwd)
        [ -d "$base/odoo/addons" ] && printf '%s/odoo/addons,%s/addons\n' "$base" "$base"
    elif "$python" -c 'import odoo.release as r, sys; sys.exit(r.version_info[0] != 15)' 2>/dev/null; then
        "$python" -c 'import os, odoo.addons; print(",".join(os.path.abspath(p) for p in odoo.addons.__path__))'
    fi
}

with_files() {
    # with_files FILES CMD...: CMD FILES..., or nothing when FILES is empty
    local list=$1
    shift
    [ -z "$list" ] && return 0
    local -a args
    mapfile -t args <<<"$list"
    "$@" "${args[@]}"
}

check() {
    local name=$1 py js
    py=$(select_files '\.py$')
    js=$(select_files '\.js$')
    printf '\n== %s\n' "$name"
    case $name in
    forbidden-files)
        run_check "$name" bash -c '[ -z "$1" ] || { echo "found forbidden files; remove them:"; echo "$1"; exit 1; }' _ \
            "$(select_files '\.rej$')" ;;
    en-po-files)
        run_check "$name" bash -c '[ -z "$1" ] || { echo "found an en.po file:"; echo "$1"; exit 1; }' _ \
            "$(select_files '(^|/)i18n/en\.po$')" ;;
    autoflake)
        run_fixer "$name" with_files "$py" "$venv/bin/autoflake" --expand-star-imports \
            --ignore-init-module-imports --in-place --remove-all-unused-imports \
            --remove-duplicate-keys --remove-unused-variables ;;
    pyupgrade)
        run_fixer "$name" with_files "$py" bash -c '"$0" --keep-percent-format "$@"; exit 0' \
            "$venv/bin/pyupgrade" ;;
    isort)
        run_fixer "$name" with_files "$(select_files '\.py$' '(^|/)__init__\.py$')" \
            "$venv/bin/isort" --settings=. ;;
    black)
        run_fixer "$name" with_files "$py" "$venv/bin/black" -q ;;
    prettier)
        run_fixer "$name" with_files \
            "$(select_files '\.(css|htm|html|js|json|jsx|less|md|scss|toml|ts|xml|yaml|yml)$')" \
            "$nodebin/prettier" --plugin="$xml_plugin" --write --list-different --ignore-unknown ;;
    eslint)
        run_fixer "$name" with_files "$js" "$nodebin/eslint" --fix --no-color ;;
    trailing-whitespace)
        run_fixer "$name" with_files "$(text_files "$GENERATED")" "$venv/bin/trailing-whitespace-fixer" ;;
    end-of-file-fixer)
        run_fixer "$name" with_files "$(text_files "$GENERATED")" "$venv/bin/end-of-file-fixer" ;;
    fix-encoding-pragma)
        run_fixer "$name" with_files "$py" "$venv/bin/fix-encoding-pragma" --remove ;;
    mixed-line-ending)
        run_fixer "$name" with_files "$(text_files)" "$venv/bin/mixed-line-ending" --fix=lf ;;
    debug-statements)
        run_check "$name" with_files "$py" "$venv/bin/debug-statement-hook" ;;
    check-case-conflict)
        # needs git: in the repository itself, read only
        if git -C "$repo" rev-parse >/dev/null 2>&1; then
            run_check "$name" bash -c 'cd "$0" && "$1" $(git ls-files)' "$repo" "$venv/bin/check-case-conflict"
        else
            run_check "$name" bash -c 'find . | sort -f | uniq -di | sed "s/^/case conflict: /" | grep . && exit 1; exit 0'
        fi ;;
    check-docstring-first)
        run_check "$name" with_files "$py" "$venv/bin/check-docstring-first" ;;
    check-executables-have-shebangs)
        run_check "$name" with_files "$(text_files | while IFS= read -r f; do [ -x "$f" ] && echo "$f"; done)" \
            "$venv/bin/check-executables-have-shebangs" ;;
    check-merge-conflict)
        run_check "$name" with_files "$(text_files '(^|/)README\.rst$|^docs/.*\.rst$')" \
            "$venv/bin/check-merge-conflict" --assume-in-merge ;;
    check-symlinks)
        run_check "$name" with_files "$(select_files '.')" "$venv/bin/check-symlinks" ;;
    check-xml)
        run_check "$name" with_files "$(select_files '\.xml$')" "$venv/bin/check-xml" ;;
    flake8)
        run_check "$name" with_files "$py" "$venv/bin/flake8" ;;
    pylint-odoo)
        run_check "$name" with_files "$py" "$venv/bin/pylint" --rcfile=.pylintrc-mandatory \
            --output-format=text ;;
    pylint-odoo-optional)
        # OCA: shown, never blocking
        # (only the checks that .pylintrc-mandatory has not already shown)
        SHOW_OK_OUTPUT=1 run_check "$name" with_files "$py" "$venv/bin/pylint" --rcfile=.pylintrc \
            --disable="$(sed -n '/^enable=/,/^$/p' .pylintrc-mandatory | sed 's/^enable=//; s/#.*//' |
                tr -d ' \n')" --output-format=text --exit-zero ;;
    oca-checks-odoo-module)
        run_check "$name" with_files "$(select_files '.')" "$venv/bin/oca-checks-odoo-module" ;;
    oca-checks-po)
        run_check "$name" with_files "$(select_files '\.pot?$')" "$venv/bin/oca-checks-po" \
            --disable=po-pretty-format ;;
    manifestoo)
        # needs the manifests of the dependencies: Odoo's own addons
        local odoo_paths
        odoo_paths=$(odoo_addons_path)
        if [ -z "$odoo_paths" ]; then
            echo "no Odoo 15.0 found (set ODOO_BIN to an odoo-bin of Odoo 15.0): the dependencies' manifests are needed"
            result[$name]="skipped: $name (no Odoo 15.0: set ODOO_BIN)"
            return
        fi
        run_check "$name" bash -c '"$0" -d "$1" --addons-path "$2" --no-addons-path-from-import-odoo check-licenses &&
            "$0" -d "$1" --addons-path "$2" --no-addons-path-from-import-odoo check-dev-status --default-dev-status=Beta' \
            "$venv/bin/manifestoo" "$work" "$odoo_paths" ;;
    i18n)
        run_check "$name" "$venv/bin/python" tools/check_i18n.py ;;
    readme)
        run_check "$name" bash tools/gen_readme.sh --check ;;
    *)
        echo "unknown check: $name (tools/lint.sh --list)"
        result[$name]="FAILED: $name (unknown)" ;;
    esac
}

# --- main ------------------------------------------------------------------

fix=0
selected=()
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--list) printf '%s\n' "${CHECKS[@]}"; exit 0 ;;
exec)
    shift
    work=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/pos_longpolling_lint.XXXXXX")" && pwd -P)
    trap 'rm -rf "$work"' EXIT
    stage "$work"
    cd "$work/pos_longpolling" || exit 1
    "$@" 2>&1 | sed "s|$work/pos_longpolling/||g"
    exit "${PIPESTATUS[0]}"
    ;;
esac
for arg in "$@"; do
    case $arg in
    --fix) fix=1 ;;
    -*) echo "unknown option $arg" >&2; usage >&2; exit 2 ;;
    *) selected+=("$arg") ;;
    esac
done
[ ${#selected[@]} -eq 0 ] && selected=("${CHECKS[@]}")

ensure_tools || { echo "FAILED: installing the linters"; exit 1; }
export PATH="$venv/bin:$PATH"

if [ "$fix" -eq 1 ]; then
    echo "applying fixes to $repo ..."
    cd "$repo" || exit 1
    files=$(all_files "$repo" | grep -Ev "$EXCLUDE")
    py=$(select_files '\.py$')
    with_files "$py" autoflake --expand-star-imports --ignore-init-module-imports --in-place \
        --remove-all-unused-imports --remove-duplicate-keys --remove-unused-variables
    with_files "$py" pyupgrade --keep-percent-format >/dev/null
    with_files "$(select_files '\.py$' '(^|/)__init__\.py$')" isort --settings=. -q
    with_files "$py" black -q
    with_files "$(select_files '\.(css|htm|html|js|json|jsx|less|md|scss|toml|ts|xml|yaml|yml)$')" \
        "$nodebin/prettier" --plugin="$xml_plugin" --write --list-different --ignore-unknown
    with_files "$(select_files '\.js$')" "$nodebin/eslint" --fix --no-color >/dev/null
    with_files "$(text_files "$GENERATED")" trailing-whitespace-fixer
    with_files "$(text_files "$GENERATED")" end-of-file-fixer
    with_files "$py" fix-encoding-pragma --remove >/dev/null
    with_files "$(text_files)" mixed-line-ending --fix=lf >/dev/null
fi

work=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/pos_longpolling_lint.XXXXXX")" && pwd -P)
trap 'rm -rf "$work"' EXIT
stage "$work"
cd "$work/pos_longpolling" || exit 1
files=$(all_files "$repo" | grep -Ev "$EXCLUDE")

for name in "${selected[@]}"; do
    check "$name"
done

printf '\n== summary\n'
failed=0
for name in "${selected[@]}"; do
    printf '%s\n' "${result[$name]}"
    case ${result[$name]} in FAILED*) failed=$((failed + 1)) ;; esac
done
if printf '%s\n' "${result[@]}" | grep -q 'would change files'; then
    echo "(the checks after the formatters saw the formatted files: their line numbers are"
    echo " those of the files after tools/lint.sh --fix)"
fi
printf 'lint: %d checks, %d failed\n' "${#selected[@]}" "$failed"
[ "$failed" -eq 0 ]
