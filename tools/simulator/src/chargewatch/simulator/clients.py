"""Charge point clients built on the `ocpp` package (an implementation independent of the gateway).

One adapter per OCPP version hides the payload differences behind the few calls a simulated
station makes, times every call, and answers the commands a CSMS sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from ocpp import routing
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201 import datatypes as types201
from ocpp.v201.enums import Action as Action201

from chargewatch.simulator.stats import Stats

SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def on(action: Any) -> Callable[[_Handler], _Handler]:
    """`ocpp.routing.on`, typed."""
    decorator: Callable[[_Handler], _Handler] = routing.on(action)
    return decorator


def after(action: Any) -> Callable[[_Handler], _Handler]:
    """`ocpp.routing.after`, typed."""
    decorator: Callable[[_Handler], _Handler] = routing.after(action)
    return decorator


@dataclass(frozen=True)
class BootAnswer:
    status: str
    interval: int


def ocpp_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StationClient(Protocol):
    """What a simulated station does over its socket, whatever the OCPP version."""

    #: The connector statuses this version knows, in the order a charging session walks them.
    status_cycle: tuple[str, ...]
    #: Called when a CSMS command asks for a message (TriggerMessage) or a status change.
    on_trigger: Callable[[str, int | None], Awaitable[None]] | None

    async def start(self) -> None: ...

    async def boot(self) -> BootAnswer: ...

    async def status(self, connector: int, status: str) -> None: ...

    async def heartbeat(self) -> None: ...


class _Timed:
    """Mixin: one timed `call` per message, counted in the simulation's stats."""

    stats: Stats

    async def timed(self, action: str, payload: Any) -> Any:
        self.stats.record_sent(action)
        started = time.perf_counter()
        answer = await self.call(payload, suppress=False)  # type: ignore[attr-defined]
        self.stats.record_answer(action, time.perf_counter() - started)
        return answer

    def _later(self, requested: str, connector: int | None) -> None:
        trigger = getattr(self, "on_trigger", None)
        if trigger is not None:
            asyncio.get_running_loop().create_task(trigger(requested, connector))


class Client16(_Timed, ChargePoint16):  # type: ignore[misc]
    status_cycle = ("Available", "Preparing", "Charging", "SuspendedEV", "Charging", "Finishing")

    def __init__(self, station_id: str, socket: Any, stats: Stats, *, vendor: str, model: str, timeout: float) -> None:
        super().__init__(station_id, socket, response_timeout=timeout)
        self.stats = stats
        self.vendor = vendor
        self.model = model
        self.on_trigger: Callable[[str, int | None], Awaitable[None]] | None = None

    async def boot(self) -> BootAnswer:
        answer = await self.timed(
            "BootNotification",
            call16.BootNotification(
                charge_point_vendor=self.vendor,
                charge_point_model=self.model,
                charge_point_serial_number=f"SN-{self.id}",
                firmware_version="sim-1.0",
            ),
        )
        return BootAnswer(str(answer.status), int(answer.interval))

    async def status(self, connector: int, status: str) -> None:
        await self.timed(
            "StatusNotification",
            call16.StatusNotification(
                connector_id=connector, error_code="NoError", status=status, timestamp=ocpp_now()
            ),
        )

    async def heartbeat(self) -> None:
        await self.timed("Heartbeat", call16.Heartbeat())

    @on(Action16.reset)
    async def _on_reset(self, type: str, **_: Any) -> Any:
        self.stats.record_received("Reset")
        return result16.Reset(status="Accepted")

    @on(Action16.change_availability)
    async def _on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        self.stats.record_received("ChangeAvailability")
        return result16.ChangeAvailability(status="Accepted")

    @after(Action16.change_availability)
    async def _after_change_availability(self, connector_id: int, type: str, **_: Any) -> None:
        self._later("Unavailable" if type == "Inoperative" else "Available", connector_id)

    @on(Action16.trigger_message)
    async def _on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        self.stats.record_received("TriggerMessage")
        known = requested_message in {"BootNotification", "Heartbeat", "StatusNotification"}
        return result16.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action16.trigger_message)
    async def _after_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> None:
        self._later(requested_message, connector_id)


class Client201(_Timed, ChargePoint201):  # type: ignore[misc]
    status_cycle = ("Available", "Occupied")

    def __init__(self, station_id: str, socket: Any, stats: Stats, *, vendor: str, model: str, timeout: float) -> None:
        super().__init__(station_id, socket, response_timeout=timeout)
        self.stats = stats
        self.vendor = vendor
        self.model = model
        self.on_trigger: Callable[[str, int | None], Awaitable[None]] | None = None

    async def boot(self) -> BootAnswer:
        answer = await self.timed(
            "BootNotification",
            call201.BootNotification(
                charging_station=types201.ChargingStationType(
                    vendor_name=self.vendor, model=self.model, serial_number=f"SN-{self.id}", firmware_version="sim-1.0"
                ),
                reason="PowerUp",
            ),
        )
        return BootAnswer(str(answer.status), int(answer.interval))

    async def status(self, connector: int, status: str) -> None:
        # 2.0.1 reports per EVSE and connector; the simulator gives each EVSE one connector and
        # has no "whole station" connector 0 (2.0.1 reports that as a component, not a status).
        if connector == 0:
            return
        await self.timed(
            "StatusNotification",
            call201.StatusNotification(
                timestamp=ocpp_now(), connector_status=status, evse_id=connector, connector_id=1
            ),
        )

    async def heartbeat(self) -> None:
        await self.timed("Heartbeat", call201.Heartbeat())

    @on(Action201.reset)
    async def _on_reset(self, type: str, **_: Any) -> Any:
        self.stats.record_received("Reset")
        return result201.Reset(status="Accepted")

    @on(Action201.change_availability)
    async def _on_change_availability(self, operational_status: str, **_: Any) -> Any:
        self.stats.record_received("ChangeAvailability")
        return result201.ChangeAvailability(status="Accepted")

    @on(Action201.trigger_message)
    async def _on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        self.stats.record_received("TriggerMessage")
        known = requested_message in {"BootNotification", "Heartbeat", "StatusNotification"}
        return result201.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action201.trigger_message)
    async def _after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self._later(requested_message, evse.get("id") if evse else None)


def make_client(
    ocpp_version: str, station_id: str, socket: Any, stats: Stats, *, vendor: str, model: str, timeout: float
) -> StationClient:
    factory = Client16 if ocpp_version == "1.6" else Client201
    client: StationClient = factory(station_id, socket, stats, vendor=vendor, model=model, timeout=timeout)
    return client
