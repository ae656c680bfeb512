odoo.define("pos_longpolling_partner_sync.tour", function (require) {
    "use strict";

    const Tour = require("web_tour.tour");
    const rpc = require("web.rpc");
    const {GAP_TYPE} = require("@pos_longpolling/js/channel_bus");

    const params = new URLSearchParams(window.location.search);
    const param = (name) => JSON.parse(params.get(name));
    const errors = [];

    function check(condition, message) {
        if (!condition) {
            throw new Error(message);
        }
    }

    function rename(id, name) {
        return rpc.query({model: "res.partner", method: "write", args: [[id], {name}]});
    }

    // A message as the server sends it, with the next id, as a poll answers it.
    function deliver(partnerIds) {
        const bus = window.posmodel.bus;
        const payload = {message: "update_partner_fields", partner_ids: partnerIds};
        bus._onNotifications([
            {id: bus.lastId + 1, message: {type: "pos_partner_sync", payload}},
        ]);
    }

    function shownName(id) {
        return window.posmodel.db.get_partner_by_id(id).name;
    }

    // The tour does not wait for a step's promise: `done(name)` is the next
    // step's trigger, and that step throws what failed.
    let failure = null;
    function later(name, work) {
        return async () => {
            try {
                await work();
            } catch (error) {
                failure = failure || `${name}: ${error}`;
            }
            document.body.classList.add(`lp_sync_${name}`);
        };
    }
    function done(name) {
        return {
            content: `${name} done`,
            trigger: `body.lp_sync_${name}`,
            run() {
                check(!failure, failure);
            },
        };
    }

    Tour.register("pos_longpolling_partner_sync", {test: true}, [
        {
            content: "the replay of an edit made before the POS opened, twice",
            trigger: ".pos .pos-content",
            run: later("replay", async () => {
                const bus = window.posmodel.bus;
                const onError = bus.onError;
                bus.onError = (error, ...args) => {
                    errors.push(String(error));
                    onError(error, ...args);
                };
                // The edit is already loaded: Odoo's load_new_partners()
                // would reject here. Then the same answer again (a reload).
                bus._onNotifications(param("partner_sync_replay"));
                bus._onNotifications(param("partner_sync_replay"));
                await window.posmodel.partner_sync_done;
                const [a] = param("partner_sync_ids");
                check(shownName(a) === "Replayed A", `A shows ${shownName(a)}`);
            }),
        },
        done("replay"),
        {
            content: "quick edits, each message as it comes",
            trigger: ".pos .pos-content",
            run: later("quick", async () => {
                const [a, b] = param("partner_sync_ids");
                // Within a second of each other: add_partners alone skips B.
                await rename(a, "Quick A1");
                deliver([a]);
                await rename(b, "Quick B1");
                deliver([b]);
                await rename(a, "Quick A2");
                deliver([a]);
                await window.posmodel.partner_sync_done;
            }),
        },
        done("quick"),
        {
            content: "missed messages: the gap reloads what changed",
            trigger: ".pos .pos-content",
            run: later("gap", async () => {
                const [, , c] = param("partner_sync_ids");
                await rename(c, "Missed C");
                const bus = window.posmodel.bus;
                // As the server says it: the gap's id, and the bus's newest.
                const gap = (id) => ({
                    id,
                    message: {type: GAP_TYPE, payload: {last: 0, newest: id}},
                });
                bus._onNotifications([gap(bus.lastId + 5)]);
                await window.posmodel.partner_sync_done;
                // A gap with nothing new is no error either.
                bus._onNotifications([gap(bus.lastId + 5)]);
                await window.posmodel.partner_sync_done;
            }),
        },
        done("gap"),
        {
            content: "the customer list",
            trigger: ".pos .set-customer",
        },
        {
            content: "shows every latest name",
            trigger: '.clientlist-screen .client-line:contains("Quick A2")',
            run() {
                const list = $(".clientlist-screen").text();
                for (const name of ["Quick B1", "Missed C"]) {
                    check(list.includes(name), `the list lacks ${name}`);
                }
                const names = param("partner_sync_ids").map(shownName);
                check(
                    JSON.stringify(names) ===
                        JSON.stringify(["Quick A2", "Quick B1", "Missed C"]),
                    `the POS shows ${names}`
                );
                check(!errors.length, `errors: ${errors}`);
                check(!$(".popup-error").length, "an error popup is open");
            },
        },
    ]);
});
