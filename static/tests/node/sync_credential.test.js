import assert from "node:assert/strict";
import {test} from "node:test";

import {ChannelBus} from "../../src/js/channel_bus.js";
import {FakeTimers, settle} from "./fakes.js";
import {HttpTransport} from "../../src/js/http_transport.js";
import {SyncCredential} from "../../src/js/sync_credential.js";

const SYNC = "http://sync:8169";
const HOUR = 3600;

/** A POS server that gives credentials "c1", "c2", ... valid `lifetime` s. */
function mainServer({lifetime = HOUR, secret = true} = {}) {
    const server = {asked: 0, down: false};
    server.fetch = async () => {
        if (server.down) {
            throw new Error("XmlHttpRequestError");
        }
        server.asked++;
        return secret && {credential: `c${server.asked}`, expires_in: lifetime};
    };
    return server;
}

/** A sync server: answers each request with `answer(params)`. */
function syncServer(answer = () => ({result: []})) {
    const requests = [];
    const fetch = async (url, init) => {
        const body = JSON.parse(init.body);
        requests.push({url, params: body.params});
        return {ok: true, status: 200, json: async () => answer(body.params)};
    };
    return {fetch, requests};
}

const refusal = (reason) => ({
    error: {
        message: "Odoo Server Error",
        data: {
            name: "odoo.exceptions.AccessError",
            message: `refused: ${reason}`,
            context: {pos_longpolling_refusal: reason},
        },
    },
});

function setUp({main = mainServer(), answer, serverUrl = SYNC} = {}) {
    const timers = new FakeTimers();
    const credential = new SyncCredential({fetch: main.fetch, timers});
    const sync = syncServer(answer);
    const transport = new HttpTransport({serverUrl, fetch: sync.fetch, credential});
    return {timers, credential, sync, transport, main};
}

test("an added bus's polls and pings carry the credential", async () => {
    const {transport, sync, main} = setUp();
    await transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    await transport.ping({posId: 4, dbName: "main"});
    assert.deepEqual(
        sync.requests.map(({url, params}) => [url, params.credential]),
        [
            [`${SYNC}/longpolling/poll`, "c1"],
            [`${SYNC}/pos_longpolling/update`, "c1"],
        ]
    );
    assert.deepEqual(sync.requests[1].params, {
        pos_id: 4,
        message: "PING",
        db_name: "main",
        credential: "c1",
    });
    // Asked for once, not per request.
    assert.equal(main.asked, 1);
});

test("the POS's own server never gets it", async () => {
    const {transport, sync, main} = setUp({serverUrl: ""});
    await transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    await transport.ping({posId: 4, dbName: "main"});
    assert.deepEqual(
        sync.requests.map(({url, params}) => [url, "credential" in params]),
        [
            ["/longpolling/poll", false],
            ["/pos_longpolling/update", false],
        ]
    );
    assert.equal(main.asked, 0);
});

test("no secret on the POS's server: no credential, polls as before", async () => {
    const {transport, sync} = setUp({main: mainServer({secret: false})});
    await transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    assert.deepEqual(sync.requests[0].params, {channels: ["c"], last: 0, options: {}});
});

test("renewed before it expires, without a reload", async () => {
    const {transport, sync, main, timers} = setUp();
    await transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    // Renewed renewBefore (300 s) before the hour is over.
    assert.deepEqual(timers.delays(), [(HOUR - 300) * 1000]);
    await timers.advance((HOUR - 300) * 1000 - 1);
    assert.equal(main.asked, 1);
    await timers.advance(1);
    assert.equal(main.asked, 2);
    await transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    assert.equal(sync.requests.at(-1).params.credential, "c2");
    // And so on, each before the last expires.
    await timers.advance((HOUR - 300) * 1000);
    assert.equal(main.asked, 3);
});

test("a short-lived credential is renewed halfway", async () => {
    const {credential, timers} = setUp({main: mainServer({lifetime: 60})});
    await credential.get();
    assert.deepEqual(timers.delays(), [30 * 1000]);
});

test("the POS's server down: the credential is kept, asked again later", async () => {
    const main = mainServer();
    const {credential, timers} = setUp({main});
    assert.equal(await credential.get(), "c1");
    main.down = true;
    await timers.advance((HOUR - 300) * 1000);
    assert.equal(await credential.get(), "c1");
    assert.deepEqual(timers.delays(), [30 * 1000]);
    main.down = false;
    await timers.advance(30 * 1000);
    assert.equal(await credential.get(), "c2");
});

for (const reason of ["expired", "signature", "no_credential"]) {
    test(`refused (${reason}): a new credential, and one retry`, async () => {
        const answer = (params) =>
            params.credential === "c1" ? refusal(reason) : {result: [7]};
        const {transport, sync, main} = setUp({answer});
        const result = await transport.poll({channels: ["c"], last: 0, options: {}})
            .promise;
        assert.deepEqual(result, [7]);
        assert.deepEqual(
            sync.requests.map(({params}) => params.credential),
            ["c1", "c2"]
        );
        assert.equal(main.asked, 2);
    });
}

test("refused again: the refusal is the answer, renewals are rate-limited", async () => {
    const {transport, sync, main, timers} = setUp({answer: () => refusal("signature")});
    const poll = () => transport.poll({channels: ["c"], last: 0, options: {}}).promise;
    await assert.rejects(poll(), /refused: signature/);
    assert.equal(sync.requests.length, 2);
    // A second refusal within 30 s: no new credential, no retry.
    await timers.advance(10 * 1000);
    await assert.rejects(poll(), /refused: signature/);
    assert.equal(main.asked, 2);
    assert.equal(sync.requests.length, 3);
    await timers.advance(20 * 1000);
    await assert.rejects(poll(), /refused: signature/);
    assert.equal(main.asked, 3);
});

test("refusals a new credential cannot cure are not retried", async () => {
    for (const reason of ["no_secret", "other_pos", "malformed", null]) {
        const answer = () =>
            reason ? refusal(reason) : {error: {data: {message: "other error"}}};
        const {transport, sync, main} = setUp({answer});
        await assert.rejects(
            transport.poll({channels: ["c"], last: 0, options: {}}).promise
        );
        assert.equal(sync.requests.length, 1, reason);
        assert.equal(main.asked, 1, reason);
    }
});

test("a refused sync bus says why (its icon's tooltip)", async () => {
    const {transport, timers} = setUp({answer: () => refusal("no_secret")});
    const bus = new ChannelBus({
        transport,
        settings: () => ({dbName: "main", posId: 4}),
        timers,
        random: () => 0.5,
    });
    bus.start();
    await settle();
    await settle();
    assert.equal(bus.longpolling_connection.state, "refused");
    assert.match(bus.longpolling_connection.reason, /refused: no_secret/);
    bus.stop();
});
