"""A JSON-RPC body that is not an object gets 400 Bad Request, not a traceback.

Odoo 15 (``JsonRequest.__init__``) answers a body that is not JSON with
"400 Bad Request" and one log line, but a JSON body that is not an object,
or whose ``params`` is not an object, fails with ``AttributeError`` or
``ValueError``: "500 Internal Server Error" and a traceback in the log, for
every such request; so does JSON nested too deeply for the parser
(``RecursionError``). Here those get the same answer as invalid JSON and one
warning line, for the requests of databases with this addon (the session's
database; parsing comes before any route).
"""
import functools
import logging

import werkzeug

from odoo import http

from .installed import installed_in

_logger = logging.getLogger(__name__)


def install(request_class=http.JsonRequest):
    init = request_class.__init__
    if getattr(init, "checks_objects", False):
        return

    @functools.wraps(init)
    def checked_init(self, *args):
        try:
            init(self, *args)
        except RecursionError:
            # JSON nested deeper than the parser's stack: Odoo answers 500.
            if not installed_in(self.session.db):
                raise
            message = "Invalid JSON data: nested too deeply"
            _logger.warning("%s: %s", self.httprequest.path, message)
            raise werkzeug.exceptions.BadRequest(message) from None
        except (AttributeError, TypeError, ValueError):
            body = getattr(self, "jsonrequest", None)
            if not installed_in(self.session.db) or (
                isinstance(body, dict) and isinstance(body.get("params", {}), dict)
            ):
                raise
            message = (
                "Invalid JSON-RPC request: the body and its params must be objects"
            )
            _logger.warning("%s: %s", self.httprequest.path, message)
            raise werkzeug.exceptions.BadRequest(message) from None

    checked_init.checks_objects = True
    request_class.__init__ = checked_init
