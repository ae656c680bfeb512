"""The machine's floor: the least a gevent long-polling server can do.

Run as its own process with ODOO_PYTHON (gevent, no Odoo):
``floor_server.py PORT``. It takes the JSON-RPC POST ``/longpolling/poll``
the pollers send, parks each poll on one event and, on a POST to
``/floor/fire`` (``{"seq": k}``), answers all parked polls at once in
Odoo's shape. ``FloorServer`` starts and drives it from the harness.
"""
import json
import os
import socket
import sys
import time
import urllib.request

TIMEOUT = 50  # Odoo's poll timeout (bus.models.bus.TIMEOUT)


def serve(port, backlog=None):
    import logging

    import gevent
    from gevent.event import Event
    from gevent.pywsgi import WSGIServer

    # an access line per request at INFO, as Odoo's longpolling logger writes
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    state = {"event": Event(), "messages": [], "next_id": 1}

    def answer(start_response, body, status="200 OK"):
        raw = json.dumps(body).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))],
        )
        return [raw]

    def since(last):
        return [m for m in state["messages"] if m["id"] > last]

    def poll(environ, start_response):
        # as Odoo's JsonRequest: json.loads the body, take params
        req = json.loads(environ["wsgi.input"].read())
        params = dict(req.get("params", {}))
        rid, last = req.get("id"), params.get("last") or 0
        options = params.get("options") or {}
        if options.get("peek"):
            result = {"notifications": since(last), "channels": params["channels"]}
        else:
            result = since(last)
            if not result:
                state["event"].wait(TIMEOUT)
                result = since(last)
        return answer(start_response, {"jsonrpc": "2.0", "id": rid, "result": result})

    def fire(environ, start_response):
        req = json.loads(environ["wsgi.input"].read() or b"{}")
        msg = {
            "id": state["next_id"],
            "message": {"type": req.get("type", "lat"), "payload": {"seq": req["seq"]}},
        }
        state["next_id"] += 1
        state["messages"] = state["messages"][-99:] + [msg]
        event, state["event"] = state["event"], Event()
        t_fire = time.time()
        event.set()
        return answer(start_response, {"id": msg["id"], "t_fire": t_fire})

    routes = {
        "/longpolling/poll": poll,
        "/floor/fire": fire,
        "/floor/health": lambda e, s: answer(s, {"last": state["next_id"] - 1}),
    }

    def app(environ, start_response):
        route = routes.get(environ["PATH_INFO"])
        if not route:
            return answer(start_response, {"error": "not found"}, "404 Not Found")
        return route(environ, start_response)

    logger = logging.getLogger("longpolling")
    # what Odoo 15's GeventServer passes: no backlog, no spawn (the defaults);
    # a backlog only as the addon's longpolling_backlog gives one
    server = WSGIServer(
        ("127.0.0.1", port), app, log=logger, error_log=logger, backlog=backlog
    )
    # as the addon's gevent process (patches/longpolling_socket.py)
    server.init_socket()
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    gevent.signal_handler(15, server.stop)
    server.serve_forever()


class FloorServer:
    """The floor server process, seen from the harness."""

    def __init__(self, python, port, logpath, backlog=None):
        from .env import Child

        self.port, self.logpath = port, logpath
        self.url = "http://127.0.0.1:%d" % port
        self.child = Child(
            [python, os.path.abspath(__file__), str(port)]
            + ([str(backlog)] if backlog else []),
            logpath,
            self.url + "/floor/health",
            "floor server",
        )
        self.proc = self.child.proc

    def last_id(self):
        """Id of the newest message: a new fleet's `last`."""
        with urllib.request.urlopen(self.url + "/floor/health", timeout=30) as r:
            return json.loads(r.read())["last"]

    def fire(self, seq):
        """Answer every parked poll with seq; returns (t_fire, message id)."""
        req = urllib.request.Request(
            self.url + "/floor/fire",
            data=json.dumps({"seq": seq}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            data = json.loads(r.read())
        return data["t_fire"], data["id"]

    def close(self):
        self.child.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
