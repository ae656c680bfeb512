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

    test("start: waiting, no PING; the first contact makes it online", async () => {
        monitor.start();
        await settle();
        assert.equal(monitor.state, STATES.WAITING);
        assert.equal(monitor.pinging, false);
        assert.equal(pings, 0);
        await timers.advance(3_000);
        monitor.onContact();
        assert.equal(monitor.state, STATES.ONLINE);
        assert.equal(monitor.is_online, true);
        assert.equal(pings, 0);
        // The start timeout is gone: still online after it.
        await timers.advance(30_000);
        assert.equal(monitor.state, STATES.ONLINE);
    });

    test("no contact within the pong timeout of start: offline", async () => {
        monitor.start();
        await timers.advance(9_999);
        assert.equal(monitor.state, STATES.WAITING);
        await timers.advance(1);
        assert.equal(monitor.state, STATES.OFFLINE);
        assert.equal(monitor.pinging, false);
        assert.equal(pings, 0);
        // The silence timer PINGs later; a contact turns it green.
        await timers.advance(49_999);
        assert.equal(pings, 0);
        await timers.advance(1);
        assert.equal(pings, 1);
        monitor.onContact();
        assert.equal(monitor.state, STATES.ONLINE);
    });

    test("an empty answer (contact) re-arms the silence timer, with no PING", async () => {
        monitor.start();
        for (let i = 0; i < 9; i++) {
            await timers.advance(55_000);
            monitor.onContact();
        }
        assert.equal(pings, 0);
        assert.equal(monitor.state, STATES.ONLINE);
        await timers.advance(59_999);
        assert.equal(pings, 0);
        await timers.advance(1);
        assert.equal(pings, 1, "silence: no answer for maxSilence s");
        // A contact is no PONG: the PING stays outstanding.
        monitor.onContact();
        assert.equal(monitor.pinging, true);
        monitor.onNotification();
        assert.equal(monitor.pinging, false);
    });

    test("idle: one PING per checkInterval without a notification", async () => {
        monitor.start();
        monitor.onContact();
        const pingAt = [];
        const start = timers.now();
        let seen = 0;
        // 30 minutes of empty answers every 55 s, PONGs answered at once.
        while (timers.now() - start < 30 * 60_000 + 30_000) {
            await timers.advance(5_000);
            if ((timers.now() - start) % 55_000 < 5_000) {
                monitor.onContact();
            }
            if (pings > seen) {
                seen = pings;
                pingAt.push(timers.now() - start);
                monitor.onNotification();
            }
        }
        assert.deepEqual(pingAt, [600_000, 1_200_000, 1_800_000]);
        assert.equal(monitor.state, STATES.ONLINE);
    });

    test("a message resets the check timer", async () => {
        monitor.start();
        // Empty answers every 50 s, a message every 500 s: no PING.
        for (let t = 50; t <= 2_000; t += 50) {
            await timers.advance(50_000);
            if (t % 500 === 0) {
                monitor.onNotification();
            } else {
                monitor.onContact();
            }
        }
        assert.equal(pings, 0);
        // Then empty answers only: a PING 600 s after the last message.
        for (let t = 50; t < 600; t += 50) {
            await timers.advance(50_000);
            monitor.onContact();
        }
        await timers.advance(49_999);
        assert.equal(pings, 0);
        await timers.advance(1);
        assert.equal(pings, 1);
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
        assert.equal(pings, 0);
        await timers.advance(1);
        assert.equal(pings, 1);
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
        assert.equal(pings, 0);
    });

    test("offline never pings in a loop: once per maxSilence", async () => {
        monitor.start();
        // No answer ever comes: 10 minutes. First PING at 60 s (silence),
        // then one maxSilence s after each failed one: every 60 + 10 s.
        await timers.advance(600_000);
        assert.equal(pings, 1 + Math.floor((600 - 60) / 70));
        assert.equal(monitor.state, STATES.OFFLINE);
    });

    test("failed PING: offline, no timer PING for maxSilence s, contacts or not", async () => {
        monitor.start();
        monitor.onNotification();
        const start = timers.now();
        const pingAt = [];
        let seen = 0;
        // Polls come back empty every 55 s, PONGs never (NOTIFY is broken).
        for (let t = 1; t <= 900; t++) {
            await timers.advance(1_000);
            if (t % 55 === 0) {
                monitor.onContact();
            }
            if (pings > seen) {
                seen = pings;
                pingAt.push((timers.now() - start) / 1000);
            }
            if (t === 611) {
                assert.equal(monitor.state, STATES.OFFLINE, "PONG missing: red");
            }
        }
        // The first 600 s after the notification, then maxSilence s after
        // each failure (pongTimeout s after its PING).
        assert.deepEqual(pingAt, [600, 670, 740, 810, 880]);
        // An empty answer is contact: green again.
        monitor.onContact();
        assert.equal(monitor.state, STATES.ONLINE);
    });

    test("failed PING: a silence timer armed before it does not PING sooner", async () => {
        monitor.start();
        monitor.onNotification();
        for (let t = 50; t <= 550; t += 50) {
            await timers.advance(50_000);
            monitor.onContact();
        }
        await timers.advance(45_000);
        monitor.onContact();
        // 600 s: the check PING; 610 s: no PONG; then no answer at all.
        await timers.advance(5_000);
        assert.equal(pings, 1);
        await timers.advance(10_000);
        assert.equal(monitor.state, STATES.OFFLINE);
        await timers.advance(59_999);
        assert.equal(pings, 1, "not at 655 s, 60 s after the last contact");
        await timers.advance(1);
        assert.equal(pings, 2);
    });

    test("a late PONG: offline, then online, next check a full interval later", async () => {
        monitor.start();
        monitor.onNotification();
        for (let t = 50; t <= 600; t += 50) {
            await timers.advance(50_000);
            monitor.onContact();
        }
        assert.equal(pings, 1, "the check at 600 s");
        await timers.advance(10_000);
        assert.equal(monitor.state, STATES.OFFLINE);
        // The poll brings the PONG when it ends on its own (no NOTIFY).
        await timers.advance(30_000);
        monitor.onNotification();
        assert.equal(monitor.state, STATES.ONLINE);
        for (let t = 50; t <= 550; t += 50) {
            await timers.advance(50_000);
            monitor.onContact();
        }
        await timers.advance(49_999);
        assert.equal(pings, 1, "none before 600 s after the PONG");
        await timers.advance(1);
        assert.equal(pings, 2);
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
        assert.equal(pings, 1);
        // The peek answer: contact, the PING still waits for its PONG.
        monitor.onContact();
        assert.equal(monitor.state, STATES.ONLINE);
        assert.equal(monitor.pinging, true);
        monitor.onNotification();
        assert.equal(monitor.pinging, false);
        monitor.onReconnecting();
        assert.equal(pings, 1, "reconnecting only matters when offline");
    });

    test("wake: PING only without a notification in the last maxSilence s", async () => {
        monitor.start();
        monitor.onWake();
        await settle();
        assert.equal(pings, 1, "never heard a notification: PING");
        monitor.onNotification();
        await timers.advance(59_999);
        monitor.onContact();
        monitor.onWake();
        await settle();
        assert.equal(pings, 1, "a notification 60 s ago: no PING");
        await timers.advance(1);
        monitor.onWake();
        await settle();
        assert.equal(pings, 2, "contacts only, for maxSilence s: PING");
    });

    test("wake after a failed PING: a PING at once, online at its PONG", async () => {
        monitor.start();
        monitor.onNotification();
        await timers.advance(5_000);
        pingOutcome = () => Promise.reject(new Error("network down"));
        monitor.send_ping();
        await settle();
        assert.equal(monitor.state, STATES.OFFLINE);
        // The network is back 5 s later, a notification 10 s ago.
        await timers.advance(5_000);
        pingOutcome = () => Promise.resolve(1);
        monitor.onWake();
        await settle();
        assert.equal(pings, 2, "re-checks at once, not maxSilence s later");
        await timers.advance(300);
        monitor.onNotification();
        assert.equal(monitor.state, STATES.ONLINE);
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
        monitor.onContact();
        monitor.send_ping();
        monitor.onNotification();
        assert.deepEqual(changes, [
            [STATES.WAITING, false],
            [STATES.ONLINE, false],
            [STATES.ONLINE, true],
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
