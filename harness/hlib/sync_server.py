"""Sync-server part: a POS of the main server polls a second Odoo server
(its own database, another port: another origin) through
``pos.add_bus(key, url)``; the sync server relays messages with
``_send_to_channel_by_id(<main db>, pos_id, ...)``. Two modes:
``secret`` (``pos_longpolling.sync_secret`` on both servers) and
``allow_public`` (upstream's), each checked with a real POS page in
Chromium and an outsider polling the sync server for the POS's channels.
The sync server runs with workers behind nginx, configured as the README's
*Deployment* says, when nginx is there."""
import asyncio
import json
import secrets
import time

import aiohttp

from .env import log
from .nginx import Nginx, nginx_binary
from .report import check_row
from .stack import Stack, call
from .stats import pct, r1

SECRET_PARAM = "pos_longpolling.sync_secret"
PUBLIC_PARAM = "pos_longpolling.allow_public"
RELAY = "sync_relay"

ADD_BUS = """(url) => {
    const pos = window.posmodel;
    const lp = window.__lps = {relay: [], states: [], added: Date.now()};
    const bus = pos.add_bus('sync', url);
    bus.add_channel_callback('%s', (p) => lp.relay.push([Date.now(), p]));
    bus.longpolling_connection.onChange(
        (c) => lp.states.push([Date.now(), c.state, c.reason || '']));
    bus.start();
    return 'ok';
}""" % (
    RELAY
)

SYNC_STATUS = """() => {
    const pos = window.posmodel, lp = window.__lps;
    const connection = pos.get_bus('sync').longpolling_connection;
    const icon = document.querySelector('.js_poll_connected[data-bus="sync"]');
    return {state: connection.state, reason: connection.reason || '',
            icon: icon ? icon.className : '', title: icon ? icon.title : '',
            relay: lp.relay, states: lp.states, added: lp.added,
            credential: !!(pos.sync_credential && pos.sync_credential.token)};
}"""


def set_params(side, params):
    """Set system parameters and signal the change to the servers (their
    caches of parameters)."""
    code = "".join(
        "env['ir.config_parameter'].set_param(%r, %r)\n" % item
        for item in params.items()
    )
    code += "cr.commit()\nenv.registry.signal_changes()\n"
    return call(side, "exec", code=code)


async def relay(sync, main_db, pos_id, first, count, period=0.2):
    """The sync server's module relays `count` messages to the POS."""
    for seq in range(first, first + count):
        code = (
            "env['pos.config']._send_to_channel_by_id(%r, %d, %r, "
            "{'seq': %d, 't': time.time()})\n" % (main_db, pos_id, RELAY, seq)
        )
        await call(sync.side, "exec", code=code)
        await asyncio.sleep(period)


async def status(page):
    return await page.evaluate(SYNC_STATUS)


async def wait_for(page, test, timeout):
    deadline = time.time() + timeout
    while True:
        st = await status(page)
        if test(st) or time.time() > deadline:
            return st
        await asyncio.sleep(0.2)


def received(st, first, count):
    """(seqs in range, latencies ms) the page got."""
    seqs, lat = [], []
    for t, payload in st["relay"]:
        if first <= payload["seq"] < first + count:
            seqs.append(payload["seq"])
            lat.append(t - payload["t"] * 1000.0)
    return seqs, lat


async def delivery(page, sync, main_db, pos_id, first, count):
    await relay(sync, main_db, pos_id, first, count)
    st = await wait_for(
        page, lambda s: len(received(s, first, count)[0]) >= count, 30.0
    )
    seqs, lat = received(st, first, count)
    return seqs == list(range(first, first + count)), seqs, lat


async def outsider(sync_url, main_db, pos_id):
    """What someone with no session and no credential reads of the POS's
    channels on the sync server (relayed messages of the last 50 s), with
    a forged credential, and whether a PING of theirs is answered."""
    channels = [
        json.dumps([main_db, name, str(pos_id)], separators=(",", ":"))
        for name in (RELAY, "pos.longpolling")
    ]
    out = {}
    async with aiohttp.ClientSession() as session:
        for what, route, params in (
            (
                "poll",
                "/longpolling/poll",
                {"channels": channels, "last": 0, "options": {"peek": True}},
            ),
            (
                "forged",
                "/longpolling/poll",
                {
                    "channels": channels,
                    "last": 0,
                    "options": {"peek": True},
                    "credential": "v1.e30.AAAA",
                },
            ),
            (
                "ping",
                "/pos_longpolling/update",
                {"pos_id": pos_id, "message": "PING", "db_name": main_db},
            ),
        ):
            body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
            async with session.post(
                sync_url + route, json=body, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                answer = await response.json(content_type=None)
            error = answer.get("error")
            result = answer.get("result")
            if isinstance(result, dict):
                result = result.get("notifications")
            relayed = [
                n
                for n in (result if isinstance(result, list) else [])
                if n.get("message", {}).get("type") == RELAY
            ]
            out[what] = {
                "read": len(relayed),
                "answered": error is None,
                "reason": error
                and (error.get("data", {}).get("context") or {}).get(
                    "pos_longpolling_refusal", error.get("data", {}).get("name")
                ),
            }
    return out


async def run_mode(mode, page, main, sync, sync_url, pos_id, count):
    """Sync bus added to the loaded POS page; returns (row, checks)."""
    main_db, secret = main.db, "harness-" + secrets.token_hex(16)
    if mode == "secret":
        await set_params(main.side, {SECRET_PARAM: secret})
        await set_params(sync.side, {SECRET_PARAM: secret, PUBLIC_PARAM: ""})
    else:
        await set_params(main.side, {SECRET_PARAM: ""})
        await set_params(sync.side, {SECRET_PARAM: "", PUBLIC_PARAM: "1"})
    await page.evaluate(ADD_BUS, sync_url)
    st = await wait_for(page, lambda s: "oe_green" in s["icon"], 30.0)
    online = [t for t, state, _r in st["states"] if state == "online"]
    green_s = (online[0] - st["added"]) / 1000.0 if online else None
    ok, seqs, lat = await delivery(page, sync, main_db, pos_id, 0, count)
    seen = await outsider(sync_url, main_db, pos_id)
    checks = [
        check_row(
            "sync (%s): the sync bus turns green" % mode,
            "oe_green" in st["icon"],
            "%s in %s s, credential %s"
            % (st["state"], green_s, "yes" if st["credential"] else "no"),
        ),
        check_row(
            "sync (%s): relayed messages once, in order" % mode,
            ok,
            "%d/%d, p50 %s ms, max %s ms"
            % (len(seqs), count, r1(pct(lat, 50)), r1(max(lat) if lat else None)),
        ),
    ]
    if mode == "secret":
        nothing = all(not v["read"] and not v["answered"] for v in seen.values())
        checks.append(
            check_row(
                "sync (secret): an outsider reads nothing, pings nothing",
                nothing,
                json.dumps(seen, sort_keys=True),
            )
        )
        checks += await secret_changes(page, main, sync, pos_id, count)
    else:
        checks.append(
            check_row(
                "sync (allow_public, for comparison): an outsider reads the "
                "relayed messages",
                seen["poll"]["read"] > 0,
                json.dumps(seen, sort_keys=True),
            )
        )
    row = {
        "mode": mode,
        "green_s": green_s,
        "messages": count,
        "received": len(seqs),
        "p50_ms": r1(pct(lat, 50)),
        "max_ms": r1(max(lat) if lat else None),
        "outsider_read": seen["poll"]["read"],
        "outsider_reason": seen["poll"]["reason"],
        "outsider_ping_answered": seen["ping"]["answered"],
    }
    return row, checks


async def secret_changes(page, main, sync, pos_id, count):
    """The secret changed on both servers: the POS gets a new credential and
    goes on; changed on the sync server only: refused, the icon says why."""
    checks = []
    new = "harness-" + secrets.token_hex(16)
    await set_params(main.side, {SECRET_PARAM: new})
    await set_params(sync.side, {SECRET_PARAM: new})
    # The parked poll, let in before, wakes for the next message; the one
    # after it is refused with the old credential, renewed, let in.
    ok, seqs, lat = await delivery(page, sync, main.db, pos_id, 100, count)
    st = await status(page)
    checks.append(
        check_row(
            "sync (secret): after a change of secret on both servers, "
            "messages go on once, in order",
            ok and "oe_green" in st["icon"],
            "%d/%d, p50 %s ms; icon %s"
            % (len(seqs), count, r1(pct(lat, 50)), st["icon"]),
        )
    )
    await set_params(sync.side, {SECRET_PARAM: "harness-" + secrets.token_hex(16)})
    await relay(sync, main.db, pos_id, 200, 1)
    st = await wait_for(page, lambda s: s["state"] == "refused", 30.0)
    checks.append(
        check_row(
            "sync (secret): another secret on the sync server: refused, "
            "the icon's tooltip says why",
            st["state"] == "refused" and "another secret" in st["title"],
            st["title"],
        )
    )
    return checks


async def sync_server(ctx, browser, count=10):
    """Both modes; returns (rows, checks)."""
    if not browser.available:
        return [], [check_row("sync server with a real POS", None, browser.why_not)]
    main = Stack(ctx, 0, "sync_main")
    sync = nginx = None
    rows, checks = [], []
    try:
        sync = Stack(ctx, 2, "sync_relay", extra={"db_maxconn": 16})
        if nginx_binary():
            nginx = Nginx(ctx.wd.path, sync.server.http_port, sync.server.lp_port, True)
        sync_url = nginx.url if nginx else sync.server.poll_url
        log(
            "sync: main http %d (db %s), sync %s (db %s, %s)"
            % (
                main.server.http_port,
                main.db,
                sync_url,
                sync.db,
                "behind nginx" if nginx else "no nginx: its gevent port",
            )
        )
        await browser.open(main.server.url, main)
        if not browser.available:
            return [], [
                check_row("sync server with a real POS", False, browser.why_not)
            ]
        page, pos_id = browser.pages[0], browser.configs[0]
        for mode in ("secret", "allow_public"):
            if mode != "secret":
                await browser.relogin(main.cookie)
            row, mode_checks = await run_mode(
                mode, page, main, sync, sync_url, pos_id, count
            )
            row["sync_url"] = "nginx" if nginx else "direct"
            rows.append(row)
            checks += mode_checks
        if browser.console_errors:
            checks.append(
                check_row(
                    "sync: no page errors",
                    False,
                    " | ".join(browser.console_errors[:3]),
                )
            )
    finally:
        await browser.close()
        if nginx:
            nginx.close()
        if sync:
            sync.close()
        main.close()
    for r in rows:
        log("sync (%(mode)s): green %(green_s)s s, p50 %(p50_ms)s ms" % r)
    for c in checks:
        log("sync: %(check)s %(result)s %(detail)s" % c)
    return rows, checks
