odoo.define("pos_longpolling.tour.Announcement", function (require) {
    "use strict";

    const Tour = require("web_tour.tour");

    // Test mode refuses /longpolling/poll, so the announcements the server
    // sent (read from its bus rows by tests/test_announcement.py, passed in
    // the URL) are handed to the channel's callback here as the bus would.
    const CHANNEL = "pos_longpolling.announcement";

    function payloads() {
        const params = new URLSearchParams(window.location.search);
        return JSON.parse(params.get("pos_longpolling_announcements"));
    }

    function deliver(payload) {
        const entry = window.posmodel.bus.callbacks.get(CHANNEL);
        if (!entry) {
            throw new Error(`nothing subscribed to ${CHANNEL}`);
        }
        entry.callback.call(entry.thisArg, payload);
    }

    function check(condition, message) {
        if (!condition) {
            throw new Error(message);
        }
    }

    // No url: the tour runs on the page the test opened, payloads in its URL.
    Tour.register("pos_longpolling_announcement", {test: true}, [
        {
            content: "a popup of the cashier's is open when announcements arrive",
            trigger: ".pos .pos-content",
            run() {
                const {Gui} = odoo.__DEBUG__.services["point_of_sale.Gui"];
                Gui.showPopup("ErrorPopup", {title: "Busy", body: "cashier's popup"});
                // [note, popup, popup] as sent; the first popup twice.
                const [note, first, second] = payloads();
                deliver(note);
                deliver(first);
                deliver(second);
                deliver(first);
                check(
                    window.posmodel.announcement_popups.length === 2,
                    "a repeated announcement was queued again"
                );
            },
        },
        {
            content: "the notification shows at once, its markup as text",
            trigger: '.pos .notification:contains("<b>x</b>")',
            run() {
                const $note = $(".pos .notification");
                check(
                    $note.text().trim() === "Notice: <b>x</b>",
                    `notification reads ${$note.text()}`
                );
                check(!$note.find("b").length, "the notification rendered HTML");
            },
        },
        {
            content: "the popups wait while the cashier's popup is open",
            trigger: '.pos .popup-error:contains("Busy") .button',
            run(actions) {
                check(
                    !$(".pos .pos_longpolling_announcement").length,
                    "an announcement replaced the cashier's popup"
                );
                actions.click();
            },
        },
        {
            content: "then the first one shows",
            trigger: '.pos .pos_longpolling_announcement:contains("Close the till")',
            run() {
                const title = $(".pos .pos_longpolling_announcement .title").text();
                check(title.includes("Closing"), `popup title is ${title}`);
            },
        },
        {
            content: "it stays after the notification went away by itself",
            trigger:
                '.pos:not(:has(.notification)) .pos_longpolling_announcement:contains("Close the till") .button.confirm',
            run: "click",
        },
        {
            content: "the second one waited its turn; its markup is text",
            trigger: '.pos .pos_longpolling_announcement:contains("<b>x</b>")',
            run(actions) {
                const $popup = $(".pos .pos_longpolling_announcement");
                check(
                    $popup.find(".body").text().trim() === "<b>x</b>",
                    "the body is not the text sent"
                );
                check(!$popup.find(".body b").length, "the popup rendered HTML");
                check(
                    $popup.find(".title").text().includes("Message from your manager"),
                    "no default title"
                );
                actions.click($popup.find(".button.confirm"));
            },
        },
        {
            content: "closed, nothing shows again",
            trigger: ".pos:not(:has(.popups)):not(:has(.notification)) .pos-content",
            run() {
                const pos = window.posmodel;
                check(
                    !pos.announcement_popups.length && !pos.announcement_notes.length,
                    "announcements left in the queues"
                );
                // Once the receipts reached the server.
                pos.announcement_reports.then(() => window.location.reload());
            },
        },
        {
            content: "after a reload, the same announcements are not shown again",
            trigger: ".pos .pos-content",
            run() {
                payloads().forEach(deliver);
                const pos = window.posmodel;
                check(
                    !pos.announcement_popups.length && !pos.announcement_notes.length,
                    "an announcement was queued again after the reload"
                );
            },
        },
        {
            content: "and none is on screen",
            trigger: ".pos:not(:has(.popups)):not(:has(.notification)) .pos-content",
            run() {
                // A check: the trigger is the assertion.
            },
        },
    ]);

    // The receipt of an announcement that asks for acknowledgement: shown on
    // the POS, the cashier's "Got it" then on its record in the backend.
    Tour.register("pos_longpolling_announcement_receipt", {test: true}, [
        {
            content: "an announcement arrives",
            trigger: ".pos .pos-content",
            run() {
                payloads().forEach(deliver);
            },
        },
        {
            content: "the cashier acknowledges it",
            trigger:
                '.pos .pos_longpolling_announcement:contains("till 3") .button.confirm',
            run: "click",
        },
        {
            content: "then the manager opens its record",
            trigger: ".pos:not(:has(.popups)) .pos-content",
            run() {
                const id = payloads()[0].announcement_id;
                window.posmodel.announcement_reports.then(() => {
                    window.location.href = `/web#model=pos.announcement&id=${id}&view_type=form`;
                });
            },
        },
        {
            content: "which shows the cashier's acknowledgement",
            trigger:
                '.o_form_view:contains("acknowledged on 1 of 1") .o_field_one2many[name=receipt_ids] td:contains("Mitchell Admin")',
            run() {
                // A check: the trigger is the assertion.
            },
        },
    ]);
});
