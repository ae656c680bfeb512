"""PEP 517 build backend of pos_longpolling: whool, told the addon's name.

whool (the OCA build backend for one Odoo addon) names the addon after the
folder that holds ``__manifest__.py``. This addon is the root of its
repository, and a clone may be in a folder of any name, so this backend
hands whool a symlink named ``pos_longpolling`` to the repository instead of
the folder itself. It also:

* names the distribution ``odoo15-addon-pos_longpolling`` (normalized:
  ``odoo15-addon-pos-longpolling``) as this project asked; whool alone would
  call it ``odoo-addon-pos_longpolling`` for Odoo 15.0;
* leaves out of the wheel what only developers use: the benchmark harness,
  the commands and lint configuration (``tools/``, ``setup/``, ``.ci/``,
  dotfiles), the Node tests (``static/tests/node/``, ``package.json``) and
  ``node_modules``. Odoo's own tests (``tests/``) and the tour
  (``static/tests/tours/``, an asset of the manifest) stay, as in OCA's
  wheels.

Files are taken as whool takes them: those under git control (``git
ls-files``), or every file when there is no git (e.g. building from the
sdist). Relies on whool internals, hence the exact pin in pyproject.toml.
"""
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from whool import buildapi as _whool

ADDON_NAME = "pos_longpolling"
DIST_NAME = "odoo15-addon-" + ADDON_NAME

# Never in the wheel nor in the sdist (paths relative to the repository).
EXCLUDED_DIRS = (
    ".ci/",
    ".git/",
    ".github/",
    "build/",
    "dist/",
    "harness/",
    "node_modules/",
    "static/tests/node/",
    "tools/",
)
EXCLUDED_FILES = ("package.json", "package-lock.json")
# Needed to build the wheel from the sdist, but not in the wheel.
SDIST_ONLY_DIRS = ("setup/",)
SDIST_ONLY_FILES = ("pyproject.toml",)
# Directories never walked when there is no git.
SKIPPED_WALK_DIRS = {".git", "node_modules", "build", "dist", "__pycache__"}

_building_sdist = False


def _included(rel_path):
    rel_path = rel_path.replace(os.sep, "/")
    parts = rel_path.split("/")
    if "__pycache__" in parts or rel_path.endswith((".pyc", ".pyo")):
        return False
    if any(rel_path.startswith(d) for d in EXCLUDED_DIRS):
        return False
    if rel_path in EXCLUDED_FILES:
        return False
    if any(rel_path.startswith(d) for d in SDIST_ONLY_DIRS) or (
        rel_path in SDIST_ONLY_FILES
    ):
        return _building_sdist
    # Dotfiles at the root: editor, git and lint configuration.
    if len(parts) == 1 and rel_path.startswith("."):
        return False
    return True


def _walk(addon_dir):
    for root, dirs, files in os.walk(addon_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_WALK_DIRS)
        for name in sorted(files):
            yield os.path.relpath(os.path.join(root, name), addon_dir)


def _files(addon_dir):
    if (addon_dir / "PKG-INFO").exists():
        # an unpacked sdist: it holds what it should
        return list(_walk(addon_dir))
    try:
        out = subprocess.check_output(
            ["git", "ls-files", "-z"], cwd=addon_dir, stderr=subprocess.DEVNULL
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        return list(_walk(addon_dir))
    files = [f for f in out.decode("utf-8").split("\0") if f]
    if _building_sdist:
        # what builds the wheel from the sdist, even before it is committed
        files += list(SDIST_ONLY_FILES) + [
            os.path.join("setup", f) for f in os.listdir(addon_dir / "setup")
        ]
    return sorted(set(files))


def _copy_to(addon_dir, dst):
    """whool's _copy_to, with the exclusions above."""
    addon_dir = Path(addon_dir)
    dst.mkdir(parents=True, exist_ok=True)
    for rel_path in _files(addon_dir):
        src = addon_dir / rel_path
        if not _included(rel_path) or not src.is_file():
            continue
        target = dst / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


_whool_get_metadata = _whool._get_metadata


def _get_metadata(addon_dir):
    metadata = _whool_get_metadata(addon_dir)
    metadata.replace_header("Name", DIST_NAME)
    return metadata


_whool._copy_to = _copy_to
_whool._get_metadata = _get_metadata


@contextmanager
def _addon_dir(persistent=False):
    """A path to the addon whose last part is ``pos_longpolling``."""
    source = Path.cwd()
    if source.name == ADDON_NAME or (source / "PKG-INFO").exists():
        yield source
        return
    if persistent:
        # editable installs keep pointing at it: inside the clone's build/
        link_dir = source / "build" / "addon_name"
        link_dir.mkdir(parents=True, exist_ok=True)
        (source / "build" / ".gitignore").write_text("*\n")
        link = link_dir / ADDON_NAME
        if not link.is_symlink():
            link.symlink_to(Path("..", ".."), target_is_directory=True)
        yield link
        return
    tmp = tempfile.mkdtemp(prefix="pos_longpolling_build_")
    try:
        link = Path(tmp, ADDON_NAME)
        link.symlink_to(source, target_is_directory=True)
        yield link
    finally:
        shutil.rmtree(tmp)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with _addon_dir() as addon_dir:
        return _whool._build_wheel(addon_dir, Path(wheel_directory), editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    with _addon_dir(persistent=True) as addon_dir:
        return _whool._build_wheel(addon_dir, Path(wheel_directory), editable=True)


def build_sdist(sdist_directory, config_settings=None):
    global _building_sdist
    _building_sdist = True
    try:
        with _addon_dir() as addon_dir:
            return _whool._build_sdist(addon_dir, Path(sdist_directory))
    finally:
        _building_sdist = False


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with _addon_dir() as addon_dir:
        metadata = _get_metadata(addon_dir)
    return _whool._make_dist_info(metadata, Path(metadata_directory))


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel
