"""Real POS pages in headless Chromium (Playwright, the system's Chromium).

Skips with a clear message when the POS client of pos_longpolling (or
Playwright, or Chromium) is not there."""
import asyncio
import os
import shutil
import time

from . import env as henv
from .env import log
from .pollers import CLIENT
from .report import check_row

CLIENT_JS = os.path.join(henv.REPO, "static", "src", "js", "channel_bus.js")

INSTALL = """() => {
    const pos = window.posmodel;
    if (!pos || !pos.bus || typeof pos.bus.add_channel_callback !== 'function') {
        return 'no pos.bus.add_channel_callback';
    }
    if (window.__lp) { return 'ok'; }
    const lp = window.__lp = {got: [], gaps: [], states: [], seq: []};
    pos.bus.add_channel_callback('seq', (payload) => lp.seq.push(payload.seq));
    const conn = pos.bus.longpolling_connection;
    lp.states.push([Date.now(), conn.state]);
    if (typeof conn.onChange === 'function') {
        conn.onChange((c) => lp.states.push([Date.now(), c.state]));
    }
    pos.bus.add_channel_callback('harness', (payload) => lp.got.push([Date.now(), payload]));
    if (typeof pos.bus.add_gap_callback === 'function') {
        pos.bus.add_gap_callback((info) => lp.gaps.push([Date.now(), info]));
        lp.gapApi = true;
    }
    return 'ok';
}"""

STATUS = """() => {
    const pos = window.posmodel, lp = window.__lp || {};
    const icons = [...document.querySelectorAll('.js_poll_connected')].map((e) => e.className);
    return {online: !!(pos && pos.bus && pos.bus.longpolling_connection.is_online),
            state: pos && pos.bus && pos.bus.longpolling_connection.state,
            icons, states: lp.states || [], gaps: lp.gaps || [], got: lp.got || [], gapApi: !!lp.gapApi,
            seq: lp.seq || []};
}"""


def chromium_path():
    for p in (
        os.environ.get("LP_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if p and os.path.exists(p):
            return p
    return None


class Browser:
    def __init__(self, n_pages=2, pong_timeout=CLIENT["pong_timeout"]):
        self.n_pages = n_pages
        self.pong_timeout = pong_timeout
        self.available = False
        self.why_not = ""
        self.pages = []
        self.pw = self.browser = None
        if not os.path.exists(CLIENT_JS):
            self.why_not = "SKIP: the POS client of pos_longpolling (static/src/js/channel_bus.js) is not there yet"
            return
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            self.why_not = "SKIP: playwright is not installed (pip install -r harness/requirements.txt)"
            return
        if not chromium_path():
            self.why_not = "SKIP: no Chromium found (set LP_CHROMIUM)"
            return
        self.available = True

    async def open(self, base_url, st, urls=None):
        """Open the pages at `base_url`, or page i at urls[i] (one server
        behind several proxies: the session cookie is the host's, for
        every port)."""
        if not self.available:
            return
        from playwright.async_api import async_playwright

        self.st, self.base_url = st, base_url
        self.pw = await async_playwright().start()
        self.browser = await self.pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        ctx = self.ctx = await self.browser.new_context(
            viewport={"width": 1280, "height": 800}
        )
        await ctx.add_cookies(
            [{"name": "session_id", "value": st.cookie, "url": base_url}]
        )
        self.console_errors = []
        self.configs = st.ids[-self.n_pages :]  # far from the pollers' POSes
        for i, cid in enumerate(self.configs):
            page = await ctx.new_page()
            page.on("pageerror", lambda e: self.console_errors.append(str(e)[:300]))
            t0 = time.time()
            url = urls[i] if urls and i < len(urls) else base_url
            await page.goto("%s/pos/ui?config_id=%d" % (url, cid), timeout=180000)
            try:
                await page.wait_for_function(
                    "() => window.posmodel && window.posmodel.bus && "
                    "window.posmodel.bus.started",
                    timeout=180000,
                )
            except Exception as e:  # noqa: BLE001
                shot = os.path.join(st.ctx.wd.path, "pos_%d.png" % cid)
                await page.screenshot(path=shot)
                self.available = False
                self.why_not = (
                    "FAIL: POS %d did not start its bus in 180 s (%s; screenshot %s)"
                    % (cid, str(e)[:200], shot)
                )
                return
            res = await page.evaluate(INSTALL)
            if res != "ok":
                self.available = False
                self.why_not = "SKIP: the POS page has %s" % res
                return
            self.pages.append(page)
            self.t_loaded = time.time()
            log("POS %d loaded in %.1f s" % (cid, time.time() - t0))

    async def relogin(self, cookie):
        """New session cookie: reload the pages (as a cashier logging in again)."""
        await self.ctx.add_cookies(
            [{"name": "session_id", "value": cookie, "url": self.base_url}]
        )
        for page in self.pages:
            await page.reload(timeout=180000)
            await page.wait_for_function(
                "() => window.posmodel && window.posmodel.bus && "
                "window.posmodel.bus.started",
                timeout=180000,
            )
            await page.evaluate(INSTALL)

    async def statuses(self):
        return [await p.evaluate(STATUS) for p in self.pages]

    async def wait_green(
        self, since=None, timeout=70.0, what="after recovery", pages=None
    ):
        """Wait until every page (or pages[i], by index) is online with a
        green icon. Time to green is counted from `since` (end of the
        fault) to the page's last switch to 'online'."""
        since = since or time.time()
        deadline = time.time() + timeout
        which = list(range(len(self.pages))) if pages is None else list(pages)
        configs = [self.configs[i] for i in which]
        while True:
            sts = [s for i, s in enumerate(await self.statuses()) if i in which]
            green = [
                s["online"] and any("oe_green" in c for c in s["icons"]) for s in sts
            ]
            if all(green) or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        times = []
        for s in sts:
            t_on = None
            for t, state in s["states"]:
                if state == "online":
                    if t_on is None:
                        t_on = t
                else:
                    t_on = None
            times.append(None if t_on is None else max(0.0, t_on / 1000.0 - since))
        ok = all(green) and all(t is not None and t <= self.pong_timeout for t in times)
        detail = "; ".join(
            "POS %d %s, green %s s %s, icons %s"
            % (
                cid,
                s["state"],
                "-" if t is None else "%.1f" % t,
                what,
                ",".join(
                    c.replace("js_poll_connected", "").strip() for c in s["icons"]
                ),
            )
            for cid, s, t in zip(configs, sts, times)
        )
        return {"ok": ok, "detail": detail, "times": times}

    async def reset_gap(self):
        for p in self.pages:
            await p.evaluate("() => { window.__lp.gaps = []; }")

    async def gaps(self):
        """Per page: (config id, [gap infos]); None without add_gap_callback."""
        sts = await self.statuses()
        if not all(s["gapApi"] for s in sts):
            return None
        return [(cid, [g[1] for g in s["gaps"]]) for cid, s in zip(self.configs, sts)]

    async def gap_fired(self, timeout=60.0, pages=None):
        """Did the gap callback fire on every page (or on pages[i], by index)?"""
        deadline = time.time() + timeout
        which = list(range(len(self.pages))) if pages is None else list(pages)
        while True:
            sts = [s for i, s in enumerate(await self.statuses()) if i in which]
            if not all(s["gapApi"] for s in sts):
                return {"ok": None, "detail": "SKIP: pos.bus has no add_gap_callback"}
            fired = [len(s["gaps"]) > 0 for s in sts]
            if all(fired) or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        return {
            "ok": all(fired),
            "detail": "; ".join(
                "POS %d: %s" % (cid, (s["gaps"][0][1] if s["gaps"] else "no gap"))
                for cid, s in zip([self.configs[i] for i in which], sts)
            ),
        }

    async def delivery(self, side, n=5):
        """Send n messages to each page's POS on 'harness': exactly once, in order?"""
        before = [len(s["got"]) for s in await self.statuses()]
        for k in range(n):
            for cid in self.configs:
                await asyncio.to_thread(
                    side.call,
                    "stream",
                    60,
                    kind="addon",
                    targets=[cid],
                    rate=0,
                    count=1,
                    prefix="b%d_%d_" % (cid, k),
                    channel="harness",
                )
        deadline = time.time() + 30
        while time.time() < deadline:
            sts = await self.statuses()
            if all(len(s["got"]) - b >= n for s, b in zip(sts, before)):
                break
            await asyncio.sleep(0.3)
        out = []
        for cid, s, b in zip(self.configs, sts, before):
            mids = [g[1]["mid"] for g in s["got"][b:]]
            want = ["b%d_%d_0" % (cid, k) for k in range(n)]
            lat = [g[0] / 1000.0 - g[1]["t"] for g in s["got"][b:]]
            out.append((cid, mids == want, mids, lat))
        return out

    async def seq_check(self, start, count):
        """Per page: did it get seq start..start+count-1 exactly once, in order?"""
        out = []
        for cid, s in zip(self.configs, await self.statuses()):
            seqs = [x for x in s["seq"] if start <= x < start + count]
            out.append(
                (
                    cid,
                    seqs == list(range(start, start + count)),
                    len(seqs),
                    len(set(seqs)),
                )
            )
        return out

    async def close(self):
        browser, pw = self.browser, self.pw
        self.browser = self.pw = None
        try:
            if browser:
                await browser.close()
        finally:
            if pw:
                await pw.stop()


async def after_loading(browser, side, green="real POS turns green after loading"):
    """The checks of freshly loaded pages: green, then 5 messages each
    exactly once, in order."""
    g = await browser.wait_green(
        since=browser.t_loaded, timeout=browser.pong_timeout + 20, what="after loading"
    )
    d = await browser.delivery(side)
    return [
        check_row(green, all(t is not None for t in g["times"]), g["detail"]),
        check_row(
            "real POS gets messages exactly once, in order",
            all(ok for _, ok, _, _ in d),
            "; ".join(
                "POS %d: %s, latency %s ms"
                % (
                    cid,
                    "ok" if ok else mids,
                    ",".join("%.0f" % (x * 1000) for x in lat),
                )
                for cid, ok, mids, lat in d
            ),
        ),
    ]


async def standalone(ctx, st, browser):
    """Chromium checks without faults: POS loads, turns green, gets messages."""
    if not browser.available:
        return [check_row("real POS in Chromium", None, browser.why_not)]
    try:
        await browser.open(st.server.url, st)
        if not browser.available:
            failed = browser.why_not.startswith("FAIL")
            return [
                check_row(
                    "real POS in Chromium", False if failed else None, browser.why_not
                )
            ]
        rows = await after_loading(browser, st.side, green="real POS turns green")
        if browser.console_errors:
            rows.append(
                check_row(
                    "no page errors", False, " | ".join(browser.console_errors[:3])
                )
            )
        return rows
    finally:
        await browser.close()
