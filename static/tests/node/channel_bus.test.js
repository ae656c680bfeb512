import assert from "node:assert/strict";
import {beforeEach, describe, test} from "node:test";

import {ChannelBus, GAP_TYPE, PING_CHANNEL} from "../../src/js/channel_bus.js";
import {RpcError} from "../../src/js/http_transport.js";
import {STATES} from "../../src/js/connection_monitor.js";
import {FakeTimers, FakeTransport, MemoryStorage, settle} from "./fakes.js";

const SETTINGS = {
    dbName: "db",
    posId: 7,
    maxSilence: 60,
    pongTimeout: 10,
    storageKey: "k",
};

function makeBus({timers, transport, storage = null, errors = [], random = () => 0.5}) {
    return new ChannelBus({
        transport,
        settings: () => SETTINGS,
        storage,
        timers,
        random,
        onError: (error, channel, payload) =>
            errors.push([error.message, channel, payload]),
    });
}

describe("ChannelBus", () => {
    let timers = null;
    let transport = null;
    let errors = null;
    let bus = null;
    let received = null;

    beforeEach(() => {
        timers = new FakeTimers();
        transport = new FakeTransport();
        errors = [];
        received = [];
        bus = makeBus({timers, transport, errors});
    });

    test("polls the upstream channel names of its POS, ping channel included", async () => {
        bus.add_channel_callback("pos_partner_sync", () => undefined);
        bus.start();
        assert.deepEqual(transport.current.params, {
            channels: ['["db","pos.longpolling","7"]', '["db","pos_partner_sync","7"]'],
            last: 0,
            options: {},
        });
        await settle();
        assert.deepEqual(
            transport.pings.map((p) => p.settings.posId),
            [7]
        );
    });

    test("a notification reaches exactly its channel's callback, once, with its data", async () => {
        const self = {name: "ctx"};
        bus.add_channel_callback(
            "a",
            function (data) {
                received.push(["a", data, this]);
            },
            self
        );
        bus.add_channel_callback("b", (data) => received.push(["b", data]));
        bus.start();
        await transport.answer([
            [5, "a", {x: 1}],
            [6, "b", [1, 2]],
            [7, "mail.channel/new_message", {}],
        ]);
        await transport.answer([
            [6, "b", [1, 2]],
            [8, "a", "again"],
        ]);
        assert.deepEqual(received, [
            ["a", {x: 1}, self],
            ["b", [1, 2]],
            ["a", "again", self],
        ]);
        assert.equal(transport.current.params.last, 8);
    });

    test("callbacks added after start() restart the poll with the new channel", async () => {
        bus.start();
        const first = transport.current;
        bus.add_channel_callback("late", (data) => received.push(data));
        assert.equal(first.aborted, true);
        assert.ok(transport.current.params.channels.includes('["db","late","7"]'));
        await transport.answer([[1, "late", "hi"]]);
        assert.deepEqual(received, ["hi"]);
        assert.equal(transport.polls.length, 3, "one aborted, one answered, one new");
    });

    test("remove_channel stops delivery and polling of that channel", async () => {
        bus.add_channel_callback("a", (data) => received.push(data));
        bus.start();
        bus.remove_channel("a");
        assert.ok(!transport.current.params.channels.includes('["db","a","7"]'));
        await transport.answer([[1, "a", "late"]]);
        assert.deepEqual(received, []);
        bus.remove_channel(PING_CHANNEL);
        assert.ok(
            transport.current.params.channels.includes('["db","pos.longpolling","7"]')
        );
    });

    test("a throwing callback is reported and the others still run", async () => {
        bus.add_channel_callback("bad", () => {
            throw new Error("boom");
        });
        bus.add_channel_callback("good", (data) => received.push(data));
        bus.start();
        await transport.answer([
            [1, "bad", 1],
            [2, "good", 2],
        ]);
        await transport.answer([[3, "good", 3]]);
        assert.deepEqual(errors, [["boom", "bad", 1]]);
        assert.deepEqual(received, [2, 3]);
        assert.ok(transport.current, "still polling");
    });

    test("PONG and any message make it online", async () => {
        bus.start();
        assert.equal(bus.longpolling_connection.state, STATES.WAITING);
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        assert.equal(bus.longpolling_connection.is_online, true);
    });

    test("an empty answer (server timeout) polls again at once", async () => {
        bus.start();
        await transport.answer([]);
        await transport.answer([]);
        assert.equal(transport.polls.length, 3);
        assert.ok(transport.current);
    });

    test("a failed poll: offline, retry after a jittered, growing delay", async () => {
        bus.start();
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        await transport.fail();
        assert.equal(bus.longpolling_connection.state, STATES.OFFLINE);
        assert.equal(transport.current, null);
        // Random() = 0.5: first delay 2 s * 0.75.
        assert.ok(timers.delays().includes(1500));
        await timers.advance(1499);
        assert.equal(transport.current, null);
        await timers.advance(1);
        assert.ok(transport.current, "polls again");
        assert.equal(bus.longpolling_connection.state, STATES.WAITING);
        assert.equal(transport.pings.length, 2, "a PING checks the way back");
        await transport.fail();
        assert.ok(timers.delays().includes(3000), "second delay: 4 s * 0.75");
    });

    test("retry delays stay within [d/2, d], d doubling up to 8 s", () => {
        for (const [random, failures, expected] of [
            [0, 1, 1000],
            [0.999999, 1, 2000],
            [0, 3, 4000],
            [1, 3, 8000],
            [0, 10, 4000],
            [1, 10, 8000],
        ]) {
            const b = makeBus({timers, transport, random: () => random});
            assert.ok(
                Math.abs(b.retryDelay(failures) - expected) < 1,
                `${random} ${failures}`
            );
        }
    });

    test("jitter spreads a herd of clients after a server restart", async () => {
        const delays = [];
        let seed = 42;
        const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
        for (let i = 0; i < 200; i++) {
            const clock = new FakeTimers();
            const t = new FakeTransport();
            const b = makeBus({timers: clock, transport: t, random});
            b.start();
            await t.fail();
            delays.push(Math.min(...clock.delays().filter((d) => d <= 2000)));
        }
        const distinct = new Set(delays.map((d) => Math.floor(d / 100)));
        assert.ok(Math.min(...delays) >= 1000 && Math.max(...delays) <= 2000);
        assert.ok(distinct.size >= 8, "spread over the whole window");
    });

    test("an aborted poll restarts at once, with no delay", async () => {
        bus.start();
        transport.current.abort();
        await settle();
        assert.ok(transport.current);
        assert.equal(bus.failures, 0);
    });

    test("a poll that hangs past the client timeout is replaced", async () => {
        bus.start();
        const first = transport.current;
        await timers.advance(65_000);
        assert.equal(first.aborted, true);
        assert.ok(transport.current && transport.current !== first);
    });

    test("wake replaces a dead poll and skips a pending retry delay", async () => {
        bus.start();
        const first = transport.current;
        timers.time += 120_000; // The device slept: no timer fired
        bus.wake();
        assert.equal(first.aborted, true);
        assert.ok(transport.current);
        await transport.fail();
        assert.equal(transport.current, null);
        bus.wake();
        assert.ok(transport.current, "polls again without waiting");
    });

    test("resume after reload: same last id, nothing twice, nothing lost", async () => {
        const storage = new MemoryStorage();
        bus = makeBus({timers, transport, storage});
        bus.add_channel_callback("a", (data) => received.push(data));
        bus.start();
        await transport.answer([
            [10, "a", 1],
            [11, "a", 2],
        ]);
        bus.stop();
        // The page reloads 5 s later; the server still holds 10..13.
        await timers.advance(5000);
        const transport2 = new FakeTransport();
        const reloaded = makeBus({timers, transport: transport2, storage});
        reloaded.add_channel_callback("a", (data) => received.push(data));
        reloaded.start();
        assert.equal(transport2.current.params.last, 11);
        await transport2.answer([
            [10, "a", 1],
            [11, "a", 2],
            [12, "a", 3],
            [13, "a", 4],
        ]);
        assert.deepEqual(received, [1, 2, 3, 4]);
    });

    test("storage that is broken or corrupt does not stop the bus", async () => {
        const storage = new MemoryStorage();
        storage.setItem("k", "{not json");
        bus = makeBus({timers, transport, storage});
        bus.start();
        assert.equal(transport.current.params.last, 0);
        storage.setItem = () => {
            throw new Error("QuotaExceededError");
        };
        await transport.answer([[1, "x", 1]]);
        assert.ok(transport.current);
    });

    test("gap signal when the server says it deleted unread notifications", async () => {
        const gaps = [];
        bus.add_gap_callback((info) => gaps.push(info));
        bus.add_channel_callback("x", (data) => received.push(data));
        bus.start();
        await transport.answer([[2, "x", "a"]]);
        // A silence, however long, is no gap.
        await transport.fail();
        await timers.advance(300_000);
        await transport.answer([]);
        assert.deepEqual(gaps, []);
        // The server deleted up to id 9; id 6 was kept and still comes.
        await transport.answer([
            [9, GAP_TYPE, {last: 2}],
            [6, "x", "kept"],
            [11, "x", "new"],
        ]);
        assert.equal(gaps.length, 1);
        assert.deepEqual(
            {lastId: gaps[0].lastId, deletedId: gaps[0].deletedId},
            {lastId: 2, deletedId: 9}
        );
        assert.deepEqual(received, ["a", "kept", "new"]);
        assert.equal(bus.lastId, 11);
        assert.equal(transport.current.params.last, 11);
        // Deleted and nothing else kept: the bus moves past them.
        await transport.answer([[20, GAP_TYPE, {last: 11}]]);
        assert.equal(gaps.length, 2);
        assert.equal(transport.current.params.last, 20);
    });

    test("a throwing gap callback is reported like a channel callback", async () => {
        bus.add_gap_callback(() => {
            throw new Error("reload failed");
        });
        bus.start();
        await transport.answer([[5, GAP_TYPE, {last: 0}]]);
        assert.deepEqual(
            errors.map(([message, channel]) => [message, channel]),
            [["reload failed", "gap"]]
        );
        assert.ok(transport.current, "still polling");
    });

    test("malformed answers neither stop polling nor deliver", async () => {
        bus.add_channel_callback("x", (data) => received.push(data));
        bus.start();
        const answerRaw = async (answer) => {
            const request = transport.current;
            request.done = true;
            request.resolve(answer);
            await settle();
        };
        for (const answer of [null, "oops", {id: 1}, 42]) {
            await answerRaw(answer);
            assert.ok(transport.current, `polling after ${JSON.stringify(answer)}`);
        }
        await answerRaw([
            null,
            {id: "3", message: {type: "x", payload: "string id"}},
            {id: 4},
            {id: 5, message: null},
            {id: 6, message: {type: "x", payload: "ok"}},
        ]);
        assert.deepEqual(received, ["ok"]);
        assert.equal(transport.current.params.last, 6);
    });

    test("an error handler or a state listener that throws stops nothing", async () => {
        const failing = new ChannelBus({
            transport,
            settings: () => SETTINGS,
            timers,
            random: () => 0.5,
            onError: () => {
                throw new Error("handler broken");
            },
        });
        failing.longpolling_connection.onChange(() => {
            throw new Error("listener broken");
        });
        failing.add_channel_callback("x", () => {
            throw new Error("callback broken");
        });
        failing.add_channel_callback("y", (data) => received.push(data));
        failing.start();
        await transport.answer([
            [1, "x", 1],
            [2, "y", "after"],
        ]);
        assert.deepEqual(received, ["after"]);
        assert.ok(transport.current);
        assert.equal(failing.longpolling_connection.state, STATES.ONLINE);
    });

    test("a refused poll backs off to minutes, says why, pings no more, resumes", async () => {
        bus.start();
        const refusal = new RpcError("/longpolling/poll: log in", {
            name: "odoo.exceptions.AccessError",
        });
        const connection = bus.longpolling_connection;
        const pings = () => transport.pings.length;
        for (const expected of [60_000, 120_000, 240_000, 480_000, 600_000, 600_000]) {
            await transport.fail(refusal);
            assert.equal(connection.state, STATES.REFUSED);
            assert.match(connection.reason, /log in/);
            assert.equal(connection.is_online, false);
            const before = pings();
            // Random() is 0.5: three quarters of the ceiling.
            assert.deepEqual(timers.delays(), [expected * 0.75]);
            await timers.advance(expected * 0.75 - 1);
            assert.equal(transport.current, null, "no poll before the delay");
            assert.equal(pings(), before, "no ping while refused");
            await timers.advance(1);
            assert.ok(transport.current);
            assert.equal(pings(), before + 1, "one ping per retry");
        }
        // Logged in again: the retry goes through.
        transport.pings[transport.pings.length - 1].resolve(1);
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        assert.equal(connection.state, STATES.ONLINE);
        assert.equal(connection.reason, null);
        await transport.fail(refusal);
        assert.deepEqual(timers.delays(), [45_000], "back off from the start again");
    });

    test("a click or a wake-up retries a refused poll at once", async () => {
        bus.start();
        const refusal = new RpcError("denied", {
            name: "odoo.http.SessionExpiredException",
        });
        await transport.fail(refusal);
        assert.equal(transport.current, null);
        bus.check();
        assert.ok(transport.current);
        await transport.fail(refusal);
        bus.wake();
        assert.ok(transport.current);
        // Network errors, and Odoo's AccessDenied (authentication failed for
        // any reason, the database down included), retry in seconds.
        for (const error of [
            new RpcError("/longpolling/poll: HTTP 502", null),
            new RpcError("denied", {name: "odoo.exceptions.AccessDenied"}),
        ]) {
            await transport.fail(error);
            assert.equal(bus.longpolling_connection.state, STATES.OFFLINE);
            const retryAt = timers.pending.get(bus._retryTimer).at;
            assert.ok(retryAt - timers.now() <= 8_000, error.message);
            bus.check();
        }
    });

    test("timeouts outside pos.config's bounds are not used", async () => {
        const odd = new ChannelBus({
            transport,
            settings: () => ({...SETTINGS, maxSilence: 0.001, pongTimeout: 0}),
            timers,
        });
        odd.start();
        assert.equal(odd.longpolling_connection.maxSilence, 60);
        assert.equal(odd.longpolling_connection.pongTimeout, 10);
        const fine = new ChannelBus({
            transport: new FakeTransport(),
            settings: () => ({...SETTINGS, maxSilence: 30, pongTimeout: 5}),
            timers,
        });
        fine.start();
        assert.equal(fine.longpolling_connection.maxSilence, 30);
        assert.equal(fine.longpolling_connection.pongTimeout, 5);
    });

    test("stop: no poll, no timer left, late answers ignored", async () => {
        bus.add_channel_callback("a", (data) => received.push(data));
        bus.start();
        const request = transport.current;
        bus.stop();
        assert.equal(request.aborted, true);
        await timers.advance(600_000);
        assert.equal(transport.current, null);
        assert.deepEqual(received, []);
        assert.equal(bus.longpolling_connection.state, STATES.STOPPED);
    });
});
