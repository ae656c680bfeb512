import json
from urllib.parse import urlencode

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestPartnerSync(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.env.ref("point_of_sale.pos_config_main")
        cls.config.with_user(cls.env.ref("base.user_admin")).open_session_cb(
            check_coa=False
        )
        cls.partners = cls.env["res.partner"].create(
            [{"name": "Sync %s" % letter} for letter in "ABC"]
        )

    def sync_rows_since(self, last_id):
        """The bus rows of the POS's pos_partner_sync channel, as polled."""
        channel = json.dumps(
            [
                self.env.cr.dbname,
                self.config._get_full_channel_name("pos_partner_sync"),
            ],
            separators=(",", ":"),
        )
        rows = (
            self.env["bus.bus"]
            .sudo()
            .search([("id", ">", last_id), ("channel", "=", channel)], order="id")
        )
        return [{"id": row.id, "message": json.loads(row.message)} for row in rows]

    def test_a_write_names_the_partners(self):
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        self.partners[:2].write({"city": "Bruges"})
        self.assertEqual(
            [row["message"] for row in self.sync_rows_since(last)],
            [
                {
                    "type": "pos_partner_sync",
                    "payload": {
                        "message": "update_partner_fields",
                        "partner_ids": self.partners[:2].ids,
                    },
                }
            ],
        )

    def test_partner_sync_tour(self):
        """Replayed, repeated, quick and missed edits: every name, no popup."""
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        # Edited before the POS opens: the first poll replays it.
        self.partners[0].name = "Replayed A"
        replay = self.sync_rows_since(last)
        self.assertEqual(len(replay), 1)
        # Test mode refuses /longpolling/poll: the tour hands the rows to the
        # bus as a poll's answer would.
        query = urlencode(
            {
                "config_id": self.config.id,
                "partner_sync_replay": json.dumps(replay, separators=(",", ":")),
                "partner_sync_ids": json.dumps(
                    self.partners.ids, separators=(",", ":")
                ),
            }
        )
        self.start_tour(
            "/pos/ui?" + query, "pos_longpolling_partner_sync", login="admin"
        )
        self.partners.invalidate_cache()
        self.assertEqual(
            self.partners.mapped("name"), ["Quick A2", "Quick B1", "Missed C"]
        )
