import io
import json

from odoo.tests.common import TransactionCase


def json_rpc(case, url, params):
    """The JSON-RPC answer of ``url`` to ``params``, in an HttpCase."""
    response = case.url_open(
        url,
        data=json.dumps(
            {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        ),
        headers={"Content-Type": "application/json"},
    )
    case.assertEqual(response.status_code, 200)
    return response.json()


def poll_environ(sid, params, body=None, **overrides):
    """The WSGI environ of a long poll of ``params`` on session ``sid``."""
    if body is None:
        body = json.dumps(
            {"jsonrpc": "2.0", "method": "call", "id": 7, "params": params}
        ).encode()
    environ = {
        "PATH_INFO": "/longpolling/poll",
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "QUERY_STRING": "",
        "HTTP_HOST": "localhost",
        "HTTP_COOKIE": "session_id=%s" % sid,
        "wsgi.input": io.BytesIO(body),
    }
    environ.update(overrides)
    return environ


def forge_token(poll, token="forged"):
    """Give ``poll`` its own copy of its session, with ``token``: polls of a
    session share it (``patches/pos_poll``, read only)."""
    session = poll.session
    poll.session = type(session)(dict(session), session.sid, False)
    poll.session.session_token = token


def set_deleted_id(env, config, deleted_id):
    """As if the bus had deleted notification ``deleted_id`` of ``config``
    (the bus's ids reach it at least)."""
    env.cr.execute(
        "SELECT setval('bus_bus_id_seq', GREATEST(%s, last_value)) FROM bus_bus_id_seq",
        (deleted_id,),
    )
    env["pos.longpolling.gap"].sudo()._note({config.id: deleted_id})


class PosLongpollingCase(TransactionCase):
    """Three POS configs: two with an open session, one without."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.PosConfig = cls.env["pos.config"]
        main = cls.env.ref("point_of_sale.pos_config_main")
        cls.pos_a = main.copy({"name": "LP A"})
        cls.pos_b = main.copy({"name": "LP B"})
        cls.pos_closed = main.copy({"name": "LP no session"})
        for config in cls.pos_a | cls.pos_b:
            cls.env["pos.session"].create(
                {"config_id": config.id, "user_id": cls.env.uid}
            )
        cls.dbname = cls.env.cr.dbname

    def deleted_id(self, config):
        return self.PosConfig._longpolling_deleted_ids([config.id])[config.id]

    def last_bus_id(self):
        return self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def bus_rows_since(self, last_id):
        """``(channel, type, payload)`` of the bus rows written after ``last_id``."""
        rows = self.env["bus.bus"].sudo().search([("id", ">", last_id)], order="id")
        result = []
        for row in rows:
            message = json.loads(row.message)
            result.append(
                (json.loads(row.channel), message["type"], message["payload"])
            )
        return result

    def bus_channel(self, config, channel_name):
        """How the bus stores the channel of ``config`` for ``channel_name``."""
        return [self.dbname, config._get_full_channel_name(channel_name)]
