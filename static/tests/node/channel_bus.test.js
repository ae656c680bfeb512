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

    // Answers the poll in flight with `answer` as it is.
    const answerRaw = async (answer) => {
        const request = transport.current;
        request.done = true;
        request.resolve(answer);
        await settle();
    };

    test("polls the upstream channel names of its POS, ping channel included", async () => {
        bus.add_channel_callback("pos_partner_sync", () => undefined);
        bus.start();
        const channels = [
            '["db","pos.longpolling","7"]',
            '["db","pos_partner_sync","7"]',
        ];
        assert.deepEqual(transport.current.params, {
            channels,
            last: 0,
            options: {peek: true},
        });
        await answerRaw({notifications: [], channels});
        assert.deepEqual(transport.current.params, {channels, last: 0, options: {}});
        await transport.answer([]);
        assert.deepEqual(transport.current.params.options, {});
    });

    test("a screen id of the settings goes with every poll and PING", async () => {
        bus = new ChannelBus({
            transport,
            settings: () => ({...SETTINGS, screen: "tab1"}),
            timers,
            random: () => 0.5,
        });
        bus.start();
        assert.deepEqual(transport.current.params.options, {
            peek: true,
            screen: "tab1",
        });
        await answerRaw({notifications: [], channels: []});
        assert.deepEqual(transport.current.params.options, {screen: "tab1"});
        bus.longpolling_connection.send_ping();
        await settle();
        assert.equal(transport.pings.at(-1).settings.screen, "tab1");
    });

    test("start sends no PING: the first poll is a peek, its answer the first contact", async () => {
        bus.start();
        await settle();
        const connection = bus.longpolling_connection;
        assert.equal(transport.pings.length, 0);
        assert.equal(connection.state, STATES.WAITING);
        assert.deepEqual(transport.current.params.options, {peek: true});
        await answerRaw({notifications: [], channels: []});
        assert.equal(connection.state, STATES.ONLINE);
        assert.deepEqual(transport.current.params.options, {});
        await timers.advance(54_000);
        await transport.answer([]);
        await timers.advance(54_000);
        assert.equal(transport.pings.length, 0);
    });

    test("a click PINGs the POS's server with its settings", async () => {
        bus.start();
        await answerRaw({notifications: [], channels: []});
        const answered = bus.check();
        await settle();
        assert.deepEqual(
            transport.pings.map((p) => [p.settings.posId, p.settings.dbName]),
            [[7, "db"]]
        );
        assert.equal(bus.longpolling_connection.pinging, true);
        transport.pings[0].resolve(1);
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        assert.equal(await answered, true);
        assert.equal(bus.longpolling_connection.pinging, false);
    });

    test("a peek answer is contact and its notifications are dispatched like a list's", async () => {
        const storage = new MemoryStorage();
        storage.setItem("k", JSON.stringify({last: 4, at: timers.now() - 1000}));
        const gaps = [];
        bus = makeBus({timers, transport, storage});
        bus.add_channel_callback("a", (data) => received.push(data));
        bus.add_gap_callback((info) => gaps.push(info));
        bus.start();
        assert.deepEqual(transport.current.params.options, {peek: true});
        assert.equal(transport.current.params.last, 4);
        await answerRaw({
            notifications: [
                {id: 8, message: {type: GAP_TYPE, payload: {last: 4, newest: 8}}},
                {id: 3, message: {type: "a", payload: "old"}},
                {id: 6, message: {type: "a", payload: "kept"}},
                {id: 9, message: {type: "a", payload: "new"}},
            ],
            channels: ['["db","a","7"]'],
        });
        assert.deepEqual(received, ["kept", "new"]);
        assert.deepEqual(
            gaps.map(({lastId, deletedId}) => [lastId, deletedId]),
            [[4, 8]]
        );
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
        assert.deepEqual(transport.current.params, {
            channels: ['["db","pos.longpolling","7"]', '["db","a","7"]'],
            last: 9,
            options: {},
        });
        assert.equal(JSON.parse(storage.getItem("k")).last, 9);
    });

    test("an empty answer turns waiting into online and re-arms the silence timer", async () => {
        bus.start();
        await answerRaw({notifications: [], channels: []});
        await timers.advance(30_000);
        // The connection is watched: a new (silent) period starts.
        await transport.answer([]);
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
        await timers.advance(59_999);
        assert.equal(transport.pings.length, 0);
        // No answer for maxSilence s (the poll is stuck): PING.
        await timers.advance(1);
        assert.equal(transport.pings.length, 1);
    });

    test("no answer within the pong timeout of start: offline, then PING on silence", async () => {
        bus.start();
        await timers.advance(9_999);
        assert.equal(bus.longpolling_connection.state, STATES.WAITING);
        await timers.advance(1);
        assert.equal(bus.longpolling_connection.state, STATES.OFFLINE);
        assert.equal(transport.pings.length, 0);
        await timers.advance(50_000);
        assert.equal(transport.pings.length, 1);
        // The late peek answer is contact: green.
        await answerRaw({notifications: [], channels: []});
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
    });

    test("idle for 30 minutes: polls every 55 s, one PING per 10 minutes", async () => {
        // A server that answers a POS poll after 55 s, or at once when it
        // is a peek or a PONG is written.
        const issuedAt = new Map();
        const poll = transport.poll.bind(transport);
        transport.poll = (params) => {
            const request = poll(params);
            issuedAt.set(transport.polls.at(-1), timers.now());
            return request;
        };
        bus.start();
        const start = timers.now();
        let pinged = 0;
        const pingAt = [];
        while (timers.now() - start < 30 * 60_000 + 30_000) {
            const request = transport.current;
            if (transport.pings.length > pinged) {
                pinged = transport.pings.length;
                pingAt.push((timers.now() - start) / 1000);
                transport.pings.at(-1).resolve(1);
                await transport.answer([[pinged, PING_CHANNEL, "PONG"]]);
            } else if (request.params.options.peek) {
                await answerRaw({notifications: [], channels: []});
            } else if (timers.now() - issuedAt.get(request) >= 55_000) {
                await transport.answer([]);
            } else {
                await timers.advance(1_000);
            }
            assert.notEqual(bus.longpolling_connection.state, STATES.OFFLINE);
        }
        assert.deepEqual(pingAt, [600, 1200, 1800]);
        // One peek at start, 33 idle polls, 3 after the PONGs, 3 PINGs: 40
        // requests in 30.5 min, 1.3 a minute; 1.1 + 0.2 per 10 min idle.
        const requests = transport.polls.length + transport.pings.length;
        assert.equal(transport.polls.filter((r) => r.params.options.peek).length, 1);
        assert.ok(requests / 30.5 <= 1.31, `${requests} requests`);
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

    // Node's unhandledRejection: what Odoo would show as a traceback popup.
    const withUnhandled = async (run) => {
        const unhandled = [];
        const onUnhandled = (reason) => unhandled.push(reason);
        process.on("unhandledRejection", onUnhandled);
        try {
            await run();
            await new Promise((resolve) => setImmediate(resolve));
        } finally {
            process.off("unhandledRejection", onUnhandled);
        }
        return unhandled;
    };

    for (const [kind, failing] of [
        [
            "throws",
            (data) => {
                throw new Error(`failed ${data}`);
            },
        ],
        [
            "returns a promise that rejects",
            async (data) => {
                await Promise.resolve();
                throw new Error(`failed ${data}`);
            },
        ],
    ]) {
        test(`a callback that ${kind} is reported and the others still run`, async () => {
            bus.add_channel_callback("bad", failing);
            bus.add_channel_callback("good", (data) => received.push(data));
            bus.start();
            const unhandled = await withUnhandled(async () => {
                await transport.answer([
                    [1, "bad", 1],
                    [2, "good", 2],
                ]);
                await transport.answer([[3, "good", 3]]);
            });
            assert.deepEqual(errors, [["failed 1", "bad", 1]]);
            assert.deepEqual(received, [2, 3]);
            assert.deepEqual(unhandled, []);
            assert.ok(transport.current, "still polling");
        });
    }

    test("malformed answers are no contact", async () => {
        bus.start();
        for (const answer of [null, {notifications: []}, {channels: []}, "[]"]) {
            await answerRaw(answer);
            assert.equal(bus.longpolling_connection.state, STATES.WAITING);
        }
        await timers.advance(10_000);
        assert.equal(bus.longpolling_connection.state, STATES.OFFLINE);
        await answerRaw([]);
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
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
        assert.deepEqual(transport.current.params.options, {peek: true});
        assert.equal(bus.longpolling_connection.state, STATES.WAITING);
        assert.equal(transport.pings.length, 1, "a PING checks the way back");
        await transport.fail();
        assert.ok(timers.delays().includes(3000), "second delay: 4 s * 0.75");
    });

    test("after a failed poll: the next poll is a peek, one PING, then quiet", async () => {
        bus.start();
        await answerRaw({notifications: [], channels: []});
        await transport.answer([]);
        await transport.fail();
        await timers.advance(1500);
        assert.deepEqual(transport.current.params.options, {peek: true});
        assert.equal(transport.pings.length, 1);
        await answerRaw({notifications: [], channels: []});
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
        assert.deepEqual(transport.current.params.options, {}, "then no peek");
        transport.pings[0].resolve(1);
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        for (let i = 0; i < 5; i++) {
            await timers.advance(55_000);
            await transport.answer([]);
        }
        assert.equal(transport.pings.length, 1, "one PING for the reconnection");
        assert.equal(transport.polls.filter((r) => r.params.options.peek).length, 2);
    });

    test("wake: no PING within maxSilence of a notification, a PING after", async () => {
        bus.start();
        await transport.answer([[1, PING_CHANNEL, "x"]]);
        await timers.advance(50_000);
        await transport.answer([]);
        bus.wake();
        await settle();
        assert.equal(transport.pings.length, 0);
        await timers.advance(10_000);
        bus.wake();
        await settle();
        assert.equal(transport.pings.length, 1, "only empty answers for 60 s");
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

    test("online again after a failed PING: a peek poll and a PING at once", async () => {
        bus.start();
        await transport.answer([[1, PING_CHANNEL, "PONG"]]);
        const stuck = transport.current;
        // The network goes: the cashier's check fails, the poll hangs.
        bus.check();
        await settle();
        transport.pings[0].reject(new Error("XmlHttpRequestError"));
        await settle();
        assert.equal(bus.longpolling_connection.state, STATES.OFFLINE);
        // 5 s later the network is back (the `online` event).
        await timers.advance(5_000);
        bus.wake();
        await settle();
        assert.equal(stuck.aborted, true, "the poll that may be dead is replaced");
        assert.deepEqual(transport.current.params.options, {peek: true});
        assert.equal(transport.pings.length, 2, "a PING at once");
        await answerRaw({notifications: [], channels: []});
        assert.equal(bus.longpolling_connection.state, STATES.ONLINE);
        await transport.answer([[2, PING_CHANNEL, "PONG"]]);
        assert.equal(bus.longpolling_connection.pinging, false);
        assert.ok(timers.time - 1_000_000 < 10_000, "green within seconds");
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
            [9, GAP_TYPE, {last: 2, newest: 9}],
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
        await transport.answer([[20, GAP_TYPE, {last: 11, newest: 25}]]);
        assert.equal(gaps.length, 2);
        assert.equal(transport.current.params.last, 20);
    });

    test("a gap beyond the newest id the server answered does not move the last id", async () => {
        const gaps = [];
        bus.add_gap_callback((info) => gaps.push(info));
        bus.add_channel_callback("x", (data) => received.push(data));
        bus.start();
        await transport.answer([[3, "x", "a"]]);
        // A gap far beyond the bus's newest id: only up to the newest.
        await transport.answer([[2147483647, GAP_TYPE, {last: 3, newest: 40}]]);
        assert.deepEqual(
            gaps.map(({lastId, deletedId}) => [lastId, deletedId]),
            [[3, 40]]
        );
        assert.equal(transport.current.params.last, 40);
        // A gap that does not say the newest id moves nothing.
        await transport.answer([[900, GAP_TYPE, {last: 40}]]);
        await transport.answer([[950, GAP_TYPE, {last: 40, newest: "950"}]]);
        assert.equal(gaps.length, 1);
        assert.equal(transport.current.params.last, 40);
        // The messages after it still come.
        await transport.answer([[41, "x", "b"]]);
        assert.deepEqual(received, ["a", "b"]);
        assert.equal(transport.current.params.last, 41);
    });

    test("a throwing gap callback is reported like a channel callback", async () => {
        bus.add_gap_callback(() => {
            throw new Error("reload failed");
        });
        bus.start();
        await transport.answer([[5, GAP_TYPE, {last: 0, newest: 5}]]);
        assert.deepEqual(
            errors.map(([message, channel]) => [message, channel]),
            [["reload failed", "gap"]]
        );
        assert.ok(transport.current, "still polling");
    });

    test("a gap callback's rejected promise is reported like a throw", async () => {
        bus.add_gap_callback(() => Promise.reject(new Error("reload rejected")));
        bus.add_channel_callback("x", (data) => received.push(data));
        bus.start();
        const unhandled = await withUnhandled(() =>
            transport.answer([
                [5, GAP_TYPE, {last: 0, newest: 6}],
                [6, "x", "after"],
            ])
        );
        assert.deepEqual(
            errors.map(([message, channel]) => [message, channel]),
            [["reload rejected", "gap"]]
        );
        assert.deepEqual(received, ["after"]);
        assert.deepEqual(unhandled, []);
        assert.ok(transport.current, "still polling");
    });

    test("malformed answers neither stop polling nor deliver", async () => {
        bus.add_channel_callback("x", (data) => received.push(data));
        bus.start();
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
