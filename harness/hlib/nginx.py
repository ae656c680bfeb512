"""nginx in front of the gevent port, with the README's configuration.

The ``server`` block is read from ``readme/DEPLOY.rst`` (the literal block
after "With nginx"), so what is measured is what the README says; the
variant ``plain`` drops its upstream keep-alive lines (nginx's default:
HTTP/1.0 and a new connection to Odoo per request)."""
import os
import re
import shutil
import textwrap

from .env import REPO, Child, free_port

KEEPALIVE_LINES = ("keepalive ", "proxy_http_version", 'proxy_set_header Connection ""')


def nginx_binary():
    """nginx's path (Debian's is in /usr/sbin, off a user's PATH), or None."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )


def readme_config():
    """The nginx configuration of readme/DEPLOY.rst, as written there."""
    with open(os.path.join(REPO, "readme", "DEPLOY.rst")) as f:
        text = f.read()
    start = text.index("::\n", text.index("With nginx")) + 3
    block = re.match(r"((?:\n| {4,}.*\n)+)", text[start:]).group(1)
    return textwrap.dedent(block).strip() + "\n"


def variant(config, upstream_keepalive):
    if upstream_keepalive:
        return config
    return "".join(
        line
        for line in config.splitlines(True)
        if not line.strip().startswith(KEEPALIVE_LINES)
    )


class Nginx:
    """nginx (one worker) on a free loopback port before `http_port` and
    `lp_port`, with the README's server block."""

    def __init__(self, wd_path, http_port, lp_port, upstream_keepalive, binary=None):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        name = "nginx_%s" % ("keepalive" if upstream_keepalive else "plain")
        self.dir = os.path.join(wd_path, name)
        os.makedirs(self.dir, exist_ok=True)
        server = variant(readme_config(), upstream_keepalive)
        server = (
            server.replace("127.0.0.1:8069", "127.0.0.1:%d" % http_port)
            .replace("127.0.0.1:8072", "127.0.0.1:%d" % lp_port)
            .replace(
                "# listen, server_name, TLS ...", "listen 127.0.0.1:%d;" % self.port
            )
        )
        conf = "\n".join(
            [
                "daemon off;",
                "worker_processes 1;",
                "worker_rlimit_nofile 20000;",
                "pid %s/nginx.pid;" % self.dir,
                "error_log %s/error.log warn;" % self.dir,
                "events { worker_connections 16000; }",
                "http {",
                "access_log off;",
                "client_body_temp_path %s/body;" % self.dir,
                "proxy_temp_path %s/proxy;" % self.dir,
                server,
                "}",
            ]
        )
        if os.geteuid() == 0:
            conf = "user root;\n" + conf
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.child = Child(
            [binary or nginx_binary() or "nginx", "-p", self.dir, "-c", self.conf],
            os.path.join(self.dir, "stdout.log"),
            self.url + "/web/login",
            "nginx",
            timeout=30,
        )

    def close(self):
        self.child.close()


async def behind_nginx(ctx, st, n, rounds):
    """Broadcast rows of `n` addon pollers (kept alive to nginx, as browsers
    do) through nginx with the README's configuration, then without its
    upstream keep-alive; pings go to the HTTP port directly."""
    from .broadcast import broadcast
    from .env import log

    rows = []
    for keep in (True, False):
        proxy = Nginx(ctx.wd.path, st.server.http_port, st.server.lp_port, keep)
        fleet = st.fleet("addon", st.ids[:n], poll_url=proxy.url, keepalive=True)
        try:
            await fleet.start(ramp=min(10.0, n / 200.0), settle=0)
            await fleet.quiesce()
            row = await broadcast(st, fleet, "addon", st.ids[:n], rounds)
        finally:
            await fleet.stop()
            proxy.close()
        row.pop("_lat", None)
        row["upstream_keepalive"] = keep
        log("nginx upstream keepalive=%s: %s" % (keep, row))
        rows.append(row)
    return rows
