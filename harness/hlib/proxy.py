# pylint: disable=except-pass
"""A loopback TCP proxy that can make the server unreachable (pause) and
reachable again (resume): paused, it drops every connection and refuses
new ones, as a dead network or a stopped server would."""
import asyncio


class TcpProxy:
    def __init__(self, target_port, port):
        self.target_port, self.port = target_port, port
        self.server = None
        self.writers = set()
        self.paused = False
        self.accepted = 0

    async def start(self):
        self.paused = False
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def _handle(self, reader, writer):
        if self.paused:
            writer.transport.abort()
            return
        self.accepted += 1
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update((writer, uw))
        try:
            await asyncio.gather(self._pipe(reader, uw), self._pipe(ur, writer))
        except asyncio.CancelledError:
            # the run is ending; a cancelled handler makes Python 3.11's
            # streams log a CancelledError traceback per connection
            pass
        finally:
            self.writers.discard(writer)
            self.writers.discard(uw)

    async def pause(self):
        self.paused = True
        if self.server:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            try:
                w.transport.abort()
            except Exception:  # noqa: BLE001
                pass
        self.writers.clear()

    async def resume(self):
        if self.server is None:  # resuming a running proxy: nothing to do
            await self.start()

    async def close(self):
        await self.pause()
