"""Sessions and their outbound calls, with a fake socket (no network)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from chargewatch.ocpp_gateway.protocol import CallError, CallResult, ErrorKind, OcppVersion
from chargewatch.ocpp_gateway.sessions import (
    InvalidCommand,
    InvalidStationAnswer,
    SessionClosed,
    SessionRegistry,
    StationCallError,
    StationIdentity,
    StationSession,
    StationTimeout,
    close_reason,
)
from chargewatch.v1 import common_pb2


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[list[Any]] = []
        self.closed: tuple[int, str] | None = None
        self.sent_event = asyncio.Event()

    async def send(self, message: bytes, *, text: bool) -> None:
        assert text
        self.sent.append(orjson.loads(message))
        self.sent_event.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


def session(station_id: str = "CP-1", socket: FakeSocket | None = None) -> StationSession:
    return StationSession(
        StationIdentity(station_id, "tenant-a", "site-1", common_pb2.SECURITY_PROFILE_1_BASIC),
        OcppVersion.V16,
        socket or FakeSocket(),
        remote_address="10.0.0.1",
        connected_at=datetime.now(UTC),
        gateway_instance="gw-1",
    )


async def next_call(socket: FakeSocket) -> list[Any]:
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    socket.sent_event.clear()
    return socket.sent[-1]


async def test_a_call_is_answered_by_its_message_id() -> None:
    socket = FakeSocket()
    station = session(socket=socket)
    pending = asyncio.create_task(station.call("Reset", {"type": "Soft"}, timeout=1))
    frame = await next_call(socket)
    assert frame[0] == 2 and frame[2:] == ["Reset", {"type": "Soft"}]
    assert station.pending_action(frame[1]) == "Reset"
    assert not station.resolve(CallResult("someone-else", {"status": "Accepted"}))
    assert station.resolve(CallResult(frame[1], {"status": "Accepted"}))
    answer = await pending
    assert (answer.action, answer.message_id, answer.payload) == ("Reset", frame[1], {"status": "Accepted"})
    assert station.pending_action(frame[1]) is None


async def test_calls_go_one_at_a_time() -> None:
    socket = FakeSocket()
    station = session(socket=socket)
    first = asyncio.create_task(station.call("Reset", {"type": "Soft"}, timeout=1))
    second = asyncio.create_task(station.call("Reset", {"type": "Hard"}, timeout=1))
    frame = await next_call(socket)
    await asyncio.sleep(0.05)
    assert len(socket.sent) == 1
    station.resolve(CallResult(frame[1], {"status": "Accepted"}))
    await first
    frame = await next_call(socket)
    assert frame[3] == {"type": "Hard"}
    station.resolve(CallResult(frame[1], {"status": "Rejected"}))
    assert (await second).payload == {"status": "Rejected"}


async def test_call_outcomes() -> None:
    socket = FakeSocket()
    station = session(socket=socket)
    with pytest.raises(InvalidCommand):
        await station.call("Reset", {"type": "Sideways"}, timeout=1)
    with pytest.raises(InvalidCommand) as unknown:
        await station.call("MakeCoffee", {}, timeout=1)
    assert unknown.value.error.kind is ErrorKind.NOT_IMPLEMENTED
    assert not socket.sent

    with pytest.raises(StationTimeout):
        await station.call("Reset", {"type": "Soft"}, timeout=0.05)
    socket.sent_event.clear()

    pending = asyncio.create_task(station.call("Reset", {"type": "Soft"}, timeout=1))
    frame = await next_call(socket)
    station.resolve(CallError(frame[1], "NotSupported", "no resets here"))
    with pytest.raises(StationCallError) as refused:
        await pending
    assert refused.value.error.code == "NotSupported"

    pending = asyncio.create_task(station.call("Reset", {"type": "Soft"}, timeout=1))
    frame = await next_call(socket)
    station.resolve(CallResult(frame[1], {"status": "Maybe"}))
    with pytest.raises(InvalidStationAnswer):
        await pending

    pending = asyncio.create_task(station.call("Reset", {"type": "Soft"}, timeout=1))
    await next_call(socket)
    station.fail_pending("connection closed")
    with pytest.raises(SessionClosed):
        await pending


async def test_close_waits_for_the_message_in_hand() -> None:
    socket = FakeSocket()
    station = session(socket=socket)
    station.begin_message()
    await station.close(1001, "going away")
    assert socket.closed is None
    assert station.end_message()
    await station.close_after_answer()
    assert socket.closed == (1001, "going away")
    assert station.close_cause == "going away"


def test_close_reasons_fit_a_control_frame() -> None:
    assert len(close_reason("é" * 100).encode()) <= 123


def test_the_registry_keeps_one_session_per_station() -> None:
    registry = SessionRegistry()
    old, new = session(), session()
    assert registry.add(old) is None
    assert registry.add(new) is old
    assert registry.get("CP-1") is new
    assert not registry.remove(old)
    assert registry.get("CP-1") is new
    assert registry.remove(new)
    assert registry.get("CP-1") is None
    assert len(registry) == 0


async def test_message_counts_reach_the_counter_within_a_second_in_one_add_per_series() -> None:
    import asyncio

    from chargewatch.ocpp_gateway.instruments import TALLY_FLUSH_SECONDS, MessageTally

    added: list[tuple[int, dict[str, str]]] = []

    class Recording:
        def add(self, amount: int, attributes: dict[str, str]) -> None:
            added.append((amount, attributes))

    tally = MessageTally(Recording())  # type: ignore[arg-type]
    for _ in range(1000):
        tally.count("1.6", "MeterValues", "answered")
    tally.count("2.0.1", "Heartbeat", "answered")
    assert added == []  # nothing per message
    await asyncio.sleep(TALLY_FLUSH_SECONDS + 0.2)
    assert sorted(added, key=lambda a: a[0]) == [
        (1, {"version": "2.0.1", "action": "Heartbeat", "outcome": "answered"}),
        (1000, {"version": "1.6", "action": "MeterValues", "outcome": "answered"}),
    ]
    tally.count("1.6", "MeterValues", "answered")
    await asyncio.sleep(TALLY_FLUSH_SECONDS + 0.2)
    assert added[-1] == (1, {"version": "1.6", "action": "MeterValues", "outcome": "answered"})
