import json

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    def test_status_icons_tour(self):
        """The POS shows one status icon per bus, and the default bus runs."""
        config = self.env.ref("point_of_sale.pos_config_main")
        config.with_user(self.env.ref("base.user_admin")).open_session_cb(
            check_coa=False
        )
        Bus = self.env["bus.bus"].sudo()
        last = Bus.search([], order="id desc", limit=1).id or 0
        self.start_tour(
            "/pos/ui?config_id=%d" % config.id,
            "pos_longpolling_status_icons",
            login="admin",
        )
        # The bus PINGs the POS's own server with the right arguments.
        channel = json.dumps(
            [self.env.cr.dbname, config._get_full_channel_name("pos.longpolling")],
            separators=(",", ":"),
        )
        pongs = Bus.search([("id", ">", last), ("channel", "=", channel)])
        self.assertTrue(pongs)

    def test_status_icon_in_german(self):
        """The icon's tooltip follows the user's language."""
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"].search(
            [("name", "=", "pos_longpolling")]
        )._update_translations(["de_DE"])
        admin = self.env.ref("base.user_admin")
        admin.lang = "de_DE"
        config = self.env.ref("point_of_sale.pos_config_main")
        config.with_user(admin).open_session_cb(check_coa=False)
        self.start_tour(
            "/pos/ui?config_id=%d" % config.id,
            "pos_longpolling_status_icon_de",
            login="admin",
        )
