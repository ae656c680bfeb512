#!/usr/bin/env bash
# Checks the packaging of pos_longpolling (pyproject.toml, tools/build_backend.py):
#   1. copies the work tree into a folder NOT named pos_longpolling (a clone
#      may be called anything) and builds the wheel from it with pip;
#   2. checks the wheel: distribution odoo-addon-pos-longpolling 15.0.x, the
#      addon at odoo/addons/pos_longpolling/ with its manifest, every data
#      file and asset of the manifest, and none of what only developers use
#      (harness/, tools/, examples/, .ci/, static/tests/node/, node_modules/,
#      package.json, pyproject.toml, dotfiles, bytecode);
#   3. `pip install --no-deps <that folder>` into a scratch venv: the
#      manifest must be at site-packages/odoo/addons/pos_longpolling/;
#   4. where Odoo 15.0 is found (ODOO_BIN, ODOO_PYTHON as for tools/test.sh),
#      that Odoo finds the installed addon in its addons path.
# Needs python3 (3.8+) with venv, and PyPI (pip fetches manifestoo-core).
# Hand-written: no published tool checks a wheel against an Odoo manifest.
# Exits 0 when every check passed, 1 otherwise.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pos_longpolling_package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
ok() { printf 'ok: %s\n' "$*"; }
ko() { printf 'FAILED: %s\n' "$*"; failed=1; }

# 1. a copy of the work tree under another name (with .git: whool packages
#    the files under git control, and versions from git history)
src=$tmp/clone-of-the-addon
mkdir "$src"
tar -C "$repo" --exclude=./node_modules --exclude=./build --exclude=./dist \
    --exclude='__pycache__' -cf - . | tar -C "$src" -xf -

"$python" -m venv "$tmp/venv" || { ko "python venv"; exit 1; }
pip=("$tmp/venv/bin/python" -m pip --disable-pip-version-check -q)
if "${pip[@]}" wheel --no-deps -w "$tmp/dist" "$src" >"$tmp/build.log" 2>&1; then
    wheel=$(ls "$tmp"/dist/*.whl)
    ok "wheel built: $(basename "$wheel")"
else
    cat "$tmp/build.log"
    ko "wheel build"
    exit 1
fi

# 2. the wheel's contents
if "$tmp/venv/bin/python" - "$wheel" <<'PY'; then ok "wheel contents"; else ko "wheel contents"; fi
import ast, fnmatch, re, sys, zipfile

wheel = sys.argv[1]
prefix = "odoo/addons/pos_longpolling/"
errors = []
names = zipfile.ZipFile(wheel).namelist()
metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
metadata = zipfile.ZipFile(wheel).read(metadata_name).decode()
dist = re.search(r"^Name: (.*)$", metadata, re.M).group(1).strip()
if re.sub(r"[-_.]+", "-", dist).lower() != "odoo-addon-pos-longpolling":
    errors.append("distribution is %r, not odoo-addon-pos-longpolling" % dist)
version = re.search(r"^Version: (.*)$", metadata, re.M).group(1).strip()
if not version.startswith("15.0."):
    errors.append("version %s is not 15.0.x" % version)
addon = sorted(n[len(prefix):] for n in names if n.startswith(prefix))
others = [n for n in names if not n.startswith(prefix) and ".dist-info/" not in n]
if others:
    errors.append("outside odoo/addons/pos_longpolling/: %s" % ", ".join(others))
if "__manifest__.py" not in addon:
    errors.append("no %s__manifest__.py" % prefix)
    manifest = {}
else:
    manifest = ast.literal_eval(zipfile.ZipFile(wheel).read(prefix + "__manifest__.py").decode())
junk = re.compile(
    r"^(harness|tools|examples|\.ci|\.github|node_modules|build|dist|static/tests/node)/"
    r"|^(package(-lock)?\.json|pyproject\.toml|PKG-INFO|checklog-odoo\.cfg)$|^\.[^/]*$"
    r"|(^|/)__pycache__/|\.py[co]$|(^|/)node_modules/"
)
for name in addon:
    if junk.search(name):
        errors.append("developer file in the wheel: " + name)
for name in manifest.get("data", []) + manifest.get("demo", []):
    if name not in addon:
        errors.append("data file of the manifest not in the wheel: " + name)
for bundle, globs in manifest.get("assets", {}).items():
    for glob in globs:
        glob = glob[1] if isinstance(glob, (list, tuple)) else glob
        if not glob.startswith("pos_longpolling/"):
            continue
        pattern = glob[len("pos_longpolling/"):].replace("**/", "*")
        if not fnmatch.filter(addon, pattern):
            errors.append("asset %s of %s matches no file of the wheel" % (glob, bundle))
for wanted in ("__init__.py", "README.rst", "static/description/icon.png"):
    if wanted not in addon:
        print("note: %s is not in the wheel (not under git control yet?)" % wanted)
print("%d files of the addon in the wheel: %s" % (len(addon), ", ".join(
    sorted({n.split("/")[0] for n in addon}))))
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY

# 3. pip install <the clone> into a scratch venv
"$python" -m venv "$tmp/target" || { ko "python venv"; exit 1; }
if "$tmp/target/bin/python" -m pip --disable-pip-version-check -q install --no-deps "$src" \
    >"$tmp/install.log" 2>&1; then
    site=$("$tmp/target/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    installed=$("$tmp/target/bin/python" -m pip --disable-pip-version-check show \
        odoo-addon-pos-longpolling 2>/dev/null | sed -n 's/^Version: //p')
    if [ -f "$site/odoo/addons/pos_longpolling/__manifest__.py" ] && [ -n "$installed" ]; then
        ok "pip install: odoo-addon-pos-longpolling $installed, manifest at site-packages/odoo/addons/pos_longpolling/"
    else
        ko "pip install: no odoo-addon-pos-longpolling with site-packages/odoo/addons/pos_longpolling/__manifest__.py"
    fi
else
    cat "$tmp/install.log"
    ko "pip install of the repository"
fi

# 4. Odoo finds it
if [ -n "${ODOO_BIN:-}" ] && [ -n "${site:-}" ]; then
    odoo_dir=$(cd "$(dirname "$ODOO_BIN")" && pwd)
    if found=$(cd "$tmp" && PYTHONPATH="$odoo_dir:$site" "${ODOO_PYTHON:-python3}" -c '
import sys
import odoo
from odoo.modules import module
from odoo.tools import config
config.parse_config(["--addons-path=" + sys.argv[1]])
module.initialize_sys_path()
print(module.get_module_path("pos_longpolling", display_warning=False) or "")
' "$odoo_dir/addons" 2>"$tmp/odoo.log") && [ "$found" = "$site/odoo/addons/pos_longpolling" ]; then
        ok "Odoo finds the installed addon (odoo.addons namespace)"
    else
        cat "$tmp/odoo.log"
        ko "Odoo does not find the installed addon (got: ${found:-nothing})"
    fi
else
    echo "skipped: Odoo finding the addon (set ODOO_BIN, ODOO_PYTHON to check it)"
fi

if [ "$failed" -eq 0 ]; then
    echo "package check: ok"
else
    echo "package check: FAILED"
fi
exit "$failed"
