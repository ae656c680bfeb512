import assert from "node:assert/strict";
import {test} from "node:test";

import {HttpTransport, RpcError} from "../../src/js/http_transport.js";

function fakeFetch(answer) {
    const calls = [];
    const fetch = async (url, init) => {
        calls.push({url, init, body: JSON.parse(init.body)});
        return answer(init);
    };
    return {fetch, calls};
}

const ok = (result) => ({
    ok: true,
    status: 200,
    json: async () => ({jsonrpc: "2.0", result}),
});

test("poll posts JSON-RPC to the sync server's /longpolling/poll", async () => {
    const {fetch, calls} = fakeFetch(() =>
        ok([{id: 3, message: {type: "a", payload: 1}}])
    );
    const transport = new HttpTransport({serverUrl: "http://sync:8072/", fetch});
    const result = await transport.poll({channels: ["c"], last: 2, options: {}})
        .promise;
    assert.deepEqual(result, [{id: 3, message: {type: "a", payload: 1}}]);
    assert.equal(calls[0].url, "http://sync:8072/longpolling/poll");
    assert.equal(calls[0].body.method, "call");
    assert.deepEqual(calls[0].body.params, {channels: ["c"], last: 2, options: {}});
});

test("ping sends PING with the POS id and database", async () => {
    const {fetch, calls} = fakeFetch(() => ok(1));
    await new HttpTransport({fetch}).ping({posId: 4, dbName: "db"});
    assert.equal(calls[0].url, "/pos_longpolling/update");
    assert.deepEqual(calls[0].body.params, {pos_id: 4, message: "PING", db_name: "db"});
});

test("ping sends the screen id when there is one", async () => {
    const {fetch, calls} = fakeFetch(() => ok(1));
    await new HttpTransport({fetch}).ping({posId: 4, dbName: "db", screen: "tab1"});
    assert.deepEqual(calls[0].body.params, {
        pos_id: 4,
        message: "PING",
        db_name: "db",
        screen: "tab1",
    });
});

test("a JSON-RPC error rejects with the server's message", async () => {
    const {fetch} = fakeFetch(() => ({
        ok: true,
        json: async () => ({
            error: {message: "Odoo Server Error", data: {message: "no POS"}},
        }),
    }));
    await assert.rejects(new HttpTransport({fetch}).ping({posId: 1}), (error) => {
        assert.ok(error instanceof RpcError);
        assert.match(error.message, /no POS/);
        assert.equal(error.aborted, undefined);
        return true;
    });
});

test("HTTP errors reject, aborts are marked as such", async () => {
    const failing = fakeFetch(() => ({ok: false, status: 502}));
    await assert.rejects(new HttpTransport(failing).poll({}).promise, /HTTP 502/);
    const hanging = fakeFetch(
        (init) =>
            new Promise((resolve, reject) => {
                init.signal.addEventListener("abort", () =>
                    reject(new Error("AbortError"))
                );
            })
    );
    const request = new HttpTransport(hanging).poll({});
    request.abort();
    await assert.rejects(request.promise, (error) => error.aborted === true);
});
