/** @odoo-module **/
/**
 * JSON-RPC over fetch() for a ChannelBus: `/longpolling/poll` and the PING
 * route `/pos_longpolling/update` of the POS's own server (serverUrl "") or
 * of a sync server (its origin, e.g. "https://sync.example.com").
 *
 * To a sync server, polls and pings carry the POS's credential (a
 * SyncCredential, see sync_credential.js) when its server gives one; a
 * refusal a new credential may cure is retried once with a new one. The
 * POS's own server never gets it: its session is the POS's right.
 */

import {RENEWABLE, refusalReason} from "./sync_credential.js";

export class RpcError extends Error {
    constructor(message, data) {
        super(message);
        this.name = "RpcError";
        this.data = data;
    }
}

export class HttpTransport {
    constructor({
        serverUrl = "",
        fetch = (...args) => globalThis.fetch(...args),
        credential = null,
    } = {}) {
        this.serverUrl = serverUrl.replace(/\/+$/, "");
        this._fetch = fetch;
        this.credential = this.serverUrl ? credential : null;
    }

    /** @returns {{promise: Promise<Array>, abort: Function}} */
    poll(params) {
        const controller = new AbortController();
        return {
            promise: this.call("/longpolling/poll", params, controller.signal),
            abort: () => controller.abort(),
        };
    }

    ping({posId, dbName, screen}) {
        const params = {pos_id: posId, message: "PING", db_name: dbName};
        if (screen) {
            params.screen = screen;
        }
        return this.call("/pos_longpolling/update", params);
    }

    /** `rpc`, with the credential to a sync server. */
    async call(route, params, signal) {
        if (!this.credential) {
            return this.rpc(route, params, signal);
        }
        const token = await this.credential.get();
        const signed = (credential) => (credential ? {...params, credential} : params);
        try {
            return await this.rpc(route, signed(token), signal);
        } catch (error) {
            if (!RENEWABLE.has(refusalReason(error)) || (signal && signal.aborted)) {
                throw error;
            }
            const fresh = await this.credential.renew({refused: true});
            if (!fresh || fresh === token) {
                throw error;
            }
            return this.rpc(route, signed(fresh), signal);
        }
    }

    async rpc(route, params, signal) {
        try {
            const response = await this._fetch(this.serverUrl + route, {
                method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({
                    jsonrpc: "2.0",
                    method: "call",
                    id: Date.now(),
                    params,
                }),
                signal,
            });
            if (!response.ok) {
                throw new RpcError(`${route}: HTTP ${response.status}`, null);
            }
            const answer = await response.json();
            if (answer.error) {
                const data = answer.error.data || {};
                throw new RpcError(
                    `${route}: ${data.message || answer.error.message}`,
                    data
                );
            }
            return answer.result;
        } catch (error) {
            if (signal && signal.aborted) {
                error.aborted = true;
            }
            throw error;
        }
    }
}
