#!/usr/bin/env bash
# in_addon_folder.sh CMD ARGS...: CMD in a copy of the files under git control
# in a folder named pos_longpolling. pylint-odoo and oca-checks-odoo-module
# name an addon after its folder, and no option of theirs names it otherwise;
# a clone may be called anything. Paths in the output are the repository's.
set -uo pipefail
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pos_longpolling_lint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/pos_longpolling"
git ls-files -z | tar --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$tmp/pos_longpolling" -xf -
cd "$tmp/pos_longpolling" || exit 1
"$@" 2>&1 | sed "s|$tmp/pos_longpolling/||g"
exit "${PIPESTATUS[0]}"
