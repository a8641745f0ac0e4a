"""A simulated fleet: stations that connect, boot, report status, heartbeat and reconnect.

`Fleet` and `SimulatedStation` are importable so tests and the development stack can run a
fleet in-process; the `chargewatch-sim` command is a thin shell around them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chargewatch.simulator.clients import SUBPROTOCOLS, StationClient, make_client
from chargewatch.simulator.stats import Stats

log = logging.getLogger(__name__)

OCPP_VERSIONS = tuple(SUBPROTOCOLS)


@dataclass(frozen=True)
class StationConfig:
    station_id: str
    password: str
    ocpp_version: str = "1.6"
    connectors: int = 2
    tenant_id: str = ""
    site_id: str = ""

    def __post_init__(self) -> None:
        if self.ocpp_version not in SUBPROTOCOLS:
            raise ValueError(f"{self.station_id}: ocpp_version must be one of {OCPP_VERSIONS}")
        if not 1 <= self.connectors <= 16:
            raise ValueError(f"{self.station_id}: connectors must be between 1 and 16")


def load_fleet(path: Path) -> list[StationConfig]:
    """`{"stations": [{"station_id", "password", "ocpp_version", "connectors", ...}]}`; other keys are ignored."""
    document = json.loads(path.read_text())
    stations = document.get("stations") if isinstance(document, dict) else None
    if not isinstance(stations, list):
        raise ValueError(f"{path}: expected an object with a list under 'stations'")
    known = set(StationConfig.__dataclass_fields__)
    return [StationConfig(**{k: v for k, v in entry.items() if k in known}) for entry in stations]


def generated_fleet(
    count: int, *, password: str, prefix: str = "SIM", ocpp_version: str = "1.6", connectors: int = 2
) -> list[StationConfig]:
    """`count` stations named {prefix}-0001...; `ocpp_version` "mixed" alternates 1.6 and 2.0.1."""
    versions = OCPP_VERSIONS if ocpp_version == "mixed" else (ocpp_version,)
    return [
        StationConfig(
            station_id=f"{prefix}-{index + 1:04d}",
            password=password,
            ocpp_version=versions[index % len(versions)],
            connectors=connectors,
        )
        for index in range(count)
    ]


@dataclass(frozen=True)
class SimulatorOptions:
    url: str = "ws://127.0.0.1:9000/ocpp"
    #: Mean seconds between a station's status changes; 0 disables them.
    status_change_every: float = 30.0
    #: Upper bound on the heartbeat interval the CSMS gives (0: use the CSMS's interval as is).
    heartbeat_cap: float = 0.0
    #: Seconds over which the fleet's first connections are spread.
    connect_spread: float | None = None
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    response_timeout: float = 10.0
    open_timeout: float = 10.0
    vendor: str = "ChargeWatchSim"
    model: str = "SIM-22"


def basic_auth(station_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ConnectionDropped(Exception):
    """The station's socket closed while the simulation was running."""


class SimulatedStation:
    def __init__(self, config: StationConfig, options: SimulatorOptions, stats: Stats, rng: random.Random) -> None:
        self.config = config
        self.options = options
        self.stats = stats
        self.rng = rng
        self.statuses: dict[int, str] = {}
        self.heartbeat_interval = 0.0
        self.client: StationClient | None = None
        self._heartbeat_due: float | None = None
        self._change_due: float | None = None

    @property
    def station_id(self) -> str:
        return self.config.station_id

    @property
    def url(self) -> str:
        return f"{self.options.url.rstrip('/')}/{self.station_id}"

    def credentials(self) -> dict[str, str]:
        return basic_auth(self.station_id, self.config.password)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, boot and operate until `stop`; reconnect with back-off whenever the socket drops."""
        backoff = self.options.reconnect_min
        while not stop.is_set():
            try:
                async with websockets.connect(
                    self.url,
                    subprotocols=[SUBPROTOCOLS[self.config.ocpp_version]],  # type: ignore[list-item]
                    additional_headers=self.credentials(),
                    open_timeout=self.options.open_timeout,
                    compression=None,
                ) as socket:
                    self.stats.record_connected(self.station_id)
                    backoff = self.options.reconnect_min
                    await self._operate(socket, stop)
            except ConnectionDropped as dropped:
                self.stats.disconnects += 1
                log.info("connection dropped", extra={"station_id": self.station_id, "reason": str(dropped)})
            except InvalidStatus as refused:
                self.stats.record_error("connect", self.station_id, f"HTTP {refused.response.status_code}")
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as failed:
                if stop.is_set():
                    break
                self.stats.record_error("connect", self.station_id, f"{type(failed).__name__}: {failed}")
            if stop.is_set():
                break
            delay = backoff * self.rng.uniform(0.5, 1.0)
            backoff = min(backoff * 2, self.options.reconnect_max)
            await _sleep_or_stop(stop, delay)

    async def _operate(self, socket: Any, stop: asyncio.Event) -> None:
        client = make_client(
            self.config.ocpp_version,
            self.station_id,
            socket,
            self.stats,
            vendor=self.options.vendor,
            model=self.options.model,
            timeout=self.options.response_timeout,
        )
        client.on_trigger = self._triggered
        self.client = client
        self._heartbeat_due = self._change_due = None
        reader = asyncio.create_task(client.start(), name=f"{self.station_id}-reader")
        stopper = asyncio.create_task(stop.wait())
        try:
            await self._until_closed(self._boot_and_report(client), reader, stopper)
            while not stop.is_set():
                delay, action = self._next_action()
                done, _ = await asyncio.wait({reader, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    break
                if reader in done:
                    raise ConnectionDropped(_reader_outcome(reader))
                await self._until_closed(action(client), reader, stopper)
        finally:
            self.client = None
            stopper.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _until_closed(self, work: Any, reader: asyncio.Task[Any], stopper: asyncio.Task[Any]) -> None:
        """Run one step; a step cut short by a dropped socket or a stop is not an error."""
        step = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({step, reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if step in done:
            self._check(step)
            return
        step.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await step
        if reader in done:
            raise ConnectionDropped(_reader_outcome(reader))

    def _check(self, step: asyncio.Future[Any]) -> None:
        error = step.exception()
        if error is None:
            return
        if isinstance(error, ConnectionClosed):
            raise ConnectionDropped(str(error))
        kind = type(error).__name__
        code = getattr(error, "code", None)
        self.stats.record_error(f"{kind}{f' {code}' if code else ''}", self.station_id, str(error)[:200])

    async def _boot_and_report(self, client: StationClient) -> None:
        while True:
            answer = await client.boot()
            interval = float(answer.interval) or 60.0
            if self.options.heartbeat_cap > 0:
                interval = min(interval, self.options.heartbeat_cap)
            self.heartbeat_interval = interval
            if answer.status == "Accepted":
                break
            # Pending / Rejected: the CSMS says when to try again.
            await asyncio.sleep(interval)
        for connector in range(self.config.connectors + 1):
            status = self.statuses.setdefault(connector, "Available")
            await client.status(connector, status)

    def _next_action(self) -> tuple[float, Any]:
        """How long to wait and what to do then: a heartbeat or a status change, whichever comes first."""
        now = time.monotonic()
        if self._heartbeat_due is None:
            self._heartbeat_due = now + self.heartbeat_interval
        if self._change_due is None and self.options.status_change_every > 0:
            self._change_due = now + self._jitter(self.options.status_change_every)
        if self._change_due is not None and self._change_due < self._heartbeat_due:
            return max(0.0, self._change_due - now), self._change_status
        return max(0.0, self._heartbeat_due - now), self._heartbeat

    def _jitter(self, mean: float) -> float:
        return self.rng.uniform(0.5 * mean, 1.5 * mean)

    async def _heartbeat(self, client: StationClient) -> None:
        self._heartbeat_due = time.monotonic() + self.heartbeat_interval
        await client.heartbeat()

    async def _change_status(self, client: StationClient) -> None:
        self._change_due = time.monotonic() + self._jitter(self.options.status_change_every)
        connector = self.rng.randint(1, self.config.connectors)
        cycle = client.status_cycle
        current = self.statuses.get(connector, cycle[0])
        position = cycle.index(current) if current in cycle else -1
        self.statuses[connector] = cycle[(position + 1) % len(cycle)]
        await client.status(connector, self.statuses[connector])

    async def _triggered(self, requested: str, connector: int | None) -> None:
        """A CSMS command asked for a message or changed a connector's availability."""
        client = self.client
        if client is None:
            return
        try:
            if requested == "Heartbeat":
                await client.heartbeat()
            elif requested == "BootNotification":
                await client.boot()
            elif requested == "StatusNotification":
                targets = [connector] if connector is not None else sorted(self.statuses)
                for target in targets:
                    await client.status(target, self.statuses.get(target, "Available"))
            elif requested in {"Available", "Unavailable"} and connector is not None:
                for target in [connector] if connector else sorted(self.statuses):
                    self.statuses[target] = requested
                    await client.status(target, requested)
        except Exception as error:
            self.stats.record_error(type(error).__name__, self.station_id, str(error)[:200])


def _reader_outcome(reader: asyncio.Task[Any]) -> str:
    if reader.cancelled():
        return "cancelled"
    error = reader.exception()
    return f"{type(error).__name__}: {error}" if error is not None else "closed"


async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


@dataclass
class FleetResult:
    stats: Stats
    stations: int
    elapsed_seconds: float

    @property
    def errors(self) -> int:
        return self.stats.error_count

    def summary(self) -> str:
        return self.stats.summary(self.stations, self.elapsed_seconds)


@dataclass
class Fleet:
    stations: Sequence[StationConfig]
    options: SimulatorOptions = field(default_factory=SimulatorOptions)
    scenario: str = "normal"
    seed: int | None = None
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        from chargewatch.simulator.scenarios import scenario

        self._scenario = scenario(self.scenario)
        self._stop = asyncio.Event()
        rng = random.Random(self.seed)
        self.simulated = [
            SimulatedStation(config, self.options, self.stats, random.Random(rng.getrandbits(64)))
            for config in self.stations
        ]
        self._rng = rng

    def stop(self) -> None:
        self._stop.set()

    async def run(self, duration: float = 0.0) -> FleetResult:
        """Run every station until `duration` seconds have passed (0: until `stop`)."""
        started = time.monotonic()
        spread = self.options.connect_spread
        if spread is None:
            spread = min(2.0, len(self.simulated) / 200)
        tasks = [
            asyncio.create_task(self._start(station, self._rng.uniform(0, spread)), name=station.station_id)
            for station in self.simulated
        ]
        try:
            if duration > 0:
                await _sleep_or_stop(self._stop, duration)
            else:
                await self._stop.wait()
        finally:
            self._stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        return FleetResult(self.stats, len(self.simulated), time.monotonic() - started)

    async def _start(self, station: SimulatedStation, delay: float) -> None:
        if delay:
            await _sleep_or_stop(self._stop, delay)
        if not self._stop.is_set():
            await self._scenario.run_station(station, self._stop)
