/**
 * A fake clock and a fake transport for ChannelBus and ConnectionMonitor:
 * time moves only when a test calls `advance`, requests answer only when a
 * test says so.
 */

/** Lets every pending promise callback run. */
export async function settle() {
    for (let i = 0; i < 20; i++) {
        await Promise.resolve();
    }
}

export class FakeTimers {
    constructor() {
        this.time = 1_000_000;
        this.nextId = 1;
        this.pending = new Map();
    }
    setTimeout(fn, ms) {
        const id = this.nextId++;
        this.pending.set(id, {fn, at: this.time + ms});
        return id;
    }
    clearTimeout(id) {
        this.pending.delete(id);
    }
    now() {
        return this.time;
    }
    /** Moves time forward by `ms`, firing due timers in order. */
    async advance(ms) {
        const end = this.time + ms;
        for (;;) {
            await settle();
            const due = [...this.pending.entries()]
                .filter(([, timer]) => timer.at <= end)
                .sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
            if (!due.length) {
                break;
            }
            const [id, timer] = due[0];
            this.pending.delete(id);
            this.time = timer.at;
            timer.fn();
        }
        this.time = end;
        await settle();
    }
    /** Delays (from now) of the timers still pending. */
    delays() {
        return [...this.pending.values()].map((timer) => timer.at - this.time);
    }
}

function deferred() {
    let resolve = null;
    let reject = null;
    const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
    });
    return {promise, resolve, reject};
}

export class FakeTransport {
    constructor() {
        this.polls = [];
        this.pings = [];
    }
    poll(params) {
        const request = {params, ...deferred(), aborted: false};
        request.abort = () => {
            if (!request.aborted) {
                request.aborted = true;
                const error = new Error("aborted");
                error.aborted = true;
                request.reject(error);
            }
        };
        this.polls.push(request);
        return {promise: request.promise, abort: request.abort};
    }
    ping(settings) {
        const request = {settings, ...deferred()};
        this.pings.push(request);
        return request.promise;
    }
    /** The poll in flight (the last one issued, not answered, not aborted). */
    get current() {
        const last = this.polls[this.polls.length - 1];
        return last && !last.done && !last.aborted ? last : null;
    }
    /** Answers the poll in flight with notifications [[id, type, payload]]. */
    async answer(notifications) {
        const request = this.current;
        if (!request) {
            throw new Error("no poll in flight");
        }
        request.done = true;
        request.resolve(
            notifications.map(([id, type, payload]) => ({id, message: {type, payload}}))
        );
        await settle();
    }
    async fail(error = new Error("XmlHttpRequestError")) {
        const request = this.current;
        if (!request) {
            throw new Error("no poll in flight");
        }
        request.done = true;
        request.reject(error);
        await settle();
    }
}

export class MemoryStorage {
    constructor() {
        this.items = new Map();
    }
    getItem(key) {
        return this.items.has(key) ? this.items.get(key) : null;
    }
    setItem(key, value) {
        this.items.set(key, String(value));
    }
}
