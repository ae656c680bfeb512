"""Which databases have this addon: patches act only for those they can tell."""
from odoo.modules.registry import Registry

ADDON = __name__.split(".")[2]


def installed_in(dbname):
    """Whether this addon is loaded in the registry of ``dbname``."""
    registry = Registry.registries.get(dbname)
    return registry is not None and ADDON in registry._init_modules
