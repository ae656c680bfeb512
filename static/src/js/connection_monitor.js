/** @odoo-module **/
/**
 * Connection monitor of one longpolling bus: an explicit state machine.
 *
 * Contact: any valid poll answer, an empty one included (the server is
 * there). Notification: a new message, PONG or gap signal (NOTIFY reaches
 * the polls). An idle POS thus needs no PING while its polls come back,
 * only one per checkInterval to check the whole way round.
 *
 *   stopped --start()--> waiting (no PING: the bus's first poll is a peek)
 *   waiting --no contact within pongTimeout s of start()--> offline
 *   any started state --contact or notification--> online
 *   any started state --poll failed--> offline
 *   any started state --poll refused (not logged in, no right)--> refused
 *   offline, refused --poll issued again (reconnecting)--> waiting, PING
 *   PING --a notification within pongTimeout s--> online
 *   PING --no notification within pongTimeout s / PING failed--> offline
 *
 * A PING is sent when: the silence timer fires (no contact for maxSilence
 * s: the poll is stuck or the server gone); the check timer fires
 * (checkInterval s since the last notification, maxSilence s after a failed
 * PING); reconnecting; a wake-up (the page visible again, the network
 * back) while offline or without a notification in the last maxSilence s;
 * a click (send_ping()). Never while one is outstanding, nor while refused
 * (it would be refused too), so nothing can make it ping in a loop. Timers and the PING transport are injected, so tests drive it with
 * a fake clock. A listener that throws changes nothing.
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
     * @param {Number} [params.checkInterval] seconds between end-to-end
     *     checks (PINGs) while no notification comes
     * @param {Object} [params.timers] {setTimeout, clearTimeout, now}
     */
    constructor({
        ping,
        maxSilence = 60,
        pongTimeout = 10,
        checkInterval = 600,
        timers = browserTimers,
    }) {
        this._ping = ping;
        this.maxSilence = maxSilence;
        this.pongTimeout = pongTimeout;
        this.checkInterval = checkInterval;
        this.timers = timers;
        this.state = STATES.STOPPED;
        this.pinging = false;
        this.lastContactAt = null;
        this.lastNotificationAt = null;
        // Why the server refused the last poll, while `state` is "refused".
        this.reason = null;
        // No contact for maxSilence s: PING.
        this._silenceTimer = null;
        // No notification for checkInterval s: PING.
        this._checkTimer = null;
        // No contact within pongTimeout s of start(): offline.
        this._startTimer = null;
        this._pongTimer = null;
        this._pingPromise = null;
        this._resolvePing = null;
        this._listeners = new Set();
        this._notified = null;
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

    /** No PING: the bus's first poll is a peek, answered at once. */
    start() {
        if (this.state !== STATES.STOPPED) {
            return;
        }
        this._setState(STATES.WAITING);
        this._startTimer = this.timers.setTimeout(() => {
            this._startTimer = null;
            if (this.state === STATES.WAITING && !this.pinging) {
                this._setState(STATES.OFFLINE);
            }
        }, this.pongTimeout * 1000);
        this._armSilenceTimer();
        this._armCheckTimer(this.checkInterval);
    }

    stop() {
        this._finishPing(false);
        this._clearTimers();
        this._setState(STATES.STOPPED);
    }

    /** A valid poll answer, an empty one included: the server is there. */
    onContact() {
        if (this.state === STATES.STOPPED) {
            return;
        }
        this.lastContactAt = this.timers.now();
        clearTimer(this, "_startTimer");
        this._armSilenceTimer();
        this._setState(STATES.ONLINE);
    }

    /** A notification came through the longpoll: NOTIFY reaches the polls. */
    onNotification() {
        if (this.state === STATES.STOPPED) {
            return;
        }
        this.lastNotificationAt = this.timers.now();
        this._finishPing(true);
        this._armCheckTimer(this.checkInterval);
        this.onContact();
    }

    /** The poll request failed (network error, server error). */
    onPollFailed() {
        if (this.state === STATES.STOPPED) {
            return;
        }
        clearTimer(this, "_startTimer");
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
        this._clearTimers();
        this.reason = reason;
        this._setState(STATES.REFUSED);
    }

    /** A new poll was issued after a failure: check the way back. */
    onReconnecting() {
        if (this.state !== STATES.OFFLINE && this.state !== STATES.REFUSED) {
            return;
        }
        clearTimer(this, "_startTimer");
        this._setState(STATES.WAITING);
        this.send_ping();
    }

    /**
     * The page came back (visible again, device woke up, network back):
     * check the connection when offline (the last check failed: do not wait
     * for the timer) or when no notification came recently.
     */
    onWake() {
        if ([STATES.STOPPED, STATES.REFUSED].includes(this.state) || this.pinging) {
            return;
        }
        const heard = this.lastNotificationAt;
        if (
            this.state === STATES.OFFLINE ||
            heard === null ||
            this.timers.now() - heard >= this.maxSilence * 1000
        ) {
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
        // The PING's outcome re-arms it.
        clearTimer(this, "_checkTimer");
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
        // Offline never means pinging in a loop: no timer PINGs for
        // maxSilence s; a contact re-arms the silence timer from then on.
        clearTimer(this, "_silenceTimer");
        this._armCheckTimer(this.maxSilence);
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

    _armCheckTimer(seconds) {
        clearTimer(this, "_checkTimer");
        this._checkTimer = this.timers.setTimeout(() => {
            this._checkTimer = null;
            this.send_ping();
        }, seconds * 1000);
    }

    _clearTimers() {
        for (const name of ["_silenceTimer", "_checkTimer", "_startTimer"]) {
            clearTimer(this, name);
        }
    }

    _setState(state) {
        if (state !== STATES.REFUSED) {
            this.reason = null;
        }
        this.state = state;
        this._notify();
    }

    /** Tells the listeners, only when something they show changed. */
    _notify() {
        const shown = `${this.state}|${this.pinging}|${this.reason}`;
        if (shown === this._notified) {
            return;
        }
        this._notified = shown;
        for (const listener of this._listeners) {
            try {
                listener(this);
            } catch (error) {
                console.error("pos_longpolling: a connection listener failed", error);
            }
        }
    }
}
