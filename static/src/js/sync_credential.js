/** @odoo-module **/
/**
 * The POS's credential for sync servers (models/sync_credential.py): asked
 * of the POS's own server when the first sync bus polls, renewed before it
 * expires, and at once when a sync server refuses it for a reason a new one
 * may cure (it expired, the secret changed). The POS's own server has no
 * secret: `fetch` answers false, and sync buses poll without credential.
 */

import {browserTimers, clearTimer} from "./connection_monitor.js";

export const REFUSAL_KEY = "pos_longpolling_refusal";
// Refusals of a sync server that a new credential may cure.
export const RENEWABLE = new Set(["expired", "signature", "no_credential"]);

export const CREDENTIAL_DEFAULTS = Object.freeze({
    // Seconds before expiry to renew; at most half of the lifetime.
    renewBefore: 300,
    // Seconds: the next try after the POS's server failed to answer.
    retryDelay: 30,
    // Seconds: at most one renewal per this for refusals (a sync server
    // that keeps refusing does not make the POS ask its server each time).
    refusedInterval: 30,
});

/** The machine-readable reason a sync server refused a request, or null. */
export function refusalReason(error) {
    const context = error && error.data && error.data.context;
    return (context && context[REFUSAL_KEY]) || null;
}

export class SyncCredential {
    /**
     * @param {Object} params
     * @param {Function} params.fetch () -> Promise of {credential, expires_in}
     *     or false (the POS's server has no secret)
     * @param {Object} [params.timers] {setTimeout, clearTimeout, now}
     * @param {Object} [params.options] overrides CREDENTIAL_DEFAULTS
     */
    constructor({fetch, timers = browserTimers, options = {}}) {
        this._fetch = fetch;
        this.timers = timers;
        this.options = {...CREDENTIAL_DEFAULTS, ...options};
        this.token = null;
        this.fetched = false;
        this._pending = null;
        this._renewTimer = null;
        this._refusedAt = null;
    }

    /** @returns {Promise<String|null>} the credential, fetched the first time */
    get() {
        if (this._pending) {
            return this._pending;
        }
        return this.fetched ? Promise.resolve(this.token) : this.renew();
    }

    /**
     * Asks the POS's server for a new credential (one request at a time);
     * resolves to it, or to the one kept if that failed. `refused`: a sync
     * server refused the current one (rate-limited).
     */
    renew({refused = false} = {}) {
        if (this._pending) {
            return this._pending;
        }
        if (refused) {
            const now = this.timers.now();
            const since =
                now - (this._refusedAt === null ? -Infinity : this._refusedAt);
            if (since < this.options.refusedInterval * 1000) {
                return Promise.resolve(this.token);
            }
            this._refusedAt = now;
        }
        clearTimer(this, "_renewTimer");
        this._pending = Promise.resolve()
            .then(() => this._fetch())
            .then(
                (answer) => {
                    this.fetched = true;
                    if (answer && typeof answer.credential === "string") {
                        this.token = answer.credential;
                        const lifetime = Number(answer.expires_in) || 0;
                        const renewIn = Math.max(
                            lifetime - this.options.renewBefore,
                            lifetime / 2
                        );
                        this._schedule(renewIn);
                    } else {
                        this.token = null;
                    }
                },
                () => {
                    // Kept until the POS's server answers again.
                    this._schedule(this.options.retryDelay);
                }
            )
            .then(() => {
                this._pending = null;
                return this.token;
            });
        return this._pending;
    }

    stop() {
        clearTimer(this, "_renewTimer");
    }

    _schedule(seconds) {
        clearTimer(this, "_renewTimer");
        this._renewTimer = this.timers.setTimeout(() => {
            this._renewTimer = null;
            this.renew();
        }, seconds * 1000);
    }
}
