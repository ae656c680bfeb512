#!/usr/bin/env bash
# Regenerates README.rst and static/description/index.html of pos_longpolling
# from the fragments in readme/ and the manifest, in the layout of OCA's
# oca-gen-addon-readme (same fragments, same sections, a source digest, HTML
# by docutils), with badges and links that fit a repository of its own:
# maturity and licence from the manifest, and the repository, its issues and
# the maintainers' avatars only when the manifest names a website.
#
# OCA's tool (maintainer-tools) is not published on PyPI, and it assumes an
# OCA repository with addons in subfolders; this script does the same job
# with docutils, pinned, from PyPI.
#
#   tools/gen_readme.sh                   write README.rst and index.html
#   tools/gen_readme.sh --check           exit 1 if they are not up to date
#   tools/gen_readme.sh --output-dir DIR  write DIR/README.rst and
#                                         DIR/static/description/index.html
#   options: --branch 15.0 (default: the manifest's series),
#            --repo-url URL (default: the manifest's website)
# Edit readme/*.rst, never README.rst: it is overwritten.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pos_longpolling
requirements="docutils==0.17.1"
venv=$cache/gen_readme-$(printf '%s' "$requirements" | sha256sum | cut -c1-12)

if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    mkdir -p "$cache"
    "${PYTHON:-python3}" -m venv "$venv" >&2
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --disable-pip-version-check -q $requirements >&2
    touch "$venv/.complete"
fi

exec "$venv/bin/python" - "$repo" "$@" <<'PY'
import argparse
import ast
import hashlib
import os
import re
import sys
import tempfile
from urllib.parse import quote

from docutils.core import publish_string
from docutils.utils import SystemMessage

repo = sys.argv[1]
parser = argparse.ArgumentParser(prog="tools/gen_readme.sh")
parser.add_argument("--check", action="store_true")
parser.add_argument("--output-dir")
parser.add_argument("--branch")
parser.add_argument("--repo-url")
args = parser.parse_args(sys.argv[2:])

ADDON = "pos_longpolling"
# fragment, section title, underline (as OCA's tool)
FRAGMENTS = [
    ("CONTEXT", "Use Cases / Context", "="),
    ("INSTALL", "Installation", "="),
    ("CONFIGURE", "Configuration", "="),
    ("USAGE", "Usage", "="),
    ("DEVELOP", "Development", "="),
    ("ROADMAP", "Known issues / Roadmap", "="),
    ("HISTORY", "Changelog", "="),
]
MATURITY = {
    "alpha": ("Alpha", "red"),
    "beta": ("Beta", "yellow"),
    "production/stable": ("Production%2FStable", "green"),
    "mature": ("Mature", "brightgreen"),
}
LICENSES = {
    "AGPL-3": "https://www.gnu.org/licenses/agpl-3.0-standalone.html",
    "LGPL-3": "https://www.gnu.org/licenses/lgpl-3.0-standalone.html",
    "GPL-3": "https://www.gnu.org/licenses/gpl-3.0-standalone.html",
    "OPL-1": "https://www.odoo.com/documentation/15.0/legal/licenses.html",
    "OEEL-1": "https://www.odoo.com/documentation/15.0/legal/licenses.html",
}


def read(*parts):
    with open(os.path.join(repo, *parts), encoding="utf-8") as f:
        return f.read()


manifest_text = read("__manifest__.py")
manifest = ast.literal_eval(manifest_text)
fragments = {}
names = sorted(os.listdir(os.path.join(repo, "readme")))
for name in names:
    if name.endswith(".rst"):
        fragments[name[:-4]] = read("readme", name).strip("\n")

digest = hashlib.sha256()
digest.update(manifest_text.encode("utf-8"))
for name in sorted(fragments):
    digest.update(name.encode("utf-8") + b"\0" + fragments[name].encode("utf-8") + b"\0")
source_digest = "sha256:" + digest.hexdigest()

version = manifest.get("version", "")
branch = args.branch or ".".join(version.split(".")[:2]) or "15.0"
repo_url = (args.repo_url or manifest.get("website") or "").rstrip("/")
on_forge = repo_url.startswith(("https://github.com/", "https://gitlab.com/"))
title = manifest["name"]


def section(text, title, underline):
    return "%s\n%s\n\n%s\n\n" % (title, underline * len(title), text)


badges = []
status = (manifest.get("development_status") or "").lower()
if status in MATURITY:
    label, color = MATURITY[status]
    badges.append((
        "https://img.shields.io/badge/maturity-%s-%s.png" % (label, color),
        "https://odoo-community.org/page/development-status",
        manifest["development_status"],
    ))
license_ = manifest.get("license")
if license_:
    badges.append((
        "https://img.shields.io/badge/licence-%s-blue.png"
        % quote(license_.replace("-", "--").replace(" ", "_")),
        LICENSES.get(license_, ""),
        "License: " + license_,
    ))
if repo_url:
    path = repo_url.split("://", 1)[-1].split("/", 1)[-1]
    logo = "github" if "github.com" in repo_url else "gitlab" if "gitlab.com" in repo_url else ""
    badges.append((
        "https://img.shields.io/badge/%s-%s-lightgray.png%s" % (
            logo or "source",
            quote(path.replace("-", "--").replace("_", "__"), safe=""),
            "?logo=" + logo if logo else "",
        ),
        repo_url + ("/tree/" + branch if on_forge else ""),
        path,
    ))

out = []
bar = "!" * 52
out.append("=" * len(title) + "\n" + title + "\n" + "=" * len(title) + "\n\n")
out.append(
    "..\n"
    "   %s\n"
    "   !! This file is generated by tools/gen_readme.sh !!\n"
    "   !! from readme/*.rst: changes here are lost.     !!\n"
    "   %s\n"
    "   !! source digest: %s\n"
    "   %s\n\n" % (bar, bar, source_digest, bar)
)
for i, (image, target, alt) in enumerate(badges, 1):
    out.append(".. |badge%d| image:: %s\n" % (i, image))
    if target:
        out.append("    :target: %s\n" % target)
    out.append("    :alt: %s\n" % alt)
if badges:
    out.append("\n" + " ".join("|badge%d|" % i for i in range(1, len(badges) + 1)) + "\n\n")
if fragments.get("DESCRIPTION"):
    out.append(fragments["DESCRIPTION"] + "\n\n")
if status == "alpha":
    out.append(
        ".. IMPORTANT::\n"
        "   This is an alpha version, the data model and design can change at any\n"
        "   time without warning. Only for development or testing purpose, do not\n"
        "   use in production.\n\n"
    )
out.append("**Table of contents**\n\n.. contents::\n   :local:\n\n")
for name, section_title, underline in FRAGMENTS:
    if fragments.get(name):
        out.append(section(fragments[name], section_title, underline))

bugs = "Bug Tracker\n===========\n\n"
if on_forge:
    body = "module:%20{}%0Aversion:%20{}%0A%0A**Steps%20to%20reproduce**%0A-%20...%0A%0A**Current%20behavior**%0A%0A**Expected%20behavior**".format(ADDON, branch)
    bugs += (
        "Bugs are tracked on `the repository's issues <{0}/issues>`_. In case of\n"
        "trouble, please check there if your issue has already been reported; if\n"
        "not, please `report it <{0}/issues/new?body={1}>`_ with the steps to\n"
        "reproduce it.\n\n".format(repo_url, body)
    )
else:
    bugs += (
        "Please report bugs to the maintainers of the repository you got this\n"
        "addon from%s, with the steps to reproduce them, what happened and what\n"
        "you expected.\n\n" % (" (%s)" % repo_url if repo_url else "")
    )
out.append(bugs)

out.append("Credits\n=======\n\n")
authors = [a.strip() for a in manifest.get("author", "").split(",") if a.strip()]
if authors:
    out.append("Authors\n~~~~~~~\n\n" + "".join("* %s\n" % a for a in authors) + "\n")
if fragments.get("CONTRIBUTORS"):
    out.append(section(fragments["CONTRIBUTORS"], "Contributors", "~"))
if fragments.get("CREDITS"):
    out.append(section(fragments["CREDITS"], "Other credits", "~"))
out.append("Maintainers\n~~~~~~~~~~~\n\n")
maintainers = manifest.get("maintainers") or []
if maintainers and "github.com" in repo_url:
    for login in maintainers:
        out.append(
            ".. |maintainer-{0}| image:: https://github.com/{0}.png?size=40px\n"
            "    :target: https://github.com/{0}\n"
            "    :alt: {0}\n".format(login)
        )
    out.append(
        "\nCurrent maintainer%s:\n\n%s\n\n" % (
            "s" if len(maintainers) > 1 else "",
            " ".join("|maintainer-%s|" % m for m in maintainers),
        )
    )
elif maintainers:
    out.append("Current maintainer%s: %s.\n\n" % (
        "s" if len(maintainers) > 1 else "", ", ".join(maintainers)))
if repo_url:
    out.append(
        "This module is part of the `%s <%s>`_ project.\n\n"
        % (repo_url.split("://", 1)[-1], repo_url + ("/tree/" + branch if on_forge else ""))
    )
out.append("You are welcome to contribute.\n")
readme = "".join(out)
# Fragments name images from readme/ (../static/description/x.png, as OCA's
# do): README.rst is beside static/, index.html inside static/description/
# (where Odoo also looks for relative images).
IMAGE = re.compile(r"^(\s*(?:\.\. (?:image|figure)::|:target:)\s+)\.\./static/description/", re.M)
html_source = IMAGE.sub(r"\1", readme)
readme = IMAGE.sub(r"\1static/description/", readme)

try:
    html = publish_string(
        html_source,
    writer_name="html4css1",
        settings_overrides={
            "embed_stylesheet": True,
            "halt_level": 2,
            "report_level": 5,
            "output_encoding": "unicode",
            "xml_declaration": False,
            "_disable_config": True,
        },
    )
except SystemMessage as error:
    # line numbers are those of the generated README.rst
    sys.exit("tools/gen_readme.sh: reStructuredText problem in readme/: %s" % error)
html = html.rstrip("\n") + "\n"

targets = {
    "README.rst": readme,
    os.path.join("static", "description", "index.html"): html,
}
if args.check:
    stale = []
    base = args.output_dir or repo
    for rel, text in targets.items():
        try:
            with open(os.path.join(base, rel), encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            stale.append(rel)
    if stale:
        print("not up to date with readme/ and the manifest: %s (run tools/gen_readme.sh)"
              % ", ".join(stale))
        sys.exit(1)
    print("README.rst and static/description/index.html are up to date")
    sys.exit(0)
base = args.output_dir or repo
for rel, text in targets.items():
    path = os.path.join(base, rel)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    print("wrote " + os.path.relpath(path, base))
PY
