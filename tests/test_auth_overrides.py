from unittest.mock import patch

from odoo import http
from odoo.tests import HttpCase, tagged

from ..patches.batching import Job
from ..patches.bus_dispatch import PosDispatch
from ..patches.pos_poll import (
    ODOOS_PATH,
    Authorizer,
    read_poll,
    stock_authentication,
    stock_session_check,
)
from .common import poll_environ


class Session(http.OpenERPSession):
    """A server-wide module's session class, with its own check."""

    def check_security(self):
        return super().check_security()


@tagged("post_install", "-at_install")
class TestAuthenticationOverrides(HttpCase):
    """Where a module of the database overrides how Odoo authenticates a
    request (ir.http's _authenticate, _auth_method_public, _auth_method_user)
    or the session class its check_security, POS polls take Odoo's path,
    which runs the override."""

    def setUp(self):
        super().setUp()
        self.dbname = self.env.cr.dbname
        self.pos = self.env.ref("point_of_sale.pos_config_main")
        self.channels = [self.pos._get_full_channel_name("x")]
        self.IrHttp = type(self.env["ir.http"])

    def extended(self, hook, module=__name__):
        def override(cls, *args):
            return getattr(super(Extended, cls), hook)(*args)

        Extended = type(
            "Extended",
            (self.IrHttp,),
            {hook: classmethod(override), "__module__": module},
        )
        return Extended

    def poll(self):
        sid = self.authenticate("admin", "admin").sid
        environ = poll_environ(sid, {"channels": self.channels, "last": 0})
        return read_poll(environ, http.root.session_store)

    def check(self, poll):
        job = Job((poll, PosDispatch.pos_channels(self.dbname, poll.channels)))
        Authorizer.check_and_read(self.env.cr, [job])
        return job.result

    def test_stock_authentication(self):
        self.assertTrue(stock_authentication(self.IrHttp))
        for hook in ("_authenticate", "_auth_method_public", "_auth_method_user"):
            with self.subTest(hook):
                self.assertFalse(stock_authentication(self.extended(hook)))
        # Website's: it sets the public user only where the session has none.
        website = self.extended(
            "_auth_method_public", "odoo.addons.website.models.ir_http"
        )
        self.assertTrue(stock_authentication(website))
        self.assertFalse(
            stock_authentication(
                self.extended("_authenticate", "odoo.addons.website.models.ir_http")
            )
        )

    def test_a_database_that_overrides_authenticate_takes_odoos_path(self):
        poll = self.poll()
        self.assertEqual(self.check(poll)[0], 0)
        with patch.dict(
            self.registry.models, {"ir.http": self.extended("_authenticate")}
        ):
            self.assertIs(self.check(poll), ODOOS_PATH)
        self.assertEqual(self.check(poll)[0], 0)

    def test_a_session_class_that_overrides_check_security_takes_odoos_path(self):
        store = http.root.session_store
        self.assertTrue(stock_session_check(store.new()))
        self.assertFalse(stock_session_check(Session({}, "x", False)))
        self.assertIsNotNone(self.poll())
        with patch.object(store, "session_class", Session):
            self.assertIsNone(self.poll())
