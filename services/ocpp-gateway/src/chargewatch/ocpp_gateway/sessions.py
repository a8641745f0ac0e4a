"""Station sessions: who is connected to this replica, and the calls we send them.

A session is one accepted WebSocket of one station. The registry holds at most one per station
(a new connection replaces the old, as OCPP requires). Calls to a station go one at a time
(OCPP-J: no new CALL before the previous one is answered or timed out) and are matched to the
station's CALLRESULT / CALLERROR by message id.

Issue 3 adds station ownership across replicas (a Redis lease written when a session is added)
so a command reaches the replica holding the socket; the registry is the place it hooks in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chargewatch.ocpp_gateway.message_state import MessageState
from chargewatch.ocpp_gateway.protocol import (
    CallError,
    CallResult,
    ErrorKind,
    OcppError,
    OcppVersion,
    encode_call,
)
from chargewatch.ocpp_gateway.validation import schemas
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)

# RFC 6455 close codes used by the gateway.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
# A close reason must fit a control frame: 123 bytes of UTF-8.
_MAX_CLOSE_REASON_BYTES = 123


class Socket(Protocol):
    """What a session needs of its WebSocket (websockets' ServerConnection in production)."""

    async def send(self, message: bytes, *, text: bool) -> None: ...

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class StationIdentity:
    """What authz said about the station at the handshake."""

    station_id: str
    tenant_id: str
    site_id: str
    security_profile: common_pb2.SecurityProfile
    # The station registry's answer to BootNotification; unspecified means Accepted.
    registration_status: common_pb2.RegistrationStatus = common_pb2.REGISTRATION_STATUS_UNSPECIFIED


# -- the outcomes of a call to a station, translated to gRPC codes in grpc_api ----------------------
class CommandError(Exception):
    """A call to a station did not get a usable answer."""


class InvalidCommand(CommandError):
    """The call's arguments break the action's schema; nothing was sent."""

    def __init__(self, error: OcppError) -> None:
        super().__init__(error.description)
        self.error = error


class StationTimeout(CommandError):
    pass


class StationCallError(CommandError):
    """The station answered with a CALLERROR."""

    def __init__(self, error: CallError) -> None:
        super().__init__(f"{error.code}: {error.description}")
        self.error = error


class InvalidStationAnswer(CommandError):
    """The station's CALLRESULT breaks the action's response schema."""

    def __init__(self, error: OcppError) -> None:
        super().__init__(error.description)
        self.error = error


class SessionClosed(CommandError):
    """The socket closed while the call waited for its answer."""


@dataclass(frozen=True, slots=True)
class CallAnswer:
    action: str
    message_id: str
    payload: dict[str, Any]


def close_reason(text: str) -> str:
    encoded = text.encode()[:_MAX_CLOSE_REASON_BYTES]
    return encoded.decode(errors="ignore")


class StationSession:
    # Slots, and the lock and the event made only when needed: ten thousand sessions per process
    # (an asyncio.Event alone holds a deque of about 700 bytes).
    __slots__ = (
        "_busy",
        "_call_lock",
        "_close_after_answer",
        "_finished",
        "_pending",
        "close_cause",
        "connected_at",
        "gateway_instance",
        "identity",
        "lease",
        "message_state",
        "registration",
        "remote_address",
        "socket",
        "version",
    )

    def __init__(
        self,
        identity: StationIdentity,
        version: OcppVersion,
        socket: Socket,
        *,
        remote_address: str,
        connected_at: datetime,
        gateway_instance: str,
    ) -> None:
        self.identity = identity
        self.version = version
        self.socket = socket
        self.remote_address = remote_address
        self.connected_at = connected_at
        self.gateway_instance = gateway_instance
        # Registration status given to the last BootNotification (issue 3 enforces it).
        self.registration: common_pb2.RegistrationStatus = common_pb2.REGISTRATION_STATUS_UNSPECIFIED
        # What the inbound message pipeline remembers about this session (rate, replays, meters).
        self.message_state = MessageState()
        # Calls sent to the station awaiting its answer (made at the first command).
        self._pending: dict[str, tuple[str, asyncio.Future[CallResult | CallError]]] | None = None
        self._call_lock: asyncio.Lock | None = None
        self._busy = False
        self._close_after_answer: tuple[int, str] | None = None
        self.close_cause = ""
        # The ownership lease claimed at its handshake (None without ownership).
        self.lease: bytes | None = None
        # Set by the server once the session's clean-up (disconnect event included) is done:
        # True, or an Event while someone waits for it.
        self._finished: asyncio.Event | bool = False

    @property
    def is_finished(self) -> bool:
        finished = self._finished
        return finished if isinstance(finished, bool) else finished.is_set()

    def mark_finished(self) -> None:
        if isinstance(self._finished, asyncio.Event):
            self._finished.set()
        self._finished = True

    async def wait_finished(self) -> None:
        if self.is_finished:
            return
        if not isinstance(self._finished, asyncio.Event):
            self._finished = asyncio.Event()
        await self._finished.wait()

    @property
    def station_id(self) -> str:
        return self.identity.station_id

    @property
    def tenant_id(self) -> str:
        return self.identity.tenant_id

    # -- inbound message bracket: a close waits until the message in hand is answered ---------
    def begin_message(self) -> None:
        self._busy = True

    def end_message(self) -> bool:
        """The message in hand is answered; True when a close waits for that (see `close_after_answer`)."""
        self._busy = False
        return self._close_after_answer is not None

    async def close_after_answer(self) -> None:
        if self._close_after_answer is not None:
            code, reason = self._close_after_answer
            await self.socket.close(code, reason)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket, after the inbound message being handled (if any) has been answered."""
        if not self.close_cause:
            self.close_cause = reason
        reason = close_reason(reason)
        if self._busy:
            self._close_after_answer = (code, reason)
            return
        await self.socket.close(code, reason)

    # -- outbound calls ----------------------------------------------------------------------
    async def call(self, action: str, payload: dict[str, Any], timeout: float) -> CallAnswer:  # noqa: ASYNC109
        """Send a CALL and wait up to `timeout` seconds for the station's answer, validated against its schema.

        The wait includes queueing behind an earlier call to the same station.
        """
        schema_set = schemas(self.version)
        try:
            schema_set.validate(action, payload)
        except OcppError as error:
            raise InvalidCommand(error) from None
        except KeyError:
            unknown = OcppError(ErrorKind.NOT_IMPLEMENTED, f"OCPP {self.version.label} has no action {action}")
            raise InvalidCommand(unknown) from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._call_lock is None:
            self._call_lock = asyncio.Lock()
        lock = self._call_lock
        try:
            async with asyncio.timeout_at(deadline):
                await lock.acquire()
        except TimeoutError:
            raise StationTimeout(f"{self.station_id} is still busy with an earlier call") from None
        message_id = uuid.uuid4().hex
        future: asyncio.Future[CallResult | CallError] = loop.create_future()
        if self._pending is None:
            self._pending = {}
        pending = self._pending
        pending[message_id] = (action, future)
        try:
            await self.socket.send(encode_call(message_id, action, payload), text=True)
            try:
                async with asyncio.timeout_at(deadline):
                    answer = await future
            except TimeoutError:
                raise StationTimeout(f"{self.station_id} did not answer {action} in time") from None
        finally:
            pending.pop(message_id, None)
            lock.release()
        if isinstance(answer, CallError):
            raise StationCallError(answer)
        try:
            schema_set.validate(action, answer.payload, response=True)
        except OcppError as error:
            raise InvalidStationAnswer(error) from None
        return CallAnswer(action, message_id, answer.payload)

    def pending_action(self, message_id: str) -> str | None:
        entry = self._pending.get(message_id) if self._pending is not None else None
        return entry[0] if entry is not None else None

    def resolve(self, answer: CallResult | CallError) -> bool:
        """Hand a station's answer to the call waiting for it; False when no call waits."""
        entry = self._pending.get(answer.message_id) if self._pending is not None else None
        if entry is None or entry[1].done():
            return False
        entry[1].set_result(answer)
        return True

    def fail_pending(self, reason: str) -> None:
        for _, future in (self._pending or {}).values():
            if not future.done():
                future.set_exception(SessionClosed(reason))


class SessionRegistry:
    """The sessions of this replica, one per station."""

    def __init__(self) -> None:
        self._sessions: dict[str, StationSession] = {}
        # Sessions removed but still finishing (publishing their disconnection), by station.
        self._closing: dict[str, StationSession] = {}

    def get(self, station_id: str) -> StationSession | None:
        """The station's session in service (a closing one takes no more commands)."""
        return self._sessions.get(station_id)

    def add(self, session: StationSession) -> StationSession | None:
        """Make `session` the station's session; returns the one it replaces, if any: the session in
        service, else one still finishing, which the new one waits for (its disconnection comes first)."""
        station_id = session.station_id
        previous = self._sessions.get(station_id) or self._closing.get(station_id)
        self._sessions[station_id] = session
        return previous if previous is not session else None

    def remove(self, session: StationSession) -> bool:
        """Take `session` out of service unless a newer one already replaced it; it is known as
        finishing until `finished(session)`."""
        if self._sessions.get(session.station_id) is session:
            del self._sessions[session.station_id]
            self._closing[session.station_id] = session
            return True
        return False

    def finished(self, session: StationSession) -> None:
        if self._closing.get(session.station_id) is session:
            del self._closing[session.station_id]

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[StationSession]:
        return iter(list(self._sessions.values()))


async def wait_finished(session: StationSession, timeout: float) -> bool:  # noqa: ASYNC109
    """True when the session's clean-up finished within `timeout`."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(session.wait_finished(), timeout)
        return True
    return False
