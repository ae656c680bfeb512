odoo.define("pos_longpolling.tour.AnnouncementFits", function (require) {
    "use strict";

    const Tour = require("web_tour.tour");

    // A long announcement, as the wizard sends it (1,000 characters at most):
    // an 80-character title without a space, words, a 120-character word.
    const TITLE = "T".repeat(80);
    const BODY = `${"A long announcement to read. ".repeat(30)}${"W".repeat(
        120
    )}`.slice(0, 1000);

    function check(condition, message) {
        if (!condition) {
            throw new Error(message);
        }
    }

    function overlaps(a, b) {
        return (
            a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
        );
    }

    // No url: the tour runs on the page the test opened, the width in its URL.
    Tour.register("pos_longpolling_announcement_fits", {test: true}, [
        {
            content: "a long announcement arrives",
            trigger: ".pos .pos-content",
            run() {
                const params = new URLSearchParams(window.location.search);
                const width = Number(params.get("pos_longpolling_width"));
                check(
                    Math.abs(window.innerWidth - width) <= 20,
                    `the window is ${window.innerWidth} px wide, not ${width}`
                );
                const entry = window.posmodel.bus.callbacks.get(
                    "pos_longpolling.announcement"
                );
                entry.callback.call(entry.thisArg, {
                    id: "fits",
                    title: TITLE,
                    body: BODY,
                });
            },
        },
        {
            content:
                "its notification fits the screen, wrapped, clear of Pay and Review",
            trigger: ".pos .notification.pos_longpolling_note",
            run() {
                const note = $(".pos .notification.pos_longpolling_note")[0];
                const rect = note.getBoundingClientRect();
                const [width, height] = [window.innerWidth, window.innerHeight];
                const where = `${width}x${height}: ${JSON.stringify(rect)}`;
                check(
                    rect.left >= 0 && rect.top >= 0,
                    `the notification starts off-screen, ${where}`
                );
                check(
                    rect.right <= width && rect.bottom <= height,
                    `the notification runs off-screen, ${where}`
                );
                check(
                    note.scrollWidth <= note.clientWidth,
                    `a word runs out of the notification, ${where}`
                );
                check(note.textContent.includes(TITLE), "the title is not shown");
                const buttons = $(".pos .actionpad .pay, .pos .btn-switchpane").filter(
                    ":visible"
                );
                check(buttons.length, "no Pay or Review button to check");
                for (const button of buttons) {
                    check(
                        !overlaps(rect, button.getBoundingClientRect()),
                        `the notification covers "${button.textContent.trim()}", ${where}`
                    );
                }
            },
        },
        {
            content: "a click closes it",
            trigger: ".pos .notification.pos_longpolling_note",
        },
        {
            content: "closed",
            trigger: ".pos:not(:has(.notification)) .pos-content",
            run() {
                // A check: the trigger is the assertion.
            },
        },
    ]);
});
