"""A station's WebSocket connection, with a short path for the frames a station sends nearly always.

websockets parses every frame through its sans-I/O protocol (a generator per read, a `Frame`
object, an `Assembler` queue the reader awaits): a good part of what a MeterValues costs the
gateway. `OcppConnection` takes the common case off that path. When a chunk of bytes from the
socket starts on a frame boundary, the connection is open, no extension is in use and no
fragmented message is under way, each complete, final, masked text or binary frame in it is
unmasked and queued as a message right here. The rest of the chunk — a control frame, a
fragment, a frame larger than 64 KiB or than the size limit, an incomplete frame, anything the
protocol must judge — goes to websockets from that frame on, unchanged, and its messages join
the same queue in order. So websockets still answers pings, runs the closing handshake and fails
the connection on a protocol error (an unmasked frame, reserved bits, a message too big) exactly
as before; only the frames it would have accepted as they are skip it.

Messages are read with `next_message`, one reader at a time (the session loop), as `recv` was;
answers are written with `send_now`, which frames them directly when nothing stands in the way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.frames import CONT, DATA_OPCODES, PONG, Frame
from websockets.protocol import OPEN, Event

from chargewatch.ocpp_gateway.keepalive import Keepalive

try:  # websockets' C extension, in its wheels
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a build without it
    from websockets.utils import apply_mask

# First header byte of an unfragmented text or binary frame with no reserved bit set (FIN | opcode).
_FINAL_TEXT: Final = 0x81
_FINAL_BINARY: Final = 0x82
_MASKED: Final = 0x80
# Payload length codes: 126 means a 16-bit length follows; 127 (a 64-bit length) is left to websockets.
_LENGTH_16: Final = 126
# Payload lengths that fit the second header byte, and the 16-bit length field.
_LENGTH_7_MAX: Final = 125
_LENGTH_16_MAX: Final = 0xFFFF
# Messages queued before reading from the socket pauses, and resumes (as websockets' max_queue).
_QUEUE_HIGH: Final = 16
_QUEUE_LOW: Final = 4
# What the handshake's request and response keep of their headers once the connection is open.
_NO_HEADERS: Final = Headers()


class OcppConnection(ServerConnection):
    """websockets' server connection whose common frames skip its parser (see the module's text)."""

    _messages: deque[bytes]
    _waiter: asyncio.Future[None] | None = None
    _fragments: list[bytes] | None = None
    _reading_paused = False
    # Called when the handshake ends without the connection open (after `process_request` accepted it).
    on_not_opened: Callable[[OcppConnection], None] | None = None
    # The listener's shared keep-alive (set when the handshake is accepted); None: websockets' own task.
    shared_keepalive: Keepalive | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._messages = deque()
        super().connection_made(transport)

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        finally:
            not_opened = self.on_not_opened
            if not_opened is not None:
                self.on_not_opened = None  # not kept for the connection's life
                # Refused, timed out, or the station left before the answer: no session will follow.
                if self.protocol.state is not OPEN:
                    not_opened(self)
        # Nothing reads the handshake's headers once it is over (the session took the station id,
        # version and remote address from them). Kept, they would hold the station's Basic
        # password in memory for the connection's life, and be two dozen objects and about a
        # kilobyte per station, which every pass of the garbage collector over ten thousand
        # stations walks again. The path and the status stay.
        if self.request is not None:
            self.request.headers = _NO_HEADERS
        if self.response is not None:
            self.response.headers = _NO_HEADERS

    # -- receiving ---------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        if (
            protocol.state is OPEN
            and not protocol.extensions
            and protocol.current_size is None
            and not protocol.reader.buffer
        ):
            taken = self._take_frames(data)
            if taken:
                self._wake()
                if taken == len(data):
                    return
                data = data[taken:]
        super().data_received(data)

    def _take_frames(self, data: bytes) -> int:
        """Queue the complete, unfragmented, masked data frames at the start of `data`; returns the bytes used."""
        limit = self.protocol.max_message_size
        append = self._messages.append
        size = len(data)
        offset = 0
        while size - offset >= 6:  # two header bytes and the mask, at least
            first, second = data[offset], data[offset + 1]
            if (first != _FINAL_TEXT and first != _FINAL_BINARY) or not second & _MASKED:
                break
            length = second & 0x7F
            mask_at = offset + 2
            if length == _LENGTH_16:
                if size - offset < 8:
                    break
                length = (data[mask_at] << 8) | data[mask_at + 1]
                mask_at += 2
            elif length > _LENGTH_16:
                break
            if limit is not None and length > limit:
                break
            start = mask_at + 4
            end = start + length
            if end > size:
                break
            append(apply_mask(data[start:end], data[mask_at:start]))
            offset = end
        return offset

    def process_event(self, event: Event) -> None:
        if self.request is None or not isinstance(event, Frame):  # the handshake's request
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode in DATA_OPCODES:
            # websockets checked the sequence of fragments and the size of the whole message.
            data = bytes(event.data)
            if opcode is CONT and self._fragments is not None:
                self._fragments.append(data)
                if event.fin:
                    data, self._fragments = b"".join(self._fragments), None
                else:
                    return
            elif not event.fin:
                self._fragments = [data]
                return
            self._messages.append(data)
            self._wake()
        elif opcode is PONG:
            self.acknowledge_pings(bytes(event.data))

    def _wake(self) -> None:
        self._wake_reader()
        if len(self._messages) >= _QUEUE_HIGH and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def _wake_reader(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def start_keepalive(self) -> None:
        keepalive = self.shared_keepalive
        if keepalive is None:
            super().start_keepalive()
        elif self.ping_interval is not None:
            keepalive.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.shared_keepalive is not None:
            self.shared_keepalive.discard(self)
        self._wake_reader()

    # -- sending -----------------------------------------------------------------------------------
    def send_now(self, message: bytes) -> bool:
        """Write `message` as a text frame at once, as `send(message, text=True)` would; False: leave it to `send`.

        `send` goes through an async context manager and a drain for every message, a good part
        of what answering costs. When the connection is open, no extension is in use, no
        fragmented message is being sent and the transport is not asking writers to wait, the
        frame (a server's is not masked) is written here, without yielding; anything else
        (closing, a full write buffer) takes the library's own path, which waits for the close or
        for the buffer to drain.
        """
        protocol = self.protocol
        if (
            protocol.state is not OPEN
            or protocol.extensions
            or protocol.expect_continuation_frame
            or self.send_in_progress is not None
            or self.paused
        ):
            return False
        length = len(message)
        if length <= _LENGTH_7_MAX:
            header = bytes((_FINAL_TEXT, length))
        elif length <= _LENGTH_16_MAX:
            header = bytes((_FINAL_TEXT, _LENGTH_16, length >> 8, length & 0xFF))
        else:
            header = bytes((_FINAL_TEXT, 127)) + length.to_bytes(8, "big")
        try:
            self.transport.write(header + message)
        except Exception as exc:  # as send: the connection is done for; next_message raises ConnectionClosed
            self.set_connection_exc(exc)
            self.transport.abort()
        return True

    async def next_message(self) -> bytes:
        """The next message's bytes, in order; raises ConnectionClosed once the connection is closed
        and every message received before is read."""
        messages = self._messages
        while not messages:
            if self.connection_lost_waiter.done():
                raise self.close_exc
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        message = messages.popleft()
        if self._reading_paused and len(messages) <= _QUEUE_LOW:
            self._reading_paused = False
            if not self.connection_lost_waiter.done():
                self.transport.resume_reading()
        return message
