odoo.define("pos_longpolling.PosAnnouncement", function (require) {
    "use strict";
    /**
     * Messages of a POS manager to the cashiers (the backend's "Send a
     * message to POS screens", wizard/pos_announcement_wizard.py), and a
     * complete example of a module built on this addon's API: one channel,
     * subscribed to once the POS has loaded, whose messages the model queues
     * and the Chrome (AnnouncementChrome.js) shows.
     */
    const models = require("point_of_sale.models");
    const rpc = require("web.rpc");
    const session = require("web.session");

    const ANNOUNCEMENT_CHANNEL = "pos_longpolling.announcement";
    // Ids of the last announcements shown in this browser: enough to tell a
    // repeat.
    const SEEN_MAX = 100;

    const PosModelSuper = models.PosModel.prototype;
    models.PosModel = models.PosModel.extend({
        initialize() {
            PosModelSuper.initialize.apply(this, arguments);
            // Waiting for acknowledgement (popups) and not (notifications).
            this.announcement_popups = [];
            this.announcement_notes = [];
            // Receipts reported, one after the other; "<id>:<acknowledged>".
            this.announcement_reports = Promise.resolve();
            this._announcement_reported = new Set();
            this.ready.then(() => {
                this.bus.add_channel_callback(
                    ANNOUNCEMENT_CHANNEL,
                    this.on_pos_announcement,
                    this
                );
            });
        },

        /**
         * The channel's callback: `data` is the wizard's payload
         * {id, announcement_id, title, body, needs_ack}.
         */
        on_pos_announcement(data) {
            const announcement = this._parse_announcement(data);
            if (!announcement) {
                console.warn("pos_longpolling: announcement ignored", data);
                return;
            }
            // The bus delivers each message once to a tab, also after a
            // reload, but a new tab gets the last 50 s again: the ids kept
            // here (Odoo runs one POS tab per browser) stop a second showing.
            if (!this._mark_announcement_seen(announcement.id)) {
                return;
            }
            if (announcement.needs_ack) {
                this.announcement_popups.push(announcement);
            } else {
                this.announcement_notes.push(announcement);
            }
            this.trigger("pos_longpolling:announcement", announcement);
        },

        _parse_announcement(data) {
            if (!data || typeof data.body !== "string" || !data.body) {
                return null;
            }
            return {
                id: typeof data.id === "string" ? data.id : "",
                announcement_id: Number.isInteger(data.announcement_id)
                    ? data.announcement_id
                    : null,
                title: typeof data.title === "string" ? data.title : "",
                body: data.body,
                needs_ack: Boolean(data.needs_ack),
            };
        },

        /**
         * Tells the server that `announcement` was shown on this POS, or
         * that the cashier acknowledged it: once per tab (the server keeps
         * the first report of each POS). A failure loses the report.
         */
        report_announcement(announcement, acknowledged = false) {
            const key = `${announcement.announcement_id}:${acknowledged}`;
            if (!announcement.announcement_id || this._announcement_reported.has(key)) {
                return this.announcement_reports;
            }
            this._announcement_reported.add(key);
            const args = [announcement.announcement_id, this.config.id, acknowledged];
            this.announcement_reports = this.announcement_reports.then(() =>
                rpc
                    .query(
                        {model: "pos.announcement.receipt", method: "report", args},
                        {shadow: true}
                    )
                    .catch((error) => {
                        // Not the crash manager's: the cashier can do nothing.
                        if (error && error.event) {
                            error.event.preventDefault();
                        }
                        console.warn("pos_longpolling: receipt not reported", error);
                    })
            );
            return this.announcement_reports;
        },

        /** False if `id` was shown in this browser already, else keeps it. */
        _mark_announcement_seen(id) {
            if (!id) {
                return true;
            }
            const key = `pos_longpolling.${session.db}.${this.config.id}.announcements`;
            let seen = [];
            try {
                seen = JSON.parse(window.localStorage.getItem(key)) || [];
            } catch {
                seen = [];
            }
            if (!Array.isArray(seen)) {
                seen = [];
            }
            if (seen.includes(id)) {
                return false;
            }
            seen.push(id);
            try {
                window.localStorage.setItem(key, JSON.stringify(seen.slice(-SEEN_MAX)));
            } catch {
                // Without storage only this guard is lost; the bus's stays.
            }
            return true;
        },
    });

    return {ANNOUNCEMENT_CHANNEL};
});
