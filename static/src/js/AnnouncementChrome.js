odoo.define("pos_longpolling.AnnouncementChrome", function (require) {
    "use strict";
    /**
     * Shows the announcements the model queued (PosAnnouncement.js): a
     * notification each, one after the other, or, when the cashier must
     * acknowledge, a popup each, one at a time and never over another popup.
     */
    const Chrome = require("point_of_sale.Chrome");
    const Registries = require("point_of_sale.Registries");

    const POPUP = "AnnouncementPopup";
    // Long enough to read slowly: 4 s, plus 60 ms a character (1,000
    // characters: 64 s), at most 90 s; a click closes it sooner.
    const noteDuration = (text) => Math.min(90000, 4000 + 60 * text.length);

    const AnnouncementChrome = (Chrome) =>
        class extends Chrome {
            async start() {
                await super.start();
                if (this.state.uiState !== "READY") {
                    return;
                }
                this.env.pos.on(
                    "pos_longpolling:announcement",
                    this._showAnnouncements,
                    this
                );
                this._showAnnouncements();
            }
            willUnmount() {
                super.willUnmount();
                if (this.env.pos) {
                    this.env.pos.off("pos_longpolling:announcement", null, this);
                }
            }
            __showPopup(event) {
                super.__showPopup(event);
                // Another popup took the place of ours: ours comes back after.
                const shown = this._announcementShown;
                if (shown && this.popup.name !== POPUP) {
                    this._announcementShown = null;
                    this.env.pos.announcement_popups.unshift(shown);
                }
            }
            _onShowNotification() {
                super._onShowNotification(...arguments);
                // Odoo's own notifications keep Odoo's look.
                this.state.notification.isAnnouncement = false;
            }
            _onCloseNotification() {
                super._onCloseNotification(...arguments);
                setTimeout(() => this._showAnnouncementNote());
            }
            __closePopup() {
                super.__closePopup();
                // After the current event: a flow that opens its next popup
                // goes first.
                setTimeout(() => this._showAnnouncementPopup());
            }
            _showAnnouncements() {
                this._showAnnouncementNote();
                this._showAnnouncementPopup();
            }
            _showAnnouncementNote() {
                const queue = this.env.pos.announcement_notes;
                // One notification at a time: a new one would take the place
                // of the one on screen (and inherit its timer).
                if (this.state.notification.isShown || !queue.length) {
                    return;
                }
                const announcement = queue.shift();
                this.env.pos.report_announcement(announcement);
                const {title, body} = announcement;
                const text = title ? `${title}: ${body}` : body;
                this.showNotification(text, noteDuration(text));
                // Placed and wrapped within the screen, under the header,
                // clear of the payment buttons (pos_longpolling.css).
                this.state.notification.isAnnouncement = true;
            }
            _showAnnouncementPopup() {
                const queue = this.env.pos.announcement_popups;
                if (this._announcementShown || this.popup.isShown || !queue.length) {
                    return;
                }
                const announcement = queue.shift();
                this._announcementShown = announcement;
                this.env.pos.report_announcement(announcement);
                this.showPopup(POPUP, {
                    title: announcement.title || undefined,
                    body: announcement.body,
                    notEscapable: true,
                }).then((result) => {
                    if (result && result.confirmed) {
                        this.env.pos.report_announcement(announcement, true);
                    }
                    if (this._announcementShown === announcement) {
                        this._announcementShown = null;
                    }
                });
            }
        };

    Registries.Component.extend(Chrome, AnnouncementChrome);

    return AnnouncementChrome;
});
