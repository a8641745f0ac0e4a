"""What a message handler gets and how it is registered.

A handler is one async function per action: it receives the call's context and the validated
payload (camelCase, as on the wire), publishes the facts it learned, and returns the response
payload, which the dispatcher validates and sends. It raises `OcppError` to answer a CALLERROR.
Adding an action is one decorated function in the version's module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.protocol import Call, OcppVersion
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.ocpp_gateway.validation import schemas

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallContext:
    session: StationSession
    call: Call
    events: GatewayEvents
    settings: GatewaySettings
    received_at: datetime

    async def publish(self, payload: Message, *, station_time: datetime | None = None) -> None:
        """Publish a fact about the station; it carries the station's tenant and this call's trace."""
        await self.events.publish(self.session, payload, station_time=station_time)


Handler = Callable[[CallContext, Payload], Awaitable[Payload]]


class HandlerTable:
    """The actions one OCPP version's stations may send, and the handlers registered for them."""

    def __init__(self, version: OcppVersion, station_actions: frozenset[str]) -> None:
        unknown = station_actions - schemas(version).actions
        if unknown:
            raise ValueError(f"OCPP {version.label} has no actions {sorted(unknown)}")
        self.version = version
        self.station_actions = station_actions
        self._handlers: dict[str, Handler] = {}

    def on(self, action: str) -> Callable[[Handler], Handler]:
        if action not in self.station_actions:
            raise ValueError(f"{action} is not an action an OCPP {self.version.label} station sends")

        def register(handler: Handler) -> Handler:
            if action in self._handlers:
                raise ValueError(f"{action} already has a handler")
            self._handlers[action] = handler
            return handler

        return register

    def get(self, action: str) -> Handler | None:
        return self._handlers.get(action)

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return dict(self._handlers)
