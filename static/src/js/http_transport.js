/** @odoo-module **/
/**
 * JSON-RPC over fetch() for a ChannelBus: `/longpolling/poll` and the PING
 * route `/pos_longpolling/update` of the POS's own server (serverUrl "") or
 * of a sync server (its origin, e.g. "https://sync.example.com").
 */

export class RpcError extends Error {
    constructor(message, data) {
        super(message);
        this.name = "RpcError";
        this.data = data;
    }
}

export class HttpTransport {
    constructor({serverUrl = "", fetch = (...args) => globalThis.fetch(...args)} = {}) {
        this.serverUrl = serverUrl.replace(/\/+$/, "");
        this._fetch = fetch;
    }

    /** @returns {{promise: Promise<Array>, abort: Function}} */
    poll(params) {
        const controller = new AbortController();
        return {
            promise: this.rpc("/longpolling/poll", params, controller.signal),
            abort: () => controller.abort(),
        };
    }

    ping({posId, dbName, screen}) {
        const params = {pos_id: posId, message: "PING", db_name: dbName};
        if (screen) {
            params.screen = screen;
        }
        return this.rpc("/pos_longpolling/update", params);
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
