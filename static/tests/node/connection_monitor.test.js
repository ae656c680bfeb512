import assert from "node:assert/strict";
import {beforeEach, describe, test} from "node:test";

import {ConnectionMonitor, STATES} from "../../src/js/connection_monitor.js";
import {FakeTimers, settle} from "./fakes.js";

describe("ConnectionMonitor", () => {
    let timers = null;
    let pings = 0;
    let monitor = null;
    let pingOutcome = null;
    let changes = null;

    beforeEach(() => {
        timers = new FakeTimers();
        pings = 0;
        pingOutcome = () => Promise.resolve(1);
        monitor = new ConnectionMonitor({
            ping: () => {
                pings++;
                return pingOutcome();
            },
            maxSilence: 60,
            pongTimeout: 10,
            timers,
        });
        changes = [];
        monitor.onChange((m) => changes.push([m.state, m.pinging]));
    });

    test("is stopped until started, and sends nothing", async () => {
        assert.equal(monitor.state, STATES.STOPPED);
        assert.equal(monitor.is_online, false);
        await timers.advance(600_000);
        assert.equal(pings, 0);
        assert.equal(await monitor.send_ping(), false);
        assert.equal(pings, 0);
    });

    test("start: waiting, with a PING; the PONG makes it online", async () => {
        monitor.start();
        await settle();
        assert.equal(monitor.state, STATES.WAITING);
        assert.equal(monitor.pinging, true);
        assert.equal(pings, 1);
        monitor.onNotification();
        assert.equal(monitor.state, STATES.ONLINE);
        assert.equal(monitor.is_online, true);
        assert.equal(monitor.pinging, false);
    });

    test("no PONG within the pong timeout: offline", async () => {
        monitor.start();
        await timers.advance(9_999);
        assert.equal(monitor.state, STATES.WAITING);
        await timers.advance(1);
        assert.equal(monitor.state, STATES.OFFLINE);
        assert.equal(monitor.pinging, false);
    });

    test("a PING that cannot reach the server: offline at once", async () => {
        pingOutcome = () => Promise.reject(new Error("network"));
        const answered = monitor.send_ping();
        monitor.start();
        const result = await monitor.send_ping();
        assert.equal(await answered, false);
        assert.equal(result, false);
        assert.equal(monitor.state, STATES.OFFLINE);
    });

    test("silence: a PING after maxSilence, none before", async () => {
        monitor.start();
        monitor.onNotification();
        await timers.advance(59_999);
        assert.equal(pings, 1);
        await timers.advance(1);
        assert.equal(pings, 2);
        assert.equal(monitor.pinging, true);
        assert.equal(monitor.state, STATES.ONLINE);
        monitor.onNotification();
        assert.equal(monitor.pinging, false);
    });

    test("any notification resets the silence timer", async () => {
        monitor.start();
        monitor.onNotification();
        for (let i = 0; i < 5; i++) {
            await timers.advance(50_000);
            monitor.onNotification();
        }
        assert.equal(pings, 1);
    });

    test("offline never pings in a loop: once per maxSilence", async () => {
        monitor.start();
        // No PONG ever comes: 10 minutes.
        await timers.advance(600_000);
        // First PING at 0 s, then one every 60 + 10 s.
        assert.equal(pings, 1 + Math.floor(600 / 70));
        assert.equal(monitor.state, STATES.OFFLINE);
    });

    test("only one PING at a time, whoever asks", async () => {
        monitor.start();
        const first = monitor.send_ping();
        const second = monitor.send_ping();
        monitor.onWake();
        assert.equal(first, second);
        await settle();
        assert.equal(pings, 1);
        monitor.onNotification();
        assert.equal(await first, true);
    });

    test("poll failure: offline; reconnecting: waiting with a PING", async () => {
        monitor.start();
        monitor.onNotification();
        monitor.onPollFailed();
        assert.equal(monitor.state, STATES.OFFLINE);
        monitor.onReconnecting();
        await settle();
        assert.equal(monitor.state, STATES.WAITING);
        assert.equal(pings, 2);
        monitor.onNotification();
        assert.equal(monitor.state, STATES.ONLINE);
        monitor.onReconnecting();
        assert.equal(pings, 2, "reconnecting only matters when offline");
    });

    test("wake: PING only when silent for long or not online", async () => {
        monitor.start();
        monitor.onNotification();
        await timers.advance(30_000);
        monitor.onWake();
        assert.equal(pings, 1, "heard from 30 s ago: no PING");
        monitor.onPollFailed();
        monitor.onWake();
        await settle();
        assert.equal(pings, 2, "offline: PING");
    });

    test("stop: hidden again, timers cleared, pending PING resolved", async () => {
        monitor.start();
        const answer = monitor.send_ping();
        monitor.stop();
        assert.equal(await answer, false);
        assert.equal(monitor.state, STATES.STOPPED);
        assert.deepEqual(timers.delays(), []);
        monitor.onNotification();
        monitor.onPollFailed();
        assert.equal(monitor.state, STATES.STOPPED);
    });

    test("listeners see each state and the pinging flag", async () => {
        monitor.start();
        monitor.onNotification();
        assert.deepEqual(changes, [
            [STATES.WAITING, false],
            [STATES.WAITING, true],
            [STATES.ONLINE, false],
        ]);
    });

    test("refused: no PING by click, wake-up or silence, until a poll is issued again", async () => {
        monitor.start();
        monitor.onNotification();
        const pending = monitor.send_ping();
        monitor.onRefused("log in");
        assert.equal(await pending, false);
        assert.equal(monitor.state, STATES.REFUSED);
        assert.equal(monitor.reason, "log in");
        const before = pings;
        assert.equal(await monitor.send_ping(), false);
        monitor.onWake();
        await timers.advance(3_600_000);
        assert.equal(pings, before);
        assert.deepEqual(timers.delays(), []);
        monitor.onReconnecting();
        assert.equal(monitor.state, STATES.WAITING);
        assert.equal(monitor.reason, null);
        await settle();
        assert.equal(pings, before + 1);
    });

    test("a listener that throws does not stop the others", () => {
        const seen = [];
        monitor.onChange(() => {
            throw new Error("broken listener");
        });
        monitor.onChange((m) => seen.push(m.state));
        monitor.start();
        assert.deepEqual(seen.slice(0, 1), [STATES.WAITING]);
    });
});
