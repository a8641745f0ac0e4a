"""WebSocket keep-alive pings for every open station connection of a listener, from one task.

websockets runs a keep-alive task per connection: the task, its coroutine, a sleep's coroutine,
future and timer, about ten objects per station for the connection's life, every one walked
again by each garbage collection, and a task started for every handshake (a reconnect storm
makes ten thousand). `Keepalive` does the same work for all of a listener's connections from one
task, waking every `tick`: a connection open for `interval` since its last ping gets a ping; one
whose pong has not come `timeout` after its ping is failed with 1011 "keepalive ping timeout", as
websockets fails it. Pongs are matched by websockets (`acknowledge_pings`, which also keeps the
connection's `latency`), so a pong answering a later ping acknowledges the earlier ones too.

A ping goes out up to one tick late and a timeout is seen up to one tick late: the tick is at
most a second and at most a quarter of the interval and of the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from typing import TYPE_CHECKING, Final

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import OPEN

if TYPE_CHECKING:
    from chargewatch.ocpp_gateway.connection import OcppConnection

log = logging.getLogger(__name__)

_MAX_TICK_SECONDS: Final = 1.0
_PING_TIMEOUT_REASON: Final = "keepalive ping timeout"


class Keepalive:
    def __init__(self, interval: float, timeout: float | None) -> None:
        if interval <= 0 or (timeout is not None and timeout <= 0):
            raise ValueError(f"interval and timeout must be positive, got {interval} and {timeout}")
        self.interval = interval
        self.timeout = timeout
        self.tick = min(_MAX_TICK_SECONDS, interval / 4, timeout / 4 if timeout is not None else interval)
        # The open connections, each with the loop time of its next ping.
        self._next_ping: dict[OcppConnection, float] = {}
        # Pings awaiting their pong: connection -> (its payload, the loop time past which it failed).
        self._awaiting: dict[OcppConnection, tuple[bytes, float]] = {}
        self._task: asyncio.Task[None] | None = None
        # Connections being failed for a missing pong, referenced until done.
        self._failing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._next_ping)

    def add(self, connection: OcppConnection) -> None:
        loop = connection.loop
        self._next_ping[connection] = loop.time() + self.interval
        if self._task is None:
            self._task = loop.create_task(self._run(), name="websocket-keepalive")

    def discard(self, connection: OcppConnection) -> None:
        """The connection is closed: no more pings (its pending ones are settled by websockets)."""
        self._next_ping.pop(connection, None)
        self._awaiting.pop(connection, None)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._failing:
            await asyncio.gather(*self._failing, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._next_ping:
                await asyncio.sleep(self.tick)
                self.sweep(loop.time())
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def sweep(self, now: float) -> None:
        """Fail the connections whose pong is overdue, then ping those due (one pass, no awaiting)."""
        awaiting = self._awaiting
        if awaiting:
            for connection, (payload, deadline) in list(awaiting.items()):
                if payload not in connection.pending_pings:  # answered
                    del awaiting[connection]
                elif now >= deadline:
                    del awaiting[connection]
                    self._fail(connection)
        next_ping = self._next_ping
        due = [connection for connection, at in next_ping.items() if at <= now]
        for connection in due:
            next_ping[connection] = now + self.interval
            if connection in awaiting:
                continue  # its last ping is still within its timeout
            sent = _ping(connection, now)
            if sent is not None and self.timeout is not None:
                awaiting[connection] = (sent, now + self.timeout)

    def _fail(self, connection: OcppConnection) -> None:
        task = connection.loop.create_task(_fail_for_missing_pong(connection), name="websocket-keepalive-fail")
        self._failing.add(task)
        task.add_done_callback(self._failing.discard)


def _ping(connection: OcppConnection, now: float) -> bytes | None:
    """Send a ping as websockets' `ping()` does, without waiting; None when it cannot go now."""
    protocol = connection.protocol
    if protocol.state is not OPEN or connection.paused:
        # Closing, or the socket's write buffer is full (the station is not reading): try again
        # next interval; a station that stopped reading is closed by the write limits anyway.
        return None
    pending = connection.pending_pings
    payload = struct.pack("!I", random.getrandbits(32))
    while payload in pending:
        payload = struct.pack("!I", random.getrandbits(32))
    pending[payload] = (connection.loop.create_future(), now)
    protocol.send_ping(payload)
    connection.send_data()
    return payload


async def _fail_for_missing_pong(connection: OcppConnection) -> None:
    """Close the connection with 1011, through websockets' own path (as its keep-alive does)."""
    try:
        async with connection.send_context():
            connection.protocol.fail(CloseCode.INTERNAL_ERROR, _PING_TIMEOUT_REASON)
    except ConnectionClosed:
        pass  # closed: what was asked
    except Exception:
        log.exception("could not close a connection that missed its keep-alive pong")
