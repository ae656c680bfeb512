"""One Odoo server on a fresh database, with the in-Odoo helper and a login."""
import asyncio
import os

from . import env as henv, pollers as hp
from .env import log
from .logs import summarize_log


class Stack:
    """One Odoo server on its own fresh database + in-Odoo helper + login."""

    def __init__(self, ctx, workers, tag, extra=None):
        self.ctx, self.workers, self.tag = ctx, workers, tag
        self.db = henv.fresh_db(ctx.template, tag)
        self.server = henv.Server(ctx.wd, self.db, workers, tag, extra=extra)
        # the helper loads its registry while the server starts
        self.server.start(wait=False)
        try:
            self.side = henv.Side(ctx.wd, self.db)
            self.server.wait_ready()
        except BaseException:
            self.server.stop()
            raise
        ids = self.side.call("bench_ids")
        self.ids, self.other_ids = ids["ids"], ids["others"]
        self.cookie = hp.login(self.server.url, self.db)
        self.mode = "workers=%d" % workers if workers else "threaded"

    def fleet(self, kind, ids, poll_url=None, http_url=None, **kw):
        start_last = self.side.call("bus_stats")["max_id"]
        return hp.Fleet(
            poll_url or self.server.poll_url,
            http_url or self.server.url,
            self.db,
            self.cookie,
            kind,
            ids,
            start_last=start_last,
            **kw
        )

    def close(self, drop=True):
        try:
            self.side.close()
        finally:
            self.server.stop()
            try:
                summarize_log(
                    self.server.logpath,
                    os.path.join(self.ctx.results, "odoo_log_%s.txt" % self.tag),
                )
            except Exception as e:  # noqa: BLE001
                log("log summary failed: %s" % e)
            if drop:
                henv.drop_db(self.db)


async def call(side, cmd, timeout=900, **kw):
    return await asyncio.to_thread(side.call, cmd, timeout, **kw)
