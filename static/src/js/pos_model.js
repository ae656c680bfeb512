odoo.define("pos_longpolling.models", function (require) {
    "use strict";
    /**
     * The POS's buses: `pos.bus` on its own server, `pos.add_bus(key, url)`
     * for sync servers. Each is a ChannelBus over HTTP whose callbacks'
     * errors are shown to the cashier. Sync buses share the POS's
     * credential for sync servers (sync_credential.js).
     */
    const core = require("web.core");
    const models = require("point_of_sale.models");
    const rpc = require("web.rpc");
    const session = require("web.session");
    const {Gui} = require("point_of_sale.Gui");
    const {ChannelBus} = require("@pos_longpolling/js/channel_bus");
    const {HttpTransport} = require("@pos_longpolling/js/http_transport");
    const {SyncCredential} = require("@pos_longpolling/js/sync_credential");

    const _t = core._t;
    // A timer that fires this much later than asked means the device slept.
    const SLEEP_CHECK_PERIOD = 5000;
    const SLEEP_THRESHOLD = 30000;

    const SCREEN_KEY = "pos_longpolling.screen";

    /**
     * An id of this tab, kept over reloads (sessionStorage): the server
     * counts a POS's connected screens by it.
     */
    function screenId() {
        let id = null;
        try {
            id = window.sessionStorage.getItem(SCREEN_KEY);
        } catch {
            id = null;
        }
        if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
            id = Array.from(window.crypto.getRandomValues(new Uint8Array(12)), (b) =>
                b.toString(16).padStart(2, "0")
            ).join("");
            try {
                window.sessionStorage.setItem(SCREEN_KEY, id);
            } catch {
                // A new id at each reload: counted as another screen for 2 min.
            }
        }
        return id;
    }

    const PosModelSuper = models.PosModel.prototype;
    models.PosModel = models.PosModel.extend({
        initialize() {
            PosModelSuper.initialize.apply(this, arguments);
            this.buses = {};
            this.bus = this._make_bus("", "");
            this._watch_wake();
            this.ready.then(() => {
                if (this.config.autostart_longpolling) {
                    this.bus.start();
                }
            });
        },

        /** A bus that polls `sync_server` (an origin URL); start() it. */
        add_bus(key, sync_server) {
            if (this.buses[key]) {
                this.buses[key].stop();
            }
            this.buses[key] = this._make_bus(key, sync_server);
            this.trigger("change:longpolling_buses", this);
            return this.buses[key];
        },

        /** The bus added under `key`, or the default one without a key. */
        get_bus(key) {
            return key ? this.buses[key] : this.bus;
        },

        /** [[key, bus], ...], the default bus first (key "default"). */
        get_all_buses() {
            return [["default", this.bus], ...Object.entries(this.buses)];
        },

        _make_bus(key, sync_server) {
            return new ChannelBus({
                transport: new HttpTransport({
                    serverUrl: sync_server || "",
                    credential: sync_server ? this._sync_credential() : null,
                }),
                settings: () => ({
                    dbName: session.db,
                    posId: this.config.id,
                    maxSilence: this.config.longpolling_max_silence_timeout,
                    pongTimeout: this.config.longpolling_pong_timeout,
                    storageKey: `pos_longpolling.${session.db}.${this.config.id}.${
                        key || "default"
                    }`,
                    // A sync server serves other databases' POSes.
                    screen: sync_server ? undefined : screenId(),
                }),
                storage: window.sessionStorage,
                onError: (error, channelName) =>
                    this._on_longpolling_error(error, channelName),
            });
        },

        /** The credential of this POS for sync servers, asked for once. */
        _sync_credential() {
            if (!this.sync_credential) {
                this.sync_credential = new SyncCredential({
                    fetch: () =>
                        rpc.query(
                            {
                                model: "pos.config",
                                method: "longpolling_sync_credential",
                                args: [[this.config.id]],
                            },
                            {shadow: true}
                        ),
                });
            }
            return this.sync_credential;
        },

        _on_longpolling_error(error, channelName) {
            console.error(
                `pos_longpolling: callback of channel ${channelName} failed`,
                error
            );
            try {
                Gui.showPopup("ErrorPopup", {
                    title: _t("Longpolling Handling Error"),
                    body: _.str.sprintf(
                        _t("The message on channel %s could not be handled: %s"),
                        channelName,
                        (error && error.message) || String(error)
                    ),
                });
            } catch (popupError) {
                // The UI is not ready yet: the console has it.
            }
        },

        _watch_wake() {
            const wake = () => {
                for (const [, bus] of this.get_all_buses()) {
                    bus.wake();
                }
            };
            document.addEventListener("visibilitychange", () => {
                if (document.visibilityState === "visible") {
                    wake();
                }
            });
            window.addEventListener("online", wake);
            let last = Date.now();
            setInterval(() => {
                const now = Date.now();
                if (now - last > SLEEP_THRESHOLD) {
                    wake();
                }
                last = now;
            }, SLEEP_CHECK_PERIOD);
        },
    });
});
