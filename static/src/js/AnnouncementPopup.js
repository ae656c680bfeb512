odoo.define("pos_longpolling.AnnouncementPopup", function (require) {
    "use strict";

    const {_lt} = require("@web/core/l10n/translation");
    const AbstractAwaitablePopup = require("point_of_sale.AbstractAwaitablePopup");
    const Registries = require("point_of_sale.Registries");

    /** A POS manager's message that the cashier must close. */
    class AnnouncementPopup extends AbstractAwaitablePopup {
        mounted() {
            this.playSound("bell");
        }
    }
    AnnouncementPopup.template = "pos_longpolling.AnnouncementPopup";
    AnnouncementPopup.defaultProps = {
        confirmText: _lt("Got it"),
        title: _lt("Message from your manager"),
        body: "",
    };

    Registries.Component.add(AnnouncementPopup);

    return AnnouncementPopup;
});
