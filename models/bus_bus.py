import json

from odoo import api, models

from odoo.addons.bus.models.bus import channel_with_db, json_dump


class BusBus(models.Model):
    _inherit = "bus.bus"

    @api.model
    def _poll_batch(self, polls):
        """``[self._poll(channels, last) for channels, last in polls]``, with
        one search for all polls with ``last > 0`` (a module that overrides
        ``_poll`` overrides this too). Each notification comes once per
        poll, whatever the poll names twice."""
        results = [
            self._poll(channels, 0) if not last else None for channels, last in polls
        ]
        later = [index for index, (_channels, last) in enumerate(polls) if last]
        if not later:
            return results
        dbname = self.env.cr.dbname
        keys = {
            index: {json_dump(channel_with_db(dbname, c)) for c in polls[index][0]}
            for index in later
        }
        rows = self.sudo().search_read(
            [
                ("id", ">", min(polls[index][1] for index in later)),
                ("channel", "in", list(set().union(*keys.values()))),
            ],
            ["channel", "message"],
        )
        messages = {}
        for index in later:
            last = polls[index][1]
            results[index] = [
                {"id": row["id"], "message": self._json_message(row, messages)}
                for row in rows
                if row["id"] > last and row["channel"] in keys[index]
            ]
        return results

    @staticmethod
    def _json_message(row, messages):
        # Parsed once, however many polls get it.
        if row["id"] not in messages:
            messages[row["id"]] = json.loads(row["message"])
        return messages[row["id"]]

    def unlink(self):
        self.env["pos.config"]._longpolling_note_deleted(self.ids)
        return super().unlink()
