"""PEP 517 backend: the wheel odoo-addon-pos_longpolling, as OCA's whool makes it.

whool (1.3.1, its latest release) names the addon after the folder holding
``__manifest__.py``; here that folder is the clone, of any name. This backend
does what whool does, with the name fixed: metadata (version from the manifest
and git, dependencies) from manifestoo-core's public ``metadata_from_addon_dir``,
the files under git control in ``odoo/addons/pos_longpolling/``, less what only
developers use.
"""
import base64
import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from email.generator import Generator
from pathlib import Path

from manifestoo_core.metadata import (
    addon_name_to_distribution_name,
    metadata_from_addon_dir,
)
from manifestoo_core.odoo_series import OdooSeries

ADDON = "pos_longpolling"
# never installed: benchmark harness, commands, CI, Node tests, example
# modules (addons of their own), dotfiles
DEV_ONLY = ("harness/", "tools/", ".ci/", "static/tests/node/", "build/", "dist/")
DEV_ONLY += ("examples/",)
DEV_FILES = ("package.json", "package-lock.json", "pyproject.toml", "PKG-INFO")
DEV_FILES += ("checklog-odoo.cfg",)  # the Odoo tests' log check


def _metadata():
    root = Path.cwd()
    msg = metadata_from_addon_dir(root, precomputed_metadata_file=root / "PKG-INFO")
    msg.replace_header("Name", addon_name_to_distribution_name(ADDON, OdooSeries.v15_0))
    return msg


def _text(msg):
    out = io.StringIO()
    Generator(out, mangle_from_=False, maxheaderlen=0).flatten(msg)
    return out.getvalue()


def _git_files():
    try:
        out = subprocess.check_output(
            ["git", "ls-files", "-z"], text=True, stderr=subprocess.DEVNULL
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted(f for f in out.split("\0") if f and os.path.isfile(f))


def _files():
    """The files under git control, as whool; else (an sdist) all of them."""
    files = None if Path("PKG-INFO").exists() else _git_files()
    if files is not None:
        return files
    found = []
    for root, dirs, files in os.walk("."):  # never into symlinked folders
        dirs[:] = [
            d for d in dirs if d not in (".git", "node_modules", "build", "dist")
        ]
        found += [os.path.relpath(os.path.join(root, f)) for f in files]
    return sorted(f for f in found if not os.path.islink(f))


def _installed(path):
    return not (
        path.startswith(DEV_ONLY)
        or path in DEV_FILES
        or path.startswith(".")
        or "__pycache__" in path
    )


def _base(msg):
    return "{}-{}".format(msg["Name"].replace("-", "_"), msg["Version"])


def _write_wheel(wheel_directory, msg, entries):
    """entries: (name in the wheel, bytes); adds the dist-info and RECORD."""
    info = _base(msg) + ".dist-info"
    entries = entries + [
        (info + "/METADATA", _text(msg).encode()),
        (
            info + "/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: pos_longpolling\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (info + "/top_level.txt", b"odoo\n"),
    ]
    record = ""
    for name, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record += "{},sha256={},{}\n".format(name, digest.decode(), len(data))
    record += info + "/RECORD,,\n"
    wheel = _base(msg) + "-py3-none-any.whl"
    with zipfile.ZipFile(
        os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED
    ) as zf:
        for name, data in entries + [(info + "/RECORD", record.encode())]:
            zf.writestr(name, data)
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    prefix = "odoo/addons/%s/" % ADDON
    files = [f for f in _files() if _installed(f)]
    return _write_wheel(
        wheel_directory,
        _metadata(),
        [(prefix + f, Path(f).read_bytes()) for f in files],
    )


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # as whool: build/__editable__/odoo/addons/pos_longpolling -> the clone
    # (build/ is git-ignored; no check walks it)
    link = Path("build", "__editable__", "odoo", "addons", ADDON).absolute()
    link.parent.mkdir(parents=True, exist_ok=True)
    Path("build", ".gitignore").write_text("*\n")
    if not link.is_symlink():
        link.symlink_to(Path.cwd(), target_is_directory=True)
    pth = ("%s.pth" % ADDON, (str(link.parent.parent.parent) + "\n").encode())
    return _write_wheel(wheel_directory, _metadata(), [pth])


def build_sdist(sdist_directory, config_settings=None):
    msg = _metadata()
    base = _base(msg)
    files = [f for f in _files() if _installed(f)] + [
        "pyproject.toml",
        "tools/build_backend.py",
    ]
    with tarfile.open(
        os.path.join(sdist_directory, base + ".tar.gz"),
        "w:gz",
        format=tarfile.PAX_FORMAT,
    ) as tf:
        for f in files:
            tf.add(f, arcname=base + "/" + f, recursive=False)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _text(msg).encode()
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return base + ".tar.gz"
