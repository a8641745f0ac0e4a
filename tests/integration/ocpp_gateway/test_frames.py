"""WebSocket frames as a station's TCP stream brings them: together, split, fragmented, interleaved
with control frames, broken. The gateway takes common frames off websockets' parser
(`chargewatch.ocpp_gateway.connection`); whatever way they arrive, each message is answered
once, in order, and the protocol's own rules (pings, closing, limits) hold as before.

A raw RFC 6455 client, so that the test decides how the bytes are cut and framed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from typing import Any

import orjson
import pytest

from chargewatch.streams import StreamFamily
from tests.integration.ocpp_gateway.conftest import Gateway, basic

TEXT, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA
LIMIT = 2048


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A size limit a 16-bit length can exceed (the default, 64 KiB, takes a 64-bit length).
    return {"max_frame_bytes": LIMIT}


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    flag = 0x80 if masked else 0
    if length < 126:
        head += bytes([flag | length])
    elif length < 1 << 16:
        head += bytes([flag | 126]) + struct.pack("!H", length)
    else:
        head += bytes([flag | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([2, message_id, action, payload])


def boot(message_id: str, padding: int = 0) -> bytes:
    return call(
        message_id,
        "BootNotification",
        {
            "chargePointVendor": "V",
            "chargePointModel": "M",
            "firmwareVersion": "f" * min(padding, 50),
            "meterSerialNumber": "s" * max(0, min(padding - 50, 25)),
        },
    )


async def send_handshake(
    port: int, station_id: str, password: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a socket to the gateway's port and send a station's OCPP 1.6 opening handshake on it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "ocpp1.6",
        **basic(station_id, password),
    }
    request = f"GET /ocpp/{station_id} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(request.encode() + b"\r\n")
    await writer.drain()
    return reader, writer


class RawStation:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, gateway: Gateway, station_id: str) -> RawStation:
        password = gateway.add_station(station_id)
        reader, writer = await send_handshake(gateway.server.port, station_id, password)
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        """The next frame from the gateway: (opcode, payload)."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
        assert not second & 0x80, "a server's frames are not masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def answers(self, count: int) -> list[list[Any]]:
        """The next `count` OCPP answers (text frames); pongs are skipped."""
        answers: list[list[Any]] = []
        while len(answers) < count:
            opcode, payload = await self.receive()
            if opcode == TEXT:
                answers.append(orjson.loads(payload))
        return answers

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_frames_that_arrive_together_are_answered_once_each_in_order(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-FRAMES-1")
    try:
        # More than the connection queues before it pauses reading (16), a ping among them, and
        # frames with a 16-bit length: one write, so the gateway reads them in few chunks.
        frames = [boot(f"m-{i}", padding=75) if i % 5 == 0 else call(f"m-{i}", "Heartbeat", {}) for i in range(40)]
        assert len(frames[0]) >= 126
        wire = [frame(TEXT, f) for f in frames]
        wire.insert(3, frame(PING, b"are-you-there"))
        await station.send(b"".join(wire))
        seen: list[tuple[int, bytes]] = []
        while sum(1 for opcode, _ in seen if opcode == TEXT) < len(frames):
            seen.append(await station.receive())
        assert (PONG, b"are-you-there") in seen
        answers = [orjson.loads(payload) for opcode, payload in seen if opcode == TEXT]
        assert [a[:2] for a in answers] == [[3, f"m-{i}"] for i in range(len(frames))]
        assert answers[0][2]["status"] == "Accepted" and "currentTime" in answers[1][2]
    finally:
        await station.close()
    # Each message handled once: one boot event per BootNotification.
    boots = await gateway.wait_for_events(StreamFamily.BOOT, lambda e: e.station_id == "CP-FRAMES-1")
    assert len(boots) == len([f for f in frames if b"BootNotification" in f])


async def test_a_frame_cut_anywhere_is_answered_when_it_is_complete(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-FRAMES-2")
    try:
        wire = frame(TEXT, boot("split", padding=75)) + frame(TEXT, call("after", "Heartbeat", {}))
        # The header, the mask and the payload each cut, then the rest with the next frame's start.
        for cut in (1, 3, 7, 40):
            await station.send(wire[:cut])
            wire = wire[cut:]
            await asyncio.sleep(0.02)
        await station.send(wire)
        assert [a[:2] for a in await station.answers(2)] == [[3, "split"], [3, "after"]]
    finally:
        await station.close()


async def test_a_fragmented_message_is_handled_as_one(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-FRAMES-3")
    try:
        message = boot("fragmented", padding=40)
        parts = [message[:10], message[10:30], message[30:]]
        await station.send(
            frame(TEXT, parts[0], fin=False)
            + frame(CONTINUATION, parts[1], fin=False)
            # A control frame may come between the fragments of a message.
            + frame(PING, b"mid")
            + frame(CONTINUATION, parts[2])
            + frame(TEXT, call("next", "Heartbeat", {}))
        )
        assert [a[:2] for a in await station.answers(2)] == [[3, "fragmented"], [3, "next"]]
    finally:
        await station.close()


async def close_code(station: RawStation) -> int:
    while True:
        opcode, payload = await station.receive()
        if opcode == CLOSE:
            return int(struct.unpack("!H", payload[:2])[0])


async def test_an_unmasked_frame_fails_the_connection_with_1002(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-FRAMES-4")
    try:
        await station.send(frame(TEXT, call("ok", "Heartbeat", {})))
        assert (await station.answers(1))[0][:2] == [3, "ok"]
        # Behind a good frame in the same write: the gateway's short path leaves it to websockets.
        await station.send(frame(TEXT, call("ok", "Heartbeat", {})) + frame(TEXT, b"[]", masked=False))
        assert await close_code(station) == 1002
    finally:
        await station.close()


async def test_a_message_over_the_limit_closes_the_socket_with_1009_also_in_fragments(gateway: Gateway) -> None:
    whole = await RawStation.connect(gateway, "CP-FRAMES-5")
    fragmented = await RawStation.connect(gateway, "CP-FRAMES-6")
    try:
        too_big = call("big", "DataTransfer", {"vendorId": "x", "data": "y" * LIMIT})
        assert LIMIT < len(too_big) < 1 << 16  # a 16-bit length
        await whole.send(frame(TEXT, call("ok", "Heartbeat", {})))
        assert (await whole.answers(1))[0][:2] == [3, "ok"]
        await whole.send(frame(TEXT, call("ok", "Heartbeat", {})) + frame(TEXT, too_big))
        assert await close_code(whole) == 1009
        half = len(too_big) // 2
        await fragmented.send(frame(TEXT, too_big[:half], fin=False) + frame(CONTINUATION, too_big[half:]))
        assert await close_code(fragmented) == 1009
    finally:
        await whole.close()
        await fragmented.close()
    oversize = await gateway.wait_for_events(
        StreamFamily.SECURITY,
        lambda e: e.station_id in {"CP-FRAMES-5", "CP-FRAMES-6"} and e.security.type == "OversizeMessage",
    )
    assert {e.station_id for e in oversize} == {"CP-FRAMES-5", "CP-FRAMES-6"}


async def test_a_message_just_before_the_station_s_close_is_still_handled(gateway: Gateway) -> None:
    """websockets answers a close at once, so the message's answer cannot go out; but the message was
    received, and is handled (published) before the session ends."""
    station = await RawStation.connect(gateway, "CP-FRAMES-7")
    try:
        await station.send(frame(TEXT, boot("last")) + frame(CLOSE, struct.pack("!H", 1000) + b"bye"))
        assert await close_code(station) == 1000
    finally:
        await station.close()
    await gateway.wait_for_events(StreamFamily.BOOT, lambda e: e.station_id == "CP-FRAMES-7")
