odoo.define("pos_longpolling.tour.StatusIcons", function (require) {
    "use strict";

    const Tour = require("web_tour.tour");

    // Test mode refuses /longpolling/poll: the buses fail to poll, so the
    // icons must end red. The PING route works: the server checks its rows.
    const pinged = "pos_longpolling_tour_pinged";
    const offline = "pos_longpolling_tour_offline";

    function check(condition, message) {
        if (!condition) {
            throw new Error(message);
        }
    }

    /** WCAG's contrast ratio of two CSS rgb() colours. */
    function contrast(first, second) {
        const luminance = (css) => {
            const [r, g, b] = css.match(/[\d.]+/g).map((v) => {
                const c = Number(v) / 255;
                return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const [light, dark] = [luminance(first), luminance(second)].sort(
            (a, b) => b - a
        );
        return (light + 0.05) / (dark + 0.05);
    }

    Tour.register("pos_longpolling_status_icons", {test: true, url: "/pos/ui"}, [
        {
            content: "the default bus has its icon in the header",
            trigger: '.pos .status-buttons .js_poll_connected[data-bus="default"]',
            run() {
                // Red with the offline glyph lasts from a PING's timeout to
                // the next poll's retry, which may be shorter than the 750 ms
                // the tour waits between checks: an observer of its own sees
                // it, and measures it then.
                const seen = () => {
                    const glyph = $(
                        '.pos .js_poll_connected[data-bus="default"].oe_red i.fa-times'
                    )[0];
                    if (!glyph) {
                        return false;
                    }
                    const style = window.getComputedStyle(glyph);
                    const header = window.getComputedStyle($(".pos .pos-topheader")[0]);
                    window.posLongpollingTourOffline = {
                        onDisc: contrast(style.color, style.backgroundColor),
                        onHeader: contrast(
                            style.backgroundColor,
                            header.backgroundColor
                        ),
                    };
                    document.body.classList.add(offline);
                    return true;
                };
                if (!seen()) {
                    const observer = new MutationObserver(
                        () => seen() && observer.disconnect()
                    );
                    observer.observe($(".pos")[0], {
                        attributes: true,
                        childList: true,
                        subtree: true,
                    });
                }
            },
        },
        {
            content: "a failing poll turns it red, with the offline glyph",
            trigger: `body.${offline}`,
            // Once the PING sent at the start gets no PONG within the pong
            // timeout (10 s): the tour's 10 s per step is too short.
            timeout: 20000,
            run() {
                const {onDisc, onHeader} = window.posLongpollingTourOffline;
                check(onDisc >= 3, `glyph on its disc: ${onDisc.toFixed(2)}:1`);
                check(onHeader >= 3, `disc on the header: ${onHeader.toFixed(2)}:1`);
            },
        },
        {
            content: "a click shows the check in progress",
            trigger: '.pos .js_poll_connected[data-bus="default"]',
        },
        {
            content: "a spinner while it checks, for a second at least",
            trigger:
                '.pos .js_poll_connected[data-bus="default"][aria-busy="true"] i.fa-spin',
            run() {
                check(
                    /Checking/.test(
                        $('.pos .js_poll_connected[data-bus="default"]').attr("title")
                    ),
                    "the tooltip does not say it checks"
                );
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

    // In German (tests/test_ui.py loads the addon's de.po): the tooltip is
    // translated, looked up when shown, not when the module loaded.
    Tour.register("pos_longpolling_status_icon_de", {test: true, url: "/pos/ui"}, [
        {
            content: "the icon's tooltip is in German",
            trigger:
                '.pos .js_poll_connected[data-bus="default"][title^="Long-Polling: "]',
            run() {
                const title = $('.pos .js_poll_connected[data-bus="default"]').attr(
                    "title"
                );
                check(
                    /^Long-Polling: (verbunden|getrennt|wartet auf den Server)\. /.test(
                        title
                    ),
                    `tooltip: ${title}`
                );
                check(
                    !/online|offline|waiting|Click|Checking/.test(title),
                    `tooltip: ${title}`
                );
            },
        },
    ]);
});
