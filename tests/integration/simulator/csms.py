"""A minimal CSMS for the simulator's tests, on the `ocpp` package's server-side classes.

It checks HTTP Basic credentials at the handshake, answers every station message (the `ocpp`
package validates each against the OCPP schemas), records them in order per station, refuses a
token already charging elsewhere (ConcurrentTx) and lets a test send commands to a station.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Message:
    station_id: str
    action: str
    payload: dict[str, Any]
    connection: int  # which connection of the station it came on (1, 2, ...)
    transaction_id: int | None = None  # 1.6 StartTransaction: the id the CSMS gave


@dataclass
class Csms:
    passwords: dict[str, str] = field(default_factory=dict)
    accept_any_password: bool = False
    refused_tokens: set[str] = field(default_factory=set)
    heartbeat_interval: int = 60
    messages: list[Message] = field(default_factory=list)
    connections: dict[str, Any] = field(default_factory=dict)
    connection_count: dict[str, int] = field(default_factory=dict)
    handshakes: list[tuple[str, str]] = field(default_factory=list)  # (station, password) tried
    #: Station -> how many of its next handshakes are answered 503 with `Retry-After: 1` (busy).
    busy_answers: dict[str, int] = field(default_factory=dict)
    #: Every handshake's answer in order: (station, HTTP status; 101 when it was let in).
    answers: list[tuple[str, int]] = field(default_factory=list)
    active_tokens: dict[str, str] = field(default_factory=dict)  # token -> station charging with it
    #: Seconds a transaction's start (1.6 StartTransaction, 2.0.1 TransactionEvent Started) waits for its answer.
    start_answer_delay: float = 0.0
    port: int = 0
    _tx_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def record(self, station_id: str, action: str, payload: dict[str, Any]) -> None:
        self.messages.append(Message(station_id, action, payload, self.connection_count.get(station_id, 0)))

    def of(self, station_id: str, *actions: str) -> list[Message]:
        return [m for m in self.messages if m.station_id == station_id and (not actions or m.action in actions)]

    def decide(self, station_id: str, token: str) -> str:
        if token in self.refused_tokens:
            return "Invalid"
        holder = self.active_tokens.get(token)
        return "ConcurrentTx" if holder is not None and holder != station_id else "Accepted"

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met")
            await asyncio.sleep(0.02)

    def _check(self, connection: Any, request: Any) -> Any:
        station_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        header = request.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
        self.handshakes.append((station_id, password))
        if self.busy_answers.get(station_id, 0) > 0:
            self.busy_answers[station_id] -= 1
            self.answers.append((station_id, HTTPStatus.SERVICE_UNAVAILABLE))
            busy = connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "busy\n")
            busy.headers["Retry-After"] = "1"
            return busy
        if user != station_id or (not self.accept_any_password and self.passwords.get(station_id) != password):
            self.answers.append((station_id, HTTPStatus.UNAUTHORIZED))
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
        self.answers.append((station_id, HTTPStatus.SWITCHING_PROTOCOLS))
        return None

    async def _serve(self, socket: Any) -> None:
        station_id = socket.request.path.rstrip("/").rsplit("/", 1)[-1]
        self.connection_count[station_id] = self.connection_count.get(station_id, 0) + 1
        factory = Station16 if socket.subprotocol == "ocpp1.6" else Station201
        station = factory(station_id, socket, self)
        self.connections[station_id] = station
        with contextlib.suppress(websockets.ConnectionClosed):
            await station.start()


@asynccontextmanager
async def running_csms(csms: Csms) -> AsyncIterator[Csms]:
    async with websockets.serve(
        csms._serve, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"],  # type: ignore[list-item]
        process_request=csms._check,
    ) as server:  # fmt: skip
        csms.port = next(iter(server.sockets)).getsockname()[1]
        yield csms


class Station16(ChargePoint16):  # type: ignore[misc]
    def __init__(self, station_id: str, socket: Any, csms: Csms) -> None:
        super().__init__(station_id, socket, response_timeout=5)
        self.csms = csms

    def _record(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.record(self.id, action, payload)

    @on(Action16.boot_notification)
    async def boot(self, **payload: Any) -> Any:
        self._record("BootNotification", payload)
        return result16.BootNotification(current_time=now(), interval=self.csms.heartbeat_interval, status="Accepted")

    @on(Action16.heartbeat)
    async def heartbeat(self, **payload: Any) -> Any:
        self._record("Heartbeat", payload)
        return result16.Heartbeat(current_time=now())

    @on(Action16.status_notification)
    async def status(self, **payload: Any) -> Any:
        self._record("StatusNotification", payload)
        return result16.StatusNotification()

    @on(Action16.authorize)
    async def authorize(self, **payload: Any) -> Any:
        self._record("Authorize", payload)
        return result16.Authorize(id_tag_info={"status": self.csms.decide(self.id, payload["id_tag"])})

    @on(Action16.start_transaction)
    async def start_transaction(self, **payload: Any) -> Any:
        self._record("StartTransaction", payload)
        message = self.csms.messages[-1]
        await asyncio.sleep(self.csms.start_answer_delay)
        status = self.csms.decide(self.id, payload["id_tag"])
        if status == "Accepted":
            self.csms.active_tokens[payload["id_tag"]] = self.id
        transaction_id = next(self.csms._tx_ids)
        message.transaction_id = transaction_id
        return result16.StartTransaction(transaction_id=transaction_id, id_tag_info={"status": status})

    @on(Action16.stop_transaction)
    async def stop_transaction(self, **payload: Any) -> Any:
        self._record("StopTransaction", payload)
        if self.csms.active_tokens.get(payload.get("id_tag", "")) == self.id:
            del self.csms.active_tokens[payload["id_tag"]]
        return result16.StopTransaction()

    @on(Action16.meter_values)
    async def meter_values(self, **payload: Any) -> Any:
        self._record("MeterValues", payload)
        return result16.MeterValues()

    @on(Action16.data_transfer)
    async def data_transfer(self, **payload: Any) -> Any:
        self._record("DataTransfer", payload)
        return result16.DataTransfer(status="Accepted")

    @on(Action16.security_event_notification)
    async def security_event(self, **payload: Any) -> Any:
        self._record("SecurityEventNotification", payload)
        return result16.SecurityEventNotification()

    @on(Action16.firmware_status_notification)
    async def firmware_status(self, **payload: Any) -> Any:
        self._record("FirmwareStatusNotification", payload)
        return result16.FirmwareStatusNotification()

    @on(Action16.signed_firmware_status_notification)
    async def signed_firmware_status(self, **payload: Any) -> Any:
        self._record("SignedFirmwareStatusNotification", payload)
        return result16.SignedFirmwareStatusNotification()

    @on(Action16.diagnostics_status_notification)
    async def diagnostics_status(self, **payload: Any) -> Any:
        self._record("DiagnosticsStatusNotification", payload)
        return result16.DiagnosticsStatusNotification()

    @on(Action16.log_status_notification)
    async def log_status(self, **payload: Any) -> Any:
        self._record("LogStatusNotification", payload)
        return result16.LogStatusNotification()

    @on(Action16.sign_certificate)
    async def sign_certificate(self, **payload: Any) -> Any:
        self._record("SignCertificate", payload)
        return result16.SignCertificate(status="Accepted")


class Station201(ChargePoint201):  # type: ignore[misc]
    def __init__(self, station_id: str, socket: Any, csms: Csms) -> None:
        super().__init__(station_id, socket, response_timeout=5)
        self.csms = csms

    def _record(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.record(self.id, action, payload)

    @on(Action201.boot_notification)
    async def boot(self, **payload: Any) -> Any:
        self._record("BootNotification", payload)
        return result201.BootNotification(current_time=now(), interval=self.csms.heartbeat_interval, status="Accepted")

    @on(Action201.heartbeat)
    async def heartbeat(self, **payload: Any) -> Any:
        self._record("Heartbeat", payload)
        return result201.Heartbeat(current_time=now())

    @on(Action201.status_notification)
    async def status(self, **payload: Any) -> Any:
        self._record("StatusNotification", payload)
        return result201.StatusNotification()

    @on(Action201.authorize)
    async def authorize(self, **payload: Any) -> Any:
        self._record("Authorize", payload)
        status = self.csms.decide(self.id, payload["id_token"]["id_token"])
        return result201.Authorize(id_token_info={"status": status})

    @on(Action201.transaction_event)
    async def transaction_event(self, **payload: Any) -> Any:
        self._record("TransactionEvent", payload)
        token = (payload.get("id_token") or {}).get("id_token", "")
        if payload["event_type"] == "Started":
            await asyncio.sleep(self.csms.start_answer_delay)
        if payload["event_type"] == "Started" and token:
            status = self.csms.decide(self.id, token)
            if status == "Accepted":
                self.csms.active_tokens[token] = self.id
            return result201.TransactionEvent(id_token_info={"status": status})
        if payload["event_type"] == "Ended" and self.csms.active_tokens.get(token) == self.id:
            del self.csms.active_tokens[token]
        return result201.TransactionEvent()

    @on(Action201.meter_values)
    async def meter_values(self, **payload: Any) -> Any:
        self._record("MeterValues", payload)
        return result201.MeterValues()

    @on(Action201.notify_event)
    async def notify_event(self, **payload: Any) -> Any:
        self._record("NotifyEvent", payload)
        return result201.NotifyEvent()

    @on(Action201.notify_report)
    async def notify_report(self, **payload: Any) -> Any:
        self._record("NotifyReport", payload)
        return result201.NotifyReport()

    @on(Action201.security_event_notification)
    async def security_event(self, **payload: Any) -> Any:
        self._record("SecurityEventNotification", payload)
        return result201.SecurityEventNotification()

    @on(Action201.firmware_status_notification)
    async def firmware_status(self, **payload: Any) -> Any:
        self._record("FirmwareStatusNotification", payload)
        return result201.FirmwareStatusNotification()

    @on(Action201.log_status_notification)
    async def log_status(self, **payload: Any) -> Any:
        self._record("LogStatusNotification", payload)
        return result201.LogStatusNotification()

    @on(Action201.data_transfer)
    async def data_transfer(self, **payload: Any) -> Any:
        self._record("DataTransfer", payload)
        return result201.DataTransfer(status="Accepted")

    @on(Action201.sign_certificate)
    async def sign_certificate(self, **payload: Any) -> Any:
        self._record("SignCertificate", payload)
        return result201.SignCertificate(status="Accepted")
