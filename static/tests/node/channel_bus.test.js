import assert from "node:assert/strict";
import {beforeEach, describe, test} from "node:test";

import {ChannelBus, PING_CHANNEL} from "../../src/js/channel_bus.js";
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

    test("gap signal after a silence longer than the server keeps messages", async () => {
        const gaps = [];
        bus.add_gap_callback((info) => gaps.push(info.silentFor));
        bus.start();
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        // A short outage (30 s): no gap.
        await transport.fail();
        await timers.advance(30_000);
        await transport.answer([]);
        assert.deepEqual(gaps, []);
        // A long one (over 100 s).
        await transport.fail();
        await timers.advance(150_000);
        await transport.answer([[2, "x", 1]]);
        assert.equal(gaps.length, 1);
        assert.ok(gaps[0] > 100_000);
    });

    test("gap signal after a reload that took longer than the retention", async () => {
        const storage = new MemoryStorage();
        bus = makeBus({timers, transport, storage});
        bus.start();
        await transport.answer([[5, "x", 1]]);
        bus.stop();
        await timers.advance(300_000);
        const t2 = new FakeTransport();
        const gaps = [];
        const reloaded = makeBus({timers, transport: t2, storage});
        reloaded.add_gap_callback(() => gaps.push("gap"));
        reloaded.start();
        await t2.answer([]);
        assert.deepEqual(gaps, ["gap"]);
        // A fresh POS (nothing stored) has no gap to report.
        const fresh = makeBus({timers, transport: new FakeTransport()});
        fresh.add_gap_callback(() => gaps.push("fresh"));
        fresh.start();
        await fresh.transport.answer([]);
        assert.deepEqual(gaps, ["gap"]);
    });

    test("a throwing gap callback is reported like a channel callback", async () => {
        bus.add_gap_callback(() => {
            throw new Error("reload failed");
        });
        bus.lastContactAt = timers.now() - 200_000;
        bus.start();
        await transport.answer([]);
        assert.deepEqual(errors, [["reload failed", "gap", {silentFor: 200_000}]]);
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
