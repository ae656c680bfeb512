odoo.define("pos_longpolling.LongpollingStatus", function (require) {
    "use strict";

    const {useState} = owl.hooks;
    const core = require("web.core");
    const PosComponent = require("point_of_sale.PosComponent");
    const Registries = require("point_of_sale.Registries");

    const _t = core._t;
    // Lazy (_lt): translated when shown, after the translations have loaded.
    // Each state has its own glyph: it can be told without its colour.
    const LOOKS = {
        online: {color: "oe_green", glyph: "fa-check", label: core._lt("online")},
        waiting: {
            color: "oe_orange",
            glyph: "fa-hourglass-half",
            label: core._lt("waiting for the server"),
        },
        offline: {color: "oe_red", glyph: "fa-times", label: core._lt("offline")},
        refused: {
            color: "oe_red",
            glyph: "fa-ban",
            label: core._lt("refused by the server"),
        },
        stopped: {color: "oe_hidden", glyph: "fa-pause", label: core._lt("stopped")},
    };
    // A click's check shows its spinner this long at least: a PONG often
    // comes back within 0.1 s, too fast to be seen.
    const MIN_SPIN_MS = 1000;

    /** One icon per longpolling bus; a click checks the connection. */
    class LongpollingStatus extends PosComponent {
        constructor() {
            super(...arguments);
            this.state = useState({revision: 0, clicked: {}});
            this._unsubscribes = [];
            this._spinTimers = new Set();
        }
        mounted() {
            this.env.pos.on("change:longpolling_buses", this._subscribe, this);
            this._subscribe();
        }
        willUnmount() {
            this.env.pos.off("change:longpolling_buses", null, this);
            this._unsubscribe();
            for (const timer of this._spinTimers) {
                clearTimeout(timer);
            }
        }
        get buses() {
            return this.env.pos.get_all_buses().map(([key, bus]) => {
                const connection = bus.longpolling_connection;
                const look = LOOKS[connection.state];
                const name = key === "default" ? _t("Longpolling") : key;
                const label = connection.reason
                    ? `${look.label} (${connection.reason})`
                    : String(look.label);
                const checking = connection.pinging || Boolean(this.state.clicked[key]);
                return {
                    key,
                    bus,
                    color: look.color,
                    glyph: checking ? "fa-refresh fa-spin" : look.glyph,
                    checking,
                    title: _.str.sprintf(
                        checking
                            ? _t("%s: %s. Checking the connection...")
                            : _t("%s: %s. Click to check."),
                        name,
                        label
                    ),
                };
            });
        }
        onClick(key, bus) {
            this.state.clicked[key] = true;
            const timer = setTimeout(() => {
                this._spinTimers.delete(timer);
                this.state.clicked[key] = false;
            }, MIN_SPIN_MS);
            this._spinTimers.add(timer);
            bus.check();
        }
        _subscribe() {
            this._unsubscribe();
            for (const [, bus] of this.env.pos.get_all_buses()) {
                this._unsubscribes.push(
                    bus.longpolling_connection.onChange(() => this.state.revision++)
                );
            }
            this.state.revision++;
        }
        _unsubscribe() {
            for (const unsubscribe of this._unsubscribes) {
                unsubscribe();
            }
            this._unsubscribes = [];
        }
    }
    LongpollingStatus.template = "pos_longpolling.LongpollingStatus";

    Registries.Component.add(LongpollingStatus);

    return LongpollingStatus;
});
