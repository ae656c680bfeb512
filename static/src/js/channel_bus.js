/** @odoo-module **/
/**
 * One longpolling bus of a POS: polls a server's `/longpolling/poll` on the
 * POS's channels and hands each notification to the callback of its channel.
 *
 * Protocol (see models/pos_config.py): the POS polls one channel per channel
 * name, `["<db>","<channel name>","<pos id>"]`; Odoo 15 answers
 * `[{id, message: {type, payload}}]` without the channel, and the type is
 * the channel name, so dispatch is by type.
 *
 * Quiet idle: the server answers an idle poll after 55 s, and any valid
 * answer, an empty one included, tells the monitor the server is there, so
 * an idle POS sends no PING but one per checkInterval (see
 * connection_monitor.js). The first poll after start() or after a failed or
 * refused poll is sent with `options: {peek: true}`: Odoo answers it at once
 * with `{notifications, channels}`, the first contact, instead of a PING
 * from every POS that starts. Every other poll has `options: {}`. When the
 * settings name a `screen` (an id of this tab), every poll and PING carries
 * it: the server counts the POS's connected screens by it.
 *
 * Delivery: the id of the last notification is kept (in `storage`, per tab)
 * so a reload resumes where it stopped; ids at or below it are dropped, so
 * nothing is delivered twice. When the server has deleted notifications of
 * this POS that it had not read, the answer starts with one of type
 * `pos.longpolling/gap`, and gap callbacks are told to reload what they show.
 *
 * Nothing a server answers, nor a callback, listener or error handler that
 * throws (or whose promise rejects), stops the polling. A refused poll (not logged in, no right to the
 * POS) is retried after minutes, not seconds, and says why.
 */

import {ConnectionMonitor, browserTimers, clearTimer} from "./connection_monitor.js";

export const PING_CHANNEL = "pos.longpolling";
export const GAP_TYPE = "pos.longpolling/gap";
// The errors of a poll that the server refused, rather than failed. Not
// AccessDenied: Odoo 15 answers it when authenticating failed for any
// reason, the database being unreachable included.
export const REFUSALS = new Set([
    "odoo.exceptions.AccessError",
    "odoo.http.SessionExpiredException",
]);

export const DEFAULTS = Object.freeze({
    // The server answers an idle POS poll after 55 s: give up on a poll
    // after 65 s (a dead connection after the device slept).
    pollTimeout: 65,
    // A PING per this many seconds without a notification checks that
    // NOTIFY reaches the polls (the empty answers only prove the server).
    checkInterval: 600,
    // Retry delays after failed polls grow from retryBase to retryMax
    // seconds; each is drawn at random from [delay / 2, delay]. The cap
    // stays under the pong timeout (10 s): a POS sees the server back
    // within it.
    retryBase: 2,
    retryMax: 8,
    // The same after refused polls: a login does not come back in seconds.
    refusedBase: 60,
    refusedMax: 600,
    // Pos.config's bounds of its timeouts (seconds).
    maxSilence: [10, 3600],
    pongTimeout: [2, 120],
});

/** `value` if a number within [min, max], else `fallback`. */
function bounded(value, [min, max], fallback) {
    return typeof value === "number" && value >= min && value <= max ? value : fallback;
}

export class ChannelBus {
    /**
     * @param {Object} params
     * @param {Object} params.transport {poll(params) -> {promise, abort()},
     *     ping() -> Promise}; a failed request rejects, an aborted one
     *     rejects with an error whose `aborted` is true
     * @param {Function} params.settings returns {dbName, posId, maxSilence,
     *     pongTimeout, storageKey, screen}; read at start(), when the POS has
     *     loaded
     * @param {Object} [params.storage] a Storage (sessionStorage) or null
     * @param {String} [params.storageKey] this bus's key in it
     * @param {Function} [params.onError] (error, channelName, payload) when a
     *     callback throws or its promise rejects
     * @param {Object} [params.timers] {setTimeout, clearTimeout, now}
     * @param {Function} [params.random] Math.random
     * @param {Object} [params.options] overrides DEFAULTS
     */
    constructor({
        transport,
        settings,
        storage = null,
        storageKey = "pos_longpolling",
        onError = (error) => console.error(error),
        timers = browserTimers,
        random = Math.random,
        options = {},
    }) {
        this.transport = transport;
        this.settings = settings;
        this.storage = storage;
        this.storageKey = storageKey;
        this.onError = onError;
        this.timers = timers;
        this.random = random;
        this.options = {...DEFAULTS, ...options};
        this.callbacks = new Map();
        this.gapCallbacks = [];
        this.lastId = 0;
        this.lastContactAt = null;
        this.failures = 0;
        this.refusals = 0;
        this.started = false;
        this._pollRequest = null;
        this._pollStartedAt = null;
        this._pollTimer = null;
        this._retryTimer = null;
        // Peek at the next poll: the first after start() or after a failure.
        this._peek = true;
        this.longpolling_connection = new ConnectionMonitor({
            ping: () => this.transport.ping(this._settings),
            checkInterval: this.options.checkInterval,
            timers,
        });
        // PONGs need no handling: any notification makes the monitor online.
        this.add_channel_callback(PING_CHANNEL, () => undefined);
    }

    // Public: upstream's API

    /**
     * Calls `callback.call(thisArg, payload)` for every message sent to this
     * POS on `channelName`. Works before and after start().
     */
    add_channel_callback(channelName, callback, thisArg) {
        const isNew = !this.callbacks.has(channelName);
        this.callbacks.set(channelName, {callback, thisArg});
        if (isNew && this.started) {
            this._restartPoll();
        }
    }

    remove_channel(channelName) {
        if (channelName !== PING_CHANNEL && this.callbacks.delete(channelName)) {
            if (this.started) {
                this._restartPoll();
            }
        }
    }

    start() {
        if (this.started) {
            return;
        }
        this._settings = this.settings();
        this.storageKey = this._settings.storageKey || this.storageKey;
        const connection = this.longpolling_connection;
        const {maxSilence, pongTimeout} = this.options;
        connection.maxSilence = bounded(
            this._settings.maxSilence,
            maxSilence,
            connection.maxSilence
        );
        connection.pongTimeout = bounded(
            this._settings.pongTimeout,
            pongTimeout,
            connection.pongTimeout
        );
        this._restore();
        this.started = true;
        this._peek = true;
        this._poll();
        connection.start();
    }

    stop() {
        this.started = false;
        clearTimer(this, "_retryTimer");
        this._abortPoll();
        this.longpolling_connection.stop();
    }

    // Public: additions

    /**
     * Calls `callback.call(thisArg, {silentFor, lastId, deletedId})` when the
     * server deleted notifications of this POS before the bus read them
     * (it was away for longer than the server keeps them): reload what the
     * POS shows.
     */
    add_gap_callback(callback, thisArg) {
        this.gapCallbacks.push({callback, thisArg});
    }

    /** The full channel names this bus polls. */
    get channels() {
        const {dbName, posId} = this._settings;
        return [...this.callbacks.keys()].map((name) =>
            JSON.stringify([dbName, name, String(posId)])
        );
    }

    /**
     * The page is visible again, the device woke up or the network came
     * back: replace a poll that may be dead, check the connection.
     */
    wake() {
        if (!this.started) {
            return;
        }
        if (this.longpolling_connection.state === "refused") {
            this.check();
            return;
        }
        const pollAge = this.timers.now() - (this._pollStartedAt || 0);
        // Offline, the poll in flight may have died with the network: a
        // peek answers at once when the server is there.
        const offline = this.longpolling_connection.state === "offline";
        if (
            this._pollRequest &&
            (offline || pollAge > this.options.pollTimeout * 1000)
        ) {
            this._peek = this._peek || offline;
            this._restartPoll();
        } else if (this._retryTimer !== null) {
            clearTimer(this, "_retryTimer");
            this._poll();
        }
        this.longpolling_connection.onWake();
    }

    /** The cashier asks (clicks the icon): poll now if waiting to, and ping. */
    check() {
        if (!this.started) {
            return Promise.resolve(false);
        }
        if (this._retryTimer !== null) {
            clearTimer(this, "_retryTimer");
            this._poll();
        }
        return this.longpolling_connection.send_ping();
    }

    // Private

    _pollOptions() {
        const options = this._peek ? {peek: true} : {};
        if (this._settings.screen) {
            options.screen = this._settings.screen;
        }
        return options;
    }

    _poll() {
        if (!this.started || this._pollRequest) {
            return;
        }
        const request = this.transport.poll({
            channels: this.channels,
            last: this.lastId,
            options: this._pollOptions(),
        });
        this._pollRequest = request;
        this._pollStartedAt = this.timers.now();
        this._pollTimer = this.timers.setTimeout(() => {
            this._pollTimer = null;
            request.abort();
        }, this.options.pollTimeout * 1000);
        if (this.failures || this.refusals) {
            this.longpolling_connection.onReconnecting();
        }
        request.promise.then(
            (notifications) => {
                if (this._pollDone(request)) {
                    this.failures = this.refusals = 0;
                    this._peek = false;
                    try {
                        this._onNotifications(notifications);
                    } finally {
                        this._poll();
                    }
                }
            },
            (error) => {
                if (!this._pollDone(request)) {
                    return;
                }
                if (error && error.aborted) {
                    this._poll();
                    return;
                }
                let delay = 0;
                this._peek = true;
                if (error && error.data && REFUSALS.has(error.data.name)) {
                    this.refusals++;
                    this.failures = 0;
                    this.longpolling_connection.onRefused(error.message);
                    delay = this.retryDelay(this.refusals, "refused");
                } else {
                    this.failures++;
                    this.longpolling_connection.onPollFailed();
                    delay = this.retryDelay(this.failures);
                }
                this._retryTimer = this.timers.setTimeout(() => {
                    this._retryTimer = null;
                    this._poll();
                }, delay);
            }
        );
    }

    /**
     * Milliseconds to wait before the next poll after `count` failures
     * (`kind` "retry") or refusals ("refused") in a row.
     */
    retryDelay(count, kind = "retry") {
        const base = this.options[`${kind}Base`];
        const max = this.options[`${kind}Max`];
        const ceiling = Math.min(max, base * 2 ** (count - 1)) * 1000;
        return ceiling / 2 + (this.random() * ceiling) / 2;
    }

    _pollDone(request) {
        if (this._pollRequest !== request) {
            return false;
        }
        this._pollRequest = null;
        clearTimer(this, "_pollTimer");
        return this.started;
    }

    _restartPoll() {
        if (this._pollRequest) {
            this._abortPoll();
        }
        this._poll();
    }

    _abortPoll() {
        const request = this._pollRequest;
        this._pollRequest = null;
        clearTimer(this, "_pollTimer");
        if (request) {
            request.abort();
        }
    }

    /**
     * @param {*} answer a poll's answer
     * @returns {Array|null} its notifications, null if it is malformed
     */
    _unpack(answer) {
        if (Array.isArray(answer)) {
            return answer;
        }
        // A peek poll's answer.
        if (
            answer &&
            Array.isArray(answer.notifications) &&
            Array.isArray(answer.channels)
        ) {
            return answer.notifications;
        }
        return null;
    }

    _onNotifications(answer) {
        const now = this.timers.now();
        const silentFor = this.lastContactAt === null ? 0 : now - this.lastContactAt;
        this.lastContactAt = now;
        const notifications = this._unpack(answer);
        const valid = (notifications || []).filter(
            (notification) =>
                notification &&
                Number.isInteger(notification.id) &&
                notification.message &&
                typeof notification.message.type === "string"
        );
        const gaps = valid.filter(({message}) => message.type === GAP_TYPE);
        let deletedId = 0;
        for (const {id, message} of gaps) {
            // Never past the newest id the server says it has: a gap beyond
            // it would make this tab skip every message until then.
            const newest = (message.payload || {}).newest;
            deletedId = Math.max(
                deletedId,
                Number.isInteger(newest) ? Math.min(id, newest) : 0
            );
        }
        if (deletedId > this.lastId) {
            this._dispatch(this.gapCallbacks, "gap", {
                silentFor,
                lastId: this.lastId,
                deletedId,
            });
        }
        let received = gaps.length > 0;
        for (const {id, message} of valid) {
            if (id <= this.lastId || message.type === GAP_TYPE) {
                continue;
            }
            this.lastId = id;
            received = true;
            const entry = this.callbacks.get(message.type);
            if (entry) {
                this._dispatch([entry], message.type, message.payload);
            }
        }
        // Nothing older than the deleted ones is left to read.
        this.lastId = Math.max(this.lastId, deletedId);
        this._save();
        if (received) {
            this.longpolling_connection.onNotification();
        } else if (notifications) {
            this.longpolling_connection.onContact();
        }
    }

    _dispatch(entries, channelName, payload) {
        const report = (error) => {
            try {
                this.onError(error, channelName, payload);
            } catch (handlerError) {
                console.error(
                    "pos_longpolling: the error handler failed",
                    handlerError
                );
            }
        };
        for (const {callback, thisArg} of entries) {
            try {
                const result = callback.call(thisArg, payload);
                // An async callback's rejection is its throw: reported here,
                // not left to Odoo's unhandled-rejection traceback popup.
                if (result && typeof result.then === "function") {
                    result.then(undefined, report);
                }
            } catch (error) {
                report(error);
            }
        }
    }

    _restore() {
        let saved = null;
        try {
            saved = this.storage && JSON.parse(this.storage.getItem(this.storageKey));
        } catch {
            saved = null;
        }
        if (saved && Number.isInteger(saved.last) && Number.isFinite(saved.at)) {
            this.lastId = saved.last;
            this.lastContactAt = saved.at;
        }
    }

    _save() {
        if (!this.storage) {
            return;
        }
        try {
            const state = {last: this.lastId, at: this.lastContactAt};
            this.storage.setItem(this.storageKey, JSON.stringify(state));
        } catch {
            // A full or disabled storage only costs the resume after reload.
        }
    }
}
