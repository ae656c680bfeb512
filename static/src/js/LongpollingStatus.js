odoo.define("pos_longpolling.LongpollingStatus", function (require) {
    "use strict";

    const {useState} = owl.hooks;
    const core = require("web.core");
    const PosComponent = require("point_of_sale.PosComponent");
    const Registries = require("point_of_sale.Registries");

    const _t = core._t;
    const LOOKS = {
        online: {color: "oe_green", label: _t("online")},
        waiting: {color: "oe_orange", label: _t("waiting for the server")},
        offline: {color: "oe_red", label: _t("offline")},
        refused: {color: "oe_red", label: _t("refused by the server")},
        stopped: {color: "oe_hidden", label: _t("stopped")},
    };

    /** One icon per longpolling bus; a click checks the connection. */
    class LongpollingStatus extends PosComponent {
        constructor() {
            super(...arguments);
            this.state = useState({revision: 0});
            this._unsubscribes = [];
        }
        mounted() {
            this.env.pos.on("change:longpolling_buses", this._subscribe, this);
            this._subscribe();
        }
        willUnmount() {
            this.env.pos.off("change:longpolling_buses", null, this);
            this._unsubscribe();
        }
        get buses() {
            return this.env.pos.get_all_buses().map(([key, bus]) => {
                const connection = bus.longpolling_connection;
                const look = LOOKS[connection.state];
                const name = key === "default" ? _t("Longpolling") : key;
                const label = connection.reason
                    ? `${look.label} (${connection.reason})`
                    : look.label;
                return {
                    key,
                    bus,
                    color: look.color,
                    pinging: connection.pinging,
                    title: _.str.sprintf(_t("%s: %s. Click to check."), name, label),
                };
            });
        }
        onClick(bus) {
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
