# pylint: disable=print-used
"""Checks that need nothing but Python: every .py compiles, every .xml
parses, the manifest is a literal whose data and asset files exist."""
import ast
import glob
import os
import sys
from xml.etree import ElementTree

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
errors = []
files = [f for f in glob.glob("**/*", recursive=True) if "node_modules" not in f]

for path in [f for f in files if f.endswith(".py")]:
    try:
        compile(open(path, encoding="utf-8").read(), path, "exec")
    except SyntaxError as error:
        errors.append("%s: %s" % (path, error))

for path in [f for f in files if f.endswith(".xml")]:
    try:
        ElementTree.parse(path)
    except ElementTree.ParseError as error:
        errors.append("%s: %s" % (path, error))

manifest = ast.literal_eval(open("__manifest__.py", encoding="utf-8").read())
for key in ("name", "version", "license", "depends", "author"):
    if key not in manifest:
        errors.append("__manifest__.py: no %r" % key)
if not manifest.get("version", "").startswith("15.0."):
    errors.append("__manifest__.py: version must be 15.0.x.y.z")
listed = list(manifest.get("data", []))
for bundle in manifest.get("assets", {}).values():
    listed += [p.split("/", 1)[1] for p in bundle if p.startswith("pos_longpolling/")]
for pattern in listed:
    if not glob.glob(pattern, recursive=True):
        errors.append("__manifest__.py: %s matches no file" % pattern)

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(
    "%d Python files, %d XML files, %d manifest entries"
    % (
        sum(f.endswith(".py") for f in files),
        sum(f.endswith(".xml") for f in files),
        len(listed),
    )
)
