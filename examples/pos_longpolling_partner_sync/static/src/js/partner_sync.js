odoo.define("pos_longpolling_partner_sync.partner_sync", function (require) {
    "use strict";
    /**
     * Reloads the partners a message names, by id: Odoo's load_new_partners()
     * goes by write_date, rejects when nothing is newer (a replayed or
     * repeated message) and skips a partner changed within a second or two
     * of the newest one the POS holds.
     */
    const models = require("point_of_sale.models");
    const PosModelSuper = models.PosModel.prototype;

    models.PosModel = models.PosModel.extend({
        initialize() {
            PosModelSuper.initialize.apply(this, arguments);
            this.partner_sync_done = Promise.resolve();
            // Subscribed before the bus starts: the first poll gets the
            // messages of the last 50 s (the replay).
            this.bus.add_channel_callback(
                "pos_partner_sync",
                this.on_partner_sync,
                this
            );
            // Messages were missed: reload what changed since the newest.
            this.bus.add_gap_callback(() =>
                this.reload_partners(this.prepare_new_partners_domain())
            );
        },

        on_partner_sync(data) {
            if (data && data.message === "update_partner_fields") {
                const ids = (data.partner_ids || []).filter(Number.isInteger);
                return this.reload_partners([["id", "in", ids]]);
            }
        },

        /**
         * Reads the partners of `domain` and replaces the POS's copies, one
         * reload after the other so that an older answer never wins. A
         * failure rejects (the addon shows it) and the next reload still runs.
         */
        reload_partners(domain) {
            const reload = this.partner_sync_done.then(async () => {
                const {fields} = this.models.find(
                    ({label}) => label === "load_partners"
                );
                const partners = await this.rpc({
                    model: "res.partner",
                    method: "search_read",
                    args: [domain, fields],
                });
                // Without the newest write_date, add_partners skips none.
                const newest = this.db.partner_write_date;
                this.db.partner_write_date = null;
                this.db.add_partners(partners);
                if (newest > (this.db.partner_write_date || "")) {
                    this.db.partner_write_date = newest;
                }
            });
            this.partner_sync_done = reload.catch(() => undefined);
            return reload;
        },
    });
});
