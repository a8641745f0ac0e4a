"""Named scenarios: how the stations of a fleet behave, for the other services to test against.

- normal: boot, status of every connector, heartbeats, sessions (or status changes), reconnect with back-off.
- faults: connectors fault (StatusNotification Faulted with an error code; 2.0.1 also a NotifyEvent)
  and recover (Available) on a stated schedule (`--fault-schedule`, else derived from the seed).
- offline: stations close their socket on a stated schedule, keep queuing transaction messages and
  meter values with their original timestamps, and send the queue in order after reconnecting.
- brute-force: a share of the stations' ids is tried with wrong passwords, again and again.
- token-clone: one RFID is authorized and started at the two stations farthest apart, at once.
- tamper: stations report TamperDetectionActivated and their meter register goes backwards.
- flood: a few stations send Heartbeats/DataTransfers far above the normal rate.
- storm: every station drops its connection at once, reconnects at once and boots.

Every scenario states what it did in `Report.scenario` (and so in `--report`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chargewatch.simulator.report import ocpp_time, utc_now
from chargewatch.simulator.schedule import (
    Window,
    derive_fault_schedule,
    derive_offline_schedule,
    format_schedule,
    parse_fault_schedule,
    parse_offline_schedule,
)

if TYPE_CHECKING:
    from chargewatch.simulator.fleet import Fleet, SimulatedStation


@dataclass(frozen=True)
class ScenarioOptions:
    #: Stated fault windows (see `schedule`); empty: derived from the fleet's seed.
    fault_schedule: str = ""
    #: Stated offline windows; empty: derived from the fleet's seed.
    offline_schedule: str = ""
    #: Share of the stations a scenario affects (faults, offline, brute-force, tamper); at least one.
    share: float = 0.2
    #: brute-force: wrong-password attempts per attacked station id, and seconds between them.
    attempts: int = 20
    attempt_interval: float = 0.2
    #: flood: stations that flood, and messages per second each.
    flood_stations: int = 3
    flood_rate: float = 200.0
    #: storm: seconds after the start at which every station reconnects (default: a third of the run, else 10 s).
    storm_at: float | None = None
    #: token-clone: the RFID to clone (default: the first token of the pool).
    clone_token: str = ""
    #: tamper: Wh the register goes back, after this many meter values of the tampered session.
    rewind_wh: int = 500
    rewind_after: int = 2


class Scenario:
    name: ClassVar[str]
    description: ClassVar[str]

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        """Configure stations before they start (schedules, hooks) and state the plan in the report."""

    async def run_station(self, station: SimulatedStation, stop: asyncio.Event) -> None:
        await station.run(stop)

    async def run_fleet(self, fleet: Fleet, stop: asyncio.Event) -> None:
        """Fleet-wide behaviour running beside the stations (the storm's trigger)."""


def affected(fleet: Fleet, share: float) -> list[SimulatedStation]:
    """About `share` of the fleet, at least one station, spread evenly (the same for the same fleet)."""
    stations = fleet.simulated
    count = max(1, min(len(stations), math.ceil(len(stations) * share)))
    step = len(stations) / count
    return [stations[int(index * step)] for index in range(count)]


class Normal(Scenario):
    name = "normal"
    description = "boot, status of every connector, heartbeats, sessions or status changes, reconnect with back-off"


class Faults(Scenario):
    name = "faults"
    description = "connectors fault and recover on a stated schedule (--fault-schedule, else derived from --seed)"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        if options.fault_schedule:
            windows = parse_fault_schedule(options.fault_schedule)
        else:
            stations = [(s.station_id, s.config.connectors) for s in affected(fleet, 1.0)]
            windows = derive_fault_schedule(stations, fleet.seed, duration, share=options.share)
        for window in windows:
            station = fleet.station(window.station_id)
            if window.connector > station.config.connectors:
                raise ValueError(f"fault on {window.station_id}:{window.connector}: the station has "
                                 f"{station.config.connectors} connectors")  # fmt: skip
            station.fault_windows.append(window)
        fleet.report.scenario["fault_schedule"] = format_schedule(windows)


class Offline(Scenario):
    name = "offline"
    description = "stations go offline on a stated schedule, queue messages, reconnect and send the queue in order"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        if options.offline_schedule:
            windows = parse_offline_schedule(options.offline_schedule)
        else:
            ids = [s.station_id for s in fleet.simulated]
            windows = derive_offline_schedule(ids, fleet.seed, duration, share=options.share)
        for window in windows:
            fleet.station(window.station_id).offline_windows.append(window)
        fleet.report.scenario["offline_schedule"] = format_schedule(windows)


class BruteForce(Scenario):
    name = "brute-force"
    description = "a share of the station ids is tried with wrong passwords repeatedly (refusals are expected)"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        self.options = options
        self.targets = {s.station_id for s in affected(fleet, options.share)}
        fleet.report.scenario["brute_force"] = {
            "stations": sorted(self.targets), "attempts_per_station": options.attempts,
            "interval_seconds": options.attempt_interval,
        }  # fmt: skip

    async def run_station(self, station: SimulatedStation, stop: asyncio.Event) -> None:
        if station.station_id not in self.targets:
            await station.run(stop)
            return
        attack = asyncio.create_task(self._attack(station, stop))
        try:
            await station.run(stop)
        finally:
            attack.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await attack

    async def _attack(self, station: SimulatedStation, stop: asyncio.Event) -> None:
        for _ in range(self.options.attempts):
            if stop.is_set():
                return
            wrong = f"wrong-{secrets.token_hex(8)}"
            station.stats.record_sent("connect (wrong password)")
            try:
                socket = await station.connect(password=wrong)
            except InvalidStatus as refused:
                station.stats.record_refused(f"connect HTTP {refused.response.status_code} (wrong password)")
            except (OSError, InvalidHandshake, TimeoutError) as failed:
                station.stats.record_error("brute-force connect", station.station_id, f"{type(failed).__name__}")
            else:
                # A CSMS that lets a wrong password in is exactly what this scenario is for.
                station.stats.record_error("wrong password accepted", station.station_id, "handshake succeeded")
                with contextlib.suppress(Exception):
                    await socket.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.attempt_interval)


class TokenClone(Scenario):
    name = "token-clone"
    description = "one RFID authorized and started at the two stations farthest apart, at the same moment"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        if len(fleet.simulated) < 2:
            raise ValueError("token-clone needs at least two stations")
        first, second = _farthest_apart(fleet.simulated)
        token = (options.clone_token or fleet.tokens[0]).upper()
        together = asyncio.Barrier(2)

        async def present_card(station: SimulatedStation) -> None:
            station.on_booted.remove(present_card)  # once, not after every reconnect
            try:
                async with asyncio.timeout(30):
                    await together.wait()
            except TimeoutError:
                station.stats.record_error("token-clone", station.station_id, "the other station never booted")
                return
            connector = station.free_connector(None)
            if connector is None:
                station.stats.record_error("token-clone", station.station_id, "no free connector")
                return
            station.expected_refusals = True
            session = await station.start_session(connector, token)
            if session is None:
                station.stats.record_refused("token-clone second use")

        for station in (first, second):
            station.on_booted.append(present_card)
        fleet.report.scenario["token_clone"] = {
            "token": token,
            "stations": [first.station_id, second.station_id],
            "sites": [first.config.site_id, second.config.site_id],
            "distance_km": round(_distance_km(first, second), 1),
        }


class Tamper(Scenario):
    name = "tamper"
    description = "stations report TamperDetectionActivated and their meter registers go backwards mid-session"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        stations = affected(fleet, options.share)
        # A token of its own per tampered station, so the sessions do not collide on one card.
        tokens = {s.station_id: fleet.tokens[index % len(fleet.tokens)] for index, s in enumerate(stations)}

        async def tampered(station: SimulatedStation) -> None:
            station.on_booted.remove(tampered)
            await station.security_event("TamperDetectionActivated", "enclosure opened: cover switch")
            connector = station.free_connector(None)
            if connector is not None:
                await station.start_session(connector, tokens[station.station_id])

        for station in stations:
            station.rewind_after = options.rewind_after
            station.rewind_wh = options.rewind_wh
            station.on_booted.append(tampered)
        fleet.report.scenario["tamper"] = {
            "stations": [s.station_id for s in stations], "rewind_wh": options.rewind_wh,
            "after_meter_values": options.rewind_after,
        }  # fmt: skip


class Flood(Scenario):
    name = "flood"
    description = "a few stations send Heartbeats and DataTransfers far above the normal rate"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        stations = fleet.simulated[: max(1, min(options.flood_stations, len(fleet.simulated)))]
        interval = 1.0 / options.flood_rate if options.flood_rate > 0 else 0.0

        async def flood(station: SimulatedStation) -> None:
            client = station.client
            station.expected_refusals = True  # a CSMS may rate-limit: CallErrors are the point
            number = 0
            due = time.monotonic()
            while client is not None and station.client is client:
                number += 1
                payload = (
                    station.messages.heartbeat() if number % 2
                    else station.messages.data_transfer("ChargeWatchSim", "flood", str(number))
                )  # fmt: skip
                try:
                    await client.send(payload, validate=False)
                except ConnectionClosed:
                    return
                except Exception as refused:  # every CallError of a flood is an expected refusal
                    station.stats.record_refused(f"flood {type(refused).__name__}")
                due += interval
                await asyncio.sleep(max(0.0, due - time.monotonic()))

        for station in stations:
            station.on_booted.append(flood)
        fleet.report.scenario["flood"] = {
            "stations": [s.station_id for s in stations], "rate_per_second": options.flood_rate,
        }  # fmt: skip


class Storm(Scenario):
    name = "storm"
    description = "every station disconnects at once, reconnects at once and boots"

    def prepare(self, fleet: Fleet, duration: float, options: ScenarioOptions) -> None:
        self.at = options.storm_at if options.storm_at is not None else (duration / 3 if duration > 0 else 10.0)
        fleet.report.scenario["storm"] = {"at_seconds": self.at, "stations": len(fleet.simulated)}

    async def run_fleet(self, fleet: Fleet, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, fleet.started + self.at - time.monotonic()))
            return
        fleet.report.scenario["storm"]["triggered_at"] = ocpp_time(utc_now())
        fleet.trigger_storm()


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls for cls in (Normal, Faults, Offline, BruteForce, TokenClone, Tamper, Flood, Storm)
}


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(sorted(SCENARIOS))}") from None


def _distance_km(a: SimulatedStation, b: SimulatedStation) -> float:
    """Great-circle distance of two stations' locations (0 when either has none)."""
    if None in (a.config.latitude, a.config.longitude, b.config.latitude, b.config.longitude):
        return 0.0
    lat1, lon1, lat2, lon2 = (
        math.radians(v or 0.0) for v in (a.config.latitude, a.config.longitude, b.config.latitude, b.config.longitude)
    )
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _farthest_apart(stations: list[SimulatedStation]) -> tuple[SimulatedStation, SimulatedStation]:
    """The westmost and eastmost located stations (Amsterdam and Berlin in the dev fleet), else first and last."""
    located = [s for s in stations if s.config.latitude is not None and s.config.longitude is not None]
    if len(located) >= 2:
        west = min(located, key=lambda s: s.config.longitude or 0.0)
        east = max(located, key=lambda s: s.config.longitude or 0.0)
        if west is not east:
            return west, east
    return stations[0], stations[-1]


__all__ = ["SCENARIOS", "Scenario", "ScenarioOptions", "Window", "affected", "scenario"]
