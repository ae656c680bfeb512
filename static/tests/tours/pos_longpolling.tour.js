odoo.define("pos_longpolling.tour.StatusIcons", function (require) {
    "use strict";

    const Tour = require("web_tour.tour");

    // Test mode refuses /longpolling/poll: the buses fail to poll, so the
    // icons must end red. The PING route works: the server checks its rows.
    const pinged = "pos_longpolling_tour_pinged";
    Tour.register("pos_longpolling_status_icons", {test: true, url: "/pos/ui"}, [
        {
            content: "the default bus has its icon in the header",
            trigger: '.pos .status-buttons .js_poll_connected[data-bus="default"]',
            run() {
                // A check: the trigger is the assertion.
            },
        },
        {
            content: "a failing poll turns it red",
            trigger: '.pos .js_poll_connected[data-bus="default"].oe_red',
            run() {
                // A check: the trigger is the assertion.
            },
        },
        {
            content: "a bus added but not started has a hidden icon",
            trigger: ".pos .pos_longpolling_status",
            run() {
                window.posmodel.add_bus("tour_bus", window.location.origin);
            },
        },
        {
            content: "hidden until started",
            trigger:
                '.pos .pos_longpolling_status:has(.js_poll_connected[data-bus="tour_bus"].oe_hidden)',
            run() {
                window.posmodel.get_bus("tour_bus").start();
            },
        },
        {
            content: "started: one icon per bus",
            trigger: '.pos .js_poll_connected[data-bus="tour_bus"]:not(.oe_hidden)',
            run() {
                const shown = $(".pos .js_poll_connected:not(.oe_hidden)").length;
                if (shown !== 2) {
                    throw new Error(`expected 2 status icons, found ${shown}`);
                }
            },
        },
        {
            content: "each icon says what it is",
            trigger: '.pos .js_poll_connected[data-bus="tour_bus"][title*="tour_bus"]',
            run() {
                // A started bus no longer PINGs: ping as a click does.
                const bus = window.posmodel.bus;
                bus.transport
                    .ping(bus._settings)
                    .then(() => document.body.classList.add(pinged));
            },
        },
        {
            content: "the PING was answered",
            trigger: `body.${pinged}`,
            run() {
                // A check: the trigger is the assertion.
            },
        },
    ]);
});
