/** @odoo-module **/
/**
 * Connection monitor of one longpolling bus: an explicit state machine.
 *
 *   stopped --start()--> waiting --notification--> online
 *   any started state --notification--> online
 *   online --silence (maxSilence s without a notification)--> PING sent
 *   PING sent --PONG (a notification) within pongTimeout s--> online
 *   PING sent --no notification within pongTimeout s / PING failed--> offline
 *   any started state --poll failed--> offline
 *   any started state --poll refused (not logged in, no right)--> refused
 *   offline, refused --poll issued again (reconnecting)--> waiting, PING sent
 *
 * A PING is never sent while another one is outstanding, nor while refused
 * (it would be refused too), so nothing (a click, a wake-up, the silence
 * timer) can make it ping in a loop. Timers and the PING transport are
 * injected, so tests drive it with a fake clock. A listener that throws
 * changes nothing.
 */

export const STATES = Object.freeze({
    STOPPED: "stopped",
    WAITING: "waiting",
    ONLINE: "online",
    OFFLINE: "offline",
    REFUSED: "refused",
});

export const browserTimers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    now: () => Date.now(),
};

/** Cancels the timer whose id is `owner[name]`, if any. */
export function clearTimer(owner, name) {
    if (owner[name] !== null) {
        owner.timers.clearTimeout(owner[name]);
        owner[name] = null;
    }
}

export class ConnectionMonitor {
    /**
     * @param {Object} params
     * @param {Function} params.ping sends a PING; returns a Promise that
     *     rejects when the server could not be reached
     * @param {Number} [params.maxSilence] seconds, see pos.config
     * @param {Number} [params.pongTimeout] seconds, see pos.config
     * @param {Object} [params.timers] {setTimeout, clearTimeout, now}
     */
    constructor({ping, maxSilence = 60, pongTimeout = 10, timers = browserTimers}) {
        this._ping = ping;
        this.maxSilence = maxSilence;
        this.pongTimeout = pongTimeout;
        this.timers = timers;
        this.state = STATES.STOPPED;
        this.pinging = false;
        this.lastNotificationAt = null;
        // Why the server refused the last poll, while `state` is "refused".
        this.reason = null;
        this._silenceTimer = null;
        this._pongTimer = null;
        this._pingPromise = null;
        this._resolvePing = null;
        this._listeners = new Set();
    }

    /** Upstream's name: true when the last check reached the server. */
    get is_online() {
        return this.state === STATES.ONLINE;
    }

    /** Calls `listener(monitor)` whenever `state` or `pinging` changes. */
    onChange(listener) {
        this._listeners.add(listener);
        return () => this._listeners.delete(listener);
    }

    start() {
        if (this.state !== STATES.STOPPED) {
            return;
        }
        this._setState(STATES.WAITING);
        this.send_ping();
    }

    stop() {
        this._finishPing(false);
        clearTimer(this, "_silenceTimer");
        this._setState(STATES.STOPPED);
    }

    /** Any notification came through the longpoll: the server is there. */
    onNotification() {
        if (this.state === STATES.STOPPED) {
            return;
        }
        this.lastNotificationAt = this.timers.now();
        this._finishPing(true);
        this._armSilenceTimer();
        this._setState(STATES.ONLINE);
    }

    /** The poll request failed (network error, server error). */
    onPollFailed() {
        if (this.state === STATES.STOPPED) {
            return;
        }
        this._setState(STATES.OFFLINE);
    }

    /**
     * The server refused the poll (`reason`: its message): no PING until a
     * poll is issued again.
     */
    onRefused(reason) {
        if (this.state === STATES.STOPPED) {
            return;
        }
        this._finishPing(false);
        clearTimer(this, "_silenceTimer");
        this.reason = reason;
        this._setState(STATES.REFUSED);
    }

    /** A new poll was issued after a failure: check the way back. */
    onReconnecting() {
        if (this.state !== STATES.OFFLINE && this.state !== STATES.REFUSED) {
            return;
        }
        this._setState(STATES.WAITING);
        this.send_ping();
    }

    /**
     * The page came back (visible again, device woke up, network back):
     * check the connection unless it was heard from recently.
     */
    onWake() {
        if ([STATES.STOPPED, STATES.REFUSED].includes(this.state) || this.pinging) {
            return;
        }
        const silentFor = this.timers.now() - (this.lastNotificationAt || 0);
        if (this.state !== STATES.ONLINE || silentFor >= this.maxSilence * 1000) {
            this.send_ping();
        }
    }

    /**
     * Upstream's name. PINGs the server; the PONG comes back as a
     * notification. Resolves to true (PONG) or false (offline, stopped).
     */
    send_ping() {
        if (this.state === STATES.STOPPED || this.state === STATES.REFUSED) {
            return Promise.resolve(false);
        }
        if (this._pingPromise) {
            return this._pingPromise;
        }
        const promise = new Promise((resolve) => {
            this._resolvePing = resolve;
        });
        this._pingPromise = promise;
        this.pinging = true;
        clearTimer(this, "_silenceTimer");
        this._pongTimer = this.timers.setTimeout(() => {
            this._pongTimer = null;
            this._pingFailed();
        }, this.pongTimeout * 1000);
        this._notify();
        Promise.resolve()
            .then(() => this._ping())
            .catch(() => {
                if (this._pingPromise === promise) {
                    this._pingFailed();
                }
            });
        return promise;
    }

    // Private

    _pingFailed() {
        this._finishPing(false);
        // Look again after a silence: offline never means pinging in a loop.
        this._armSilenceTimer();
        this._setState(STATES.OFFLINE);
    }

    _finishPing(answered) {
        if (!this._pingPromise) {
            return;
        }
        clearTimer(this, "_pongTimer");
        const resolve = this._resolvePing;
        this._pingPromise = this._resolvePing = null;
        this.pinging = false;
        resolve(answered);
    }

    _armSilenceTimer() {
        clearTimer(this, "_silenceTimer");
        this._silenceTimer = this.timers.setTimeout(() => {
            this._silenceTimer = null;
            this.send_ping();
        }, this.maxSilence * 1000);
    }

    _setState(state) {
        if (state !== STATES.REFUSED) {
            this.reason = null;
        }
        this.state = state;
        this._notify();
    }

    _notify() {
        for (const listener of this._listeners) {
            try {
                listener(this);
            } catch (error) {
                console.error("pos_longpolling: a connection listener failed", error);
            }
        }
    }
}
