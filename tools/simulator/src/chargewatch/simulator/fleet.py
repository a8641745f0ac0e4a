"""A simulated fleet: stations that connect, boot, report status, heartbeat, charge and reconnect.

`Fleet` and `SimulatedStation` are importable so tests and the development stack can run a
fleet in-process; the `chargewatch-sim` command is a thin shell around them.

A station's world (meters, sessions, faults, scheduled offline periods) keeps going whether or
not it has a connection: while it has none, the transaction messages and meter values it would
send are queued with their original timestamps and sent in order after the next boot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import websockets
from ocpp.exceptions import OCPPError
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chargewatch.simulator.clients import SUBPROTOCOLS, Client16, Client201, FollowUp, make_client
from chargewatch.simulator.messages import Transaction, action_of, messages_for
from chargewatch.simulator.meter import ConnectorMeter
from chargewatch.simulator.offline import DEFAULT_CAPACITY, TRANSACTION_ACTIONS, OfflineQueue
from chargewatch.simulator.report import FaultRecord, OfflineRecord, Report, SessionRecord, ocpp_time, utc_now
from chargewatch.simulator.schedule import Window
from chargewatch.simulator.stats import Stats
from chargewatch.simulator.tokens import generate_tokens

if TYPE_CHECKING:
    from chargewatch.simulator.scenarios import ScenarioOptions

log = logging.getLogger(__name__)

OCPP_VERSIONS = tuple(SUBPROTOCOLS)
# Messages worth keeping while offline: billing records and the meter values between them.
QUEUEABLE = TRANSACTION_ACTIONS | {"MeterValues", "SecurityEventNotification"}
Action = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class StationConfig:
    station_id: str
    password: str
    ocpp_version: str = "1.6"
    connectors: int = 2
    tenant_id: str = ""
    site_id: str = ""
    latitude: float | None = None
    longitude: float | None = None

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
    count: int,
    *,
    password: str,
    prefix: str = "SIM",
    ocpp_version: str = "1.6",
    connectors: int | None = 2,
    share_201: float | None = None,
) -> list[StationConfig]:
    """`count` stations named {prefix}-0001...

    `ocpp_version` "mixed" alternates 1.6 and 2.0.1, or, with `share_201`, makes that share of the
    fleet 2.0.1 (spread evenly). `connectors` None gives 1-4 connectors, cycling.
    """
    stations = []
    for index in range(count):
        if ocpp_version != "mixed":
            version = ocpp_version
        elif share_201 is None:
            version = OCPP_VERSIONS[index % 2]
        else:
            # Bresenham spread: station i is 2.0.1 when the running share crosses a whole number.
            version = "2.0.1" if int((index + 1) * share_201) > int(index * share_201) else "1.6"
        stations.append(
            StationConfig(
                station_id=f"{prefix}-{index + 1:04d}",
                password=password,
                ocpp_version=version,
                connectors=connectors if connectors is not None else 1 + index % 4,
            )
        )
    return stations


def default_connect_spread(stations: int) -> float:
    """Seconds over which a fleet's first connections are spread: 20 stations a second, at most a minute.

    A station's first login costs the CSMS a slow password hash (argon2id, by design); a real fleet
    comes online over time, and 20 logins a second is what one authz process absorbs on a small
    machine. The `storm` scenario is the case of every station at once.
    """
    return min(60.0, stations / 20)


# First logins in flight at once from the command line: a few times what one authz hashing
# thread finishes in a second on a small machine, so the ramp follows the CSMS's pace.
DEFAULT_CONNECT_WINDOW = 20


@dataclass(frozen=True)
class SimulatorOptions:
    url: str = "ws://127.0.0.1:9000/ocpp"
    #: Mean seconds between a station's status changes on idle connectors; 0 disables them. Unused when sessions run.
    status_change_every: float = 30.0
    #: Upper bound on the heartbeat interval the CSMS gives (0: use the CSMS's interval as is).
    heartbeat_cap: float = 0.0
    #: Mean idle seconds before a connector starts a session; 0: no sessions of the stations' own accord.
    session_every: float = 0.0
    #: Mean seconds a session lasts.
    session_duration: float = 120.0
    #: Seconds between meter values of a running session.
    meter_interval: float = 10.0
    #: When the run ends, stop running sessions (StopTransaction reason Local) so every session is complete.
    end_sessions_on_stop: bool = True
    #: Seconds over which the fleet's first connections are spread (default: `default_connect_spread`).
    connect_spread: float | None = None
    #: Most stations trying their first connection at once (0: no bound); see `Fleet.run`.
    connect_window: int = 0
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    response_timeout: float = 10.0
    open_timeout: float = 10.0
    #: Seconds between the steps of firmware, diagnostics and log progress after a command.
    command_step_delay: float = 0.2
    offline_queue_capacity: int = DEFAULT_CAPACITY
    #: Check outgoing messages and answers against the OCPP schemas (the `ocpp` package's validation).
    validate_messages: bool = True
    #: TLS (wss://): CA bundle to trust, and a client certificate and key for security profile 3.
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    vendor: str = "ChargeWatchSim"
    model: str = "SIM-22"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("wss://"):
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def basic_auth(station_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ConnectionDropped(Exception):
    """The station's socket closed while the simulation was running."""


class _Leave(Exception):
    """The station closes its own connection on purpose (offline window, storm, reset)."""


@dataclass
class ActiveSession:
    tx: Transaction
    record: SessionRecord | None = None
    meter_due: float = 0.0
    stop_due: float = float("inf")
    last_advance: float = 0.0
    meter_values: int = 0


class SimulatedStation:
    """One charge point; `run` connects and operates it until the fleet stops."""

    def __init__(
        self,
        config: StationConfig,
        options: SimulatorOptions,
        stats: Stats,
        rng: random.Random,
        *,
        report: Report | None = None,
        tokens: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.options = options
        self.stats = stats
        self.rng = rng
        self.report = report if report is not None else Report()
        self.tokens = list(tokens) or generate_tokens(8)
        self.messages = messages_for(config.ocpp_version)
        self.password = config.password
        self.statuses: dict[int, str] = {}
        #: ChangeAvailability answered "Scheduled": the status each busy connector takes when it is free again.
        self.scheduled_statuses: dict[int, str] = {}
        self.errors: dict[int, str] = {}  # connector -> error code while faulted
        self.meters = {
            c: ConnectorMeter(register_wh=rng.randint(100_000, 5_000_000), phases=rng.choice((1, 3, 3)))
            for c in range(1, config.connectors + 1)
        }
        self.sessions: dict[int, ActiveSession] = {}
        self.queue = OfflineQueue(options.offline_queue_capacity)
        self.configuration: dict[str, str] = {
            "HeartbeatInterval": "60",
            "MeterValueSampleInterval": f"{options.meter_interval:g}",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
            "NumberOfConnectors": str(config.connectors),
            "LocalAuthorizeOffline": "true",
            "SecurityProfile": "2" if options.url.startswith("wss://") else "1",
            "Model": options.model,
        }
        self.local_list_version = 0
        self.local_list: dict[str, str] = {}
        self.heartbeat_interval = 0.0
        self.client: Client16 | Client201 | None = None
        #: Scenario knobs: stated windows (seconds from `t0`), an event that closes every socket at once.
        self.t0 = time.monotonic()
        self.fault_windows: list[Window] = []
        self.offline_windows: list[Window] = []
        self.storm: Callable[[], asyncio.Event] | None = None
        self.on_booted: list[Callable[[SimulatedStation], Awaitable[None]]] = []
        #: Tamper scenario: after this many meter values of a session, the register goes back `rewind_wh`.
        self.rewind_after: int | None = None
        self.rewind_wh = 0
        self.expected_refusals = False
        #: Called once, when the first connection attempt is answered other than 503 (or the station
        #: stops trying): the fleet's boot ramp lets the next station begin.
        self.first_login_over: Callable[[], None] | None = None
        self._heartbeat_due: float | None = None
        self._change_due: float | None = None
        self._session_due: dict[int, float] = {}
        self._offline: OfflineRecord | None = None
        self._follow_ups: set[asyncio.Task[None]] = set()
        self._socket: Any = None
        self._event_id = 0
        self._windows_done: set[Window] = set()
        self._faults_active: dict[Window, FaultRecord] = {}
        self._leaving: str | None = None
        # Set when a command or hook changes what is due (a session started), so the world loop looks again.
        self._wake = asyncio.Event()

    # -- identity ---------------------------------------------------------------------------
    @property
    def station_id(self) -> str:
        return self.config.station_id

    @property
    def connector_count(self) -> int:
        return self.config.connectors

    @property
    def url(self) -> str:
        return f"{self.options.url.rstrip('/')}/{self.station_id}"

    def credentials(self, password: str | None = None) -> dict[str, str]:
        return basic_auth(self.station_id, self.password if password is None else password)

    def set_password(self, password: str) -> None:
        """A CSMS set a new password (AuthorizationKey / BasicAuthPassword): used from the next connection."""
        self.password = password

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    async def connect(self, password: str | None = None) -> Any:
        return await websockets.connect(
            self.url,
            subprotocols=[SUBPROTOCOLS[self.config.ocpp_version]],  # type: ignore[list-item]
            additional_headers=self.credentials(password),
            open_timeout=self.options.open_timeout,
            compression=None,
            ssl=self.options.ssl_context(),
        )

    # -- the connection loop ----------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, boot and operate until `stop`; reconnect with back-off whenever the socket drops."""
        try:
            await self._connection_loop(stop)
        finally:
            self.end_first_login()
        await self._settle_follow_ups()

    def end_first_login(self) -> None:
        """The first connection attempt was answered other than 503, or the station stopped trying."""
        done, self.first_login_over = self.first_login_over, None
        if done is not None:
            done()

    async def _connection_loop(self, stop: asyncio.Event) -> None:
        backoff = self.options.reconnect_min
        while not stop.is_set():
            window = self._offline_window_now()
            if window is not None:
                self.end_first_login()
                await self._stay_offline(stop, window)
                continue
            delay: float | None = None
            try:
                socket = await self.connect()
            except InvalidStatus as refused:
                if refused.response.status_code == HTTPStatus.SERVICE_UNAVAILABLE:
                    self.stats.record_busy(self.station_id)
                    # A CSMS that says when to come back is taken at its word (no back-off growth).
                    retry_after = _retry_after(refused.response.headers.get("Retry-After"))
                    if retry_after is not None:
                        delay = retry_after * self.rng.uniform(1.0, 1.2)
                else:
                    self.end_first_login()
                    self.stats.record_error("connect", self.station_id, f"HTTP {refused.response.status_code}")
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as failed:
                self.end_first_login()
                if stop.is_set():
                    break
                self.stats.record_error("connect", self.station_id, f"{type(failed).__name__}: {failed}")
            else:
                self.end_first_login()
                self.stats.record_connected(self.station_id)
                backoff = self.options.reconnect_min
                delay = 0.0
                self._leaving = None
                try:
                    await self._operate(socket, stop)
                except _Leave:
                    pass
                except ConnectionDropped as dropped:
                    if self._leaving is None:
                        self.stats.disconnects += 1
                        delay = None
                    log.info("connection dropped", extra={"station_id": self.station_id, "reason": str(dropped)})
                finally:
                    with contextlib.suppress(Exception):
                        await socket.close()
            if stop.is_set():
                break
            if delay is None:
                delay = backoff * self.rng.uniform(0.5, 1.0)
                backoff = min(backoff * 2, self.options.reconnect_max)
            if delay > 0:
                # The world goes on while the station waits to reconnect.
                await self._live(stop, None, until=time.monotonic() + delay)

    async def _stay_offline(self, stop: asyncio.Event, window: Window) -> None:
        """A stated offline period: no connection, messages queued, back at the window's end."""
        self._offline = self.report.went_offline(self.station_id, utc_now())
        self.stats.record_offline(self.station_id)
        try:
            await self._live(stop, None, until=self.t0 + window.end)
        finally:
            self._windows_done.add(window)
            self._offline.ended_at = utc_now()
            self._offline = None

    def _offline_window_now(self) -> Window | None:
        now = self.elapsed()
        return next((w for w in self.offline_windows if w.start <= now < w.end and w not in self._windows_done), None)

    async def _operate(self, socket: Any, stop: asyncio.Event) -> None:
        self._socket = socket
        client = make_client(
            self.config.ocpp_version, self.station_id, socket, self.stats, self, self.options.response_timeout
        )
        self.client = client
        self._heartbeat_due = self._change_due = None
        reader = asyncio.create_task(client.start(), name=f"{self.station_id}-reader")
        try:
            await self._step(self._boot_and_report(), reader, stop)
            await self._live(stop, reader)
            if stop.is_set() and self.options.end_sessions_on_stop and self.sessions:
                with contextlib.suppress(ConnectionDropped, TimeoutError):
                    async with asyncio.timeout(self.options.response_timeout):
                        await self._step(self._end_all_sessions("Local"), reader, None)
        finally:
            self.client = None
            self._socket = None
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _step(self, work: Awaitable[Any], reader: asyncio.Task[Any] | None, stop: asyncio.Event | None) -> None:
        """Run one step; a step cut short by a dropped socket or a stop is not an error."""
        step = asyncio.ensure_future(work)
        waiters: set[asyncio.Future[Any]] = {step}
        if reader is not None:
            waiters.add(reader)
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if stopper is not None:
            waiters.add(stopper)
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopper is not None:
                stopper.cancel()
        if step in done:
            self._check(step)
            return
        if stopper is not None and stopper in done and (reader is None or reader not in done):
            # Stopping: the exchange in flight is finished first, within the answer timeout. Cut short,
            # a transaction the CSMS was told of would be missing from the report and never ended.
            done, _ = await asyncio.wait(
                {step} if reader is None else {step, reader},
                timeout=self.options.response_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if step in done:
                self._check(step)
                return
        step.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await step
        if reader is not None and reader in done:
            raise ConnectionDropped(_reader_outcome(reader))

    def _check(self, step: asyncio.Future[Any]) -> None:
        error = step.exception()
        if error is None:
            return
        if isinstance(error, _Leave):
            raise error
        if isinstance(error, ConnectionClosed):
            raise ConnectionDropped(str(error))
        self._record_failure(error)

    def _record_failure(self, error: BaseException) -> None:
        kind = type(error).__name__
        code = getattr(error, "code", None)
        if self.expected_refusals and isinstance(error, OCPPError):
            self.stats.record_refused(f"{kind}{f' {code}' if code else ''}")
            return
        self.stats.record_error(f"{kind}{f' {code}' if code else ''}", self.station_id, str(error)[:200])

    # -- the station's world ----------------------------------------------------------------
    async def _live(self, stop: asyncio.Event, reader: asyncio.Task[Any] | None, until: float | None = None) -> None:
        """Do whatever falls due, connected (`reader`) or not, until stop, `until`, a drop or a leave."""
        connected = reader is not None
        stopper = asyncio.create_task(stop.wait())
        storm = asyncio.create_task(self.storm().wait()) if connected and self.storm is not None else None
        wake = asyncio.create_task(self._wake.wait())
        try:
            while not stop.is_set():
                due, action = self._next_action(connected)
                if until is not None and until <= due:
                    due, action = until, None
                waiters: set[asyncio.Future[Any]] = {stopper, wake}
                if reader is not None:
                    waiters.add(reader)
                if storm is not None:
                    waiters.add(storm)
                timeout = max(0.0, due - time.monotonic())
                done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    return
                if reader is not None and reader in done:
                    raise ConnectionDropped(_reader_outcome(reader))
                if wake in done:
                    self._wake.clear()
                    wake = asyncio.create_task(self._wake.wait())
                    continue
                if storm is not None and storm in done:
                    self.stats.record_storm(self.station_id)
                    raise _Leave("storm")
                if action is not None:
                    await self._step(action(), reader, stop)
                elif until is not None and due == until:
                    return
        finally:
            stopper.cancel()
            wake.cancel()
            if storm is not None:
                storm.cancel()

    def _next_action(self, connected: bool) -> tuple[float, Action | None]:
        """The earliest thing due: heartbeat, status change, session start/meter/stop, fault, going offline."""
        now = time.monotonic()
        idle_horizon = now + 3600.0
        candidates: list[tuple[float, Action | None]] = [(idle_horizon, None)]
        if connected:
            if self._heartbeat_due is None:
                self._heartbeat_due = now + (self.heartbeat_interval or 60.0)
            candidates.append((self._heartbeat_due, self._heartbeat))
            if self.options.session_every > 0:
                for connector in range(1, self.config.connectors + 1):
                    if self._can_start(connector):
                        due = self._session_due.setdefault(connector, now + self._jitter(self.options.session_every))
                        candidates.append((due, partial(self._own_session, connector)))
            elif self.options.status_change_every > 0:
                if self._change_due is None:
                    self._change_due = now + self._jitter(self.options.status_change_every)
                candidates.append((self._change_due, self._change_status))
            for window in self.offline_windows:
                if window not in self._windows_done and self.t0 + window.end > now:
                    candidates.append((self.t0 + window.start, self._go_offline))
                    break
        for session in list(self.sessions.values()):
            if session.record is None:
                continue
            candidates.append((session.meter_due, partial(self._meter_step, session)))
            candidates.append((session.stop_due, partial(self._stop_session, session, "EVDisconnected")))
        for window in self.fault_windows:
            if window in self._windows_done:
                continue
            if window in self._faults_active:
                candidates.append((self.t0 + window.end, partial(self._recover, window)))
            elif window.connector not in self.errors:
                candidates.append((self.t0 + window.start, partial(self._fault, window)))
        return min(candidates, key=lambda c: c[0])

    def _jitter(self, mean: float) -> float:
        return self.rng.uniform(0.5 * mean, 1.5 * mean)

    def _can_start(self, connector: int) -> bool:
        return (
            connector not in self.sessions
            and connector not in self.errors
            and self.statuses.get(connector, "Available") == "Available"
        )

    def free_connector(self, preferred: int | None) -> int | None:
        if preferred:
            return preferred if 1 <= preferred <= self.config.connectors and self._can_start(preferred) else None
        return next((c for c in range(1, self.config.connectors + 1) if self._can_start(c)), None)

    def has_transaction(self, transaction_id: str) -> bool:
        return any(s.tx.transaction_id == transaction_id for s in self.sessions.values())

    def availability_answer(self, connector: int) -> str:
        """ChangeAvailability on a connector in a session (0: any) takes effect when the session ends."""
        busy = bool(self.sessions) if connector == 0 else connector in self.sessions
        return "Scheduled" if busy else "Accepted"

    def _status_when_free(self, connector: int) -> str:
        return self.scheduled_statuses.pop(connector, "Available")

    # -- sending ----------------------------------------------------------------------------
    async def _deliver(self, payload: Any | None) -> Any | None:
        """Send now, or queue it while there is no connection (only what is worth keeping)."""
        if payload is None:
            return None
        action = action_of(payload)
        client = self.client
        if client is None:
            if action in QUEUEABLE:
                self.queue.put(action, payload)
                if self._offline is not None:
                    self._offline.queued_messages += 1
            return None
        try:
            return await client.send(payload, validate=self.options.validate_messages)
        except ConnectionClosed:
            if action in QUEUEABLE:
                self.queue.put(action, payload)
            raise

    async def _flush_queue(self) -> None:
        """Send what was queued while offline, oldest first, each after the previous one is answered."""
        client = self.client
        while client is not None and (queued := self.queue.peek()) is not None:
            try:
                await client.send(queued.payload, validate=self.options.validate_messages)
            except OCPPError as refused:
                self._record_failure(refused)
            self.queue.pop()
            self.stats.record_replayed(queued.action)

    async def _send_status(self, connector: int, status: str, at: datetime | None = None) -> None:
        """`at`: the time to report (a fault's recorded start or end, so the report equals the message)."""
        self.statuses[connector] = status
        code = self.errors.get(connector, "NoError") if status == "Faulted" else "NoError"
        await self._deliver(self.messages.status(connector, status, ocpp_time(at or utc_now()), code))

    async def _boot_and_report(self) -> None:
        while True:
            answer = await self._deliver(
                self.messages.boot(self.options.vendor, self.options.model, f"SN-{self.station_id}")
            )
            if answer is None:  # the connection went away before the boot
                raise ConnectionDropped("no connection to boot on")
            interval = float(answer.interval) or 60.0
            if self.options.heartbeat_cap > 0:
                interval = min(interval, self.options.heartbeat_cap)
            self.heartbeat_interval = interval
            self.configuration["HeartbeatInterval"] = f"{interval:g}"
            if answer.status == "Accepted":
                break
            # Pending / Rejected: the CSMS says when to try again.
            await asyncio.sleep(interval)
        await self._flush_queue()
        for connector in range(self.config.connectors + 1):
            status = self.statuses.setdefault(connector, "Available")
            if connector in self.errors:
                status = "Faulted"
            elif connector in self.sessions:
                status = "Charging"
            await self._send_status(connector, status)
        for hook in self.on_booted:
            self.follow_up_task(hook(self))

    async def _heartbeat(self) -> None:
        self._heartbeat_due = time.monotonic() + (self.heartbeat_interval or 60.0)
        await self._deliver(self.messages.heartbeat())

    async def _change_status(self) -> None:
        """Without sessions: walk an idle connector through the charging statuses (a sign of life)."""
        self._change_due = time.monotonic() + self._jitter(self.options.status_change_every)
        idle = [c for c in range(1, self.config.connectors + 1) if c not in self.sessions and c not in self.errors]
        if not idle:
            return
        connector = self.rng.choice(idle)
        cycle = STATUS_CYCLES[self.config.ocpp_version]
        current = self.statuses.get(connector, cycle[0])
        position = cycle.index(current) if current in cycle else -1
        await self._send_status(connector, cycle[(position + 1) % len(cycle)])

    async def security_event(self, kind: str, tech_info: str) -> None:
        """A security event (e.g. TamperDetectionActivated); queued while offline, like a real station."""
        await self._deliver(self.messages.security_event(kind, ocpp_time(utc_now()), tech_info))

    async def _go_offline(self) -> None:
        raise _Leave("offline window")

    # -- sessions ---------------------------------------------------------------------------
    async def _own_session(self, connector: int) -> None:
        self._session_due.pop(connector, None)
        await self.start_session(connector, self.rng.choice(self.tokens))

    async def start_session(
        self, connector: int, token: str, *, remote: bool = False, remote_start_id: int | None = None
    ) -> ActiveSession | None:
        """Plug in, authorize (unless the CSMS started it), start the transaction, charge."""
        if not self._can_start(connector) or self.client is None:
            return None
        meter = self.meters[connector]
        now_iso = ocpp_time(utc_now())
        tx = Transaction(connector, token, meter.register_wh, now_iso, remote_start_id=remote_start_id)
        session = ActiveSession(tx)
        self.sessions[connector] = session  # the connector is taken from here on
        started = False
        try:
            await self._send_status(connector, "Preparing")
            if not remote:
                answer = await self._deliver(self.messages.authorize(token))
                decision = self.messages.authorize_status(answer)
                if decision != "Accepted":
                    self.stats.record_refused(f"Authorize {decision}")
                    return None
            meter.plug_in(self.rng)
            started_at = utc_now()
            tx.started_at = ocpp_time(started_at)
            tx.meter_start_wh = meter.register_wh
            if self.config.ocpp_version != "1.6":
                tx.transaction_id = uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
            answer = await self._deliver(self.messages.started(tx, meter.sample(self.rng), offline=False))
            decision = self.messages.started_answer(tx, answer)
            session.record = self.report.session_started(
                SessionRecord(
                    self.station_id, connector, self.config.ocpp_version, token, started_at, tx.meter_start_wh,
                    transaction_id=tx.transaction_id, remote_start=remote,
                )
            )  # fmt: skip
            started = True
            now = time.monotonic()
            session.last_advance = now
            session.meter_due = now + self.options.meter_interval
            session.stop_due = now + self._jitter(self.options.session_duration)
            if decision != "Accepted":
                # The CSMS refused the id tag in its answer: the station ends the transaction at once.
                self.stats.record_refused(f"StartTransaction {decision}")
                await self._stop_session(session, "DeAuthorized")
                return None
            await self._send_status(connector, "Charging")
            self._wake.set()
            return session
        finally:
            if not started:
                self.sessions.pop(connector, None)
                meter.unplug()
                if self.client is not None and connector not in self.errors:
                    with contextlib.suppress(Exception):
                        await self._send_status(connector, self._status_when_free(connector))

    async def _meter_step(self, session: ActiveSession) -> None:
        if self.sessions.get(session.tx.connector) is not session:
            return  # stopped meanwhile (a command)
        now = time.monotonic()
        meter = self.meters[session.tx.connector]
        meter.advance(now - session.last_advance)
        session.last_advance = now
        session.meter_due = now + float(self.configuration.get("MeterValueSampleInterval", self.options.meter_interval))
        session.meter_values += 1
        if self.rewind_after is not None and session.meter_values == self.rewind_after and self.rewind_wh > 0:
            meter.rewind(self.rewind_wh)
            self.report.scenario.setdefault("rewinds", []).append(
                {"station_id": self.station_id, "connector": session.tx.connector, "rewind_wh": self.rewind_wh,
                 "register_wh": meter.register_wh, "at": ocpp_time(utc_now())}
            )  # fmt: skip
        payload = self.messages.meter(
            session.tx, meter.sample(self.rng), ocpp_time(utc_now()), offline=self.client is None
        )
        if session.record is not None:
            session.record.meter_last_wh = meter.register_wh
        await self._deliver(payload)

    async def _stop_session(self, session: ActiveSession, reason: str) -> None:
        connector = session.tx.connector
        if self.sessions.get(connector) is not session:
            return  # already stopping
        del self.sessions[connector]
        meter = self.meters[connector]
        meter.advance(time.monotonic() - session.last_advance)
        stopped_at = utc_now()
        payload = self.messages.ended(
            session.tx, meter.sample(self.rng), ocpp_time(stopped_at), reason, offline=self.client is None
        )
        if session.record is not None:
            session.record.stopped_at = stopped_at
            session.record.meter_stop_wh = session.record.meter_last_wh = meter.register_wh
            session.record.stop_reason = reason
        meter.unplug()
        self._session_due.pop(connector, None)
        await self._deliver(payload)
        if self.client is not None and connector not in self.errors:
            await self._send_status(connector, "Finishing")
            await self._send_status(connector, self._status_when_free(connector))

    async def _end_all_sessions(self, reason: str) -> None:
        for session in list(self.sessions.values()):
            if session.record is not None:
                await self._stop_session(session, reason)

    # -- faults -----------------------------------------------------------------------------
    async def _fault(self, window: Window) -> None:
        connector = window.connector
        if self.elapsed() >= window.end:
            self._windows_done.add(window)  # the whole window passed while the station could not act
            return
        self.errors[connector] = window.error_code
        record = self.report.fault_started(self.station_id, connector, window.error_code, utc_now())
        self._faults_active[window] = record
        session = self.sessions.get(connector)
        if session is not None and session.record is not None:
            await self._stop_session(session, "Other")
        await self._send_status(connector, "Faulted", record.started_at)
        self._event_id += 1
        await self._deliver(
            self.messages.fault_event(connector, window.error_code, ocpp_time(record.started_at), cleared=False,
                                      event_id=self._event_id)
        )  # fmt: skip

    async def _recover(self, window: Window) -> None:
        connector = window.connector
        record = self._faults_active.pop(window)
        self._windows_done.add(window)
        self.errors.pop(connector, None)
        record.ended_at = utc_now()
        self._event_id += 1
        await self._deliver(
            self.messages.fault_event(connector, window.error_code, ocpp_time(record.ended_at), cleared=True,
                                      event_id=self._event_id)
        )  # fmt: skip
        await self._send_status(connector, "Available", record.ended_at)
        if connector in self.scheduled_statuses:
            await self._send_status(connector, self._status_when_free(connector))

    # -- commands ---------------------------------------------------------------------------
    def follow_up(self, action: FollowUp) -> None:
        self.stats.record_follow_up(action.kind)
        self.follow_up_task(self._follow(action))

    def follow_up_task(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_up_done)

    def _follow_up_done(self, task: asyncio.Task[None]) -> None:
        self._follow_ups.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, (ConnectionClosed, _Leave)):
            self._record_failure(error)

    async def _settle_follow_ups(self) -> None:
        for task in list(self._follow_ups):
            task.cancel()
        await asyncio.gather(*self._follow_ups, return_exceptions=True)

    async def _follow(self, action: FollowUp) -> None:
        kind = action.kind
        if kind == "remote_start" and action.connector is not None:
            await self.start_session(
                action.connector, action.token, remote=True, remote_start_id=action.remote_start_id
            )
        elif kind == "remote_stop":
            for session in list(self.sessions.values()):
                if session.tx.transaction_id == action.transaction_id:
                    await self._stop_session(session, "Remote")
        elif kind == "unlock" and action.connector in self.sessions:
            await self._stop_session(self.sessions[action.connector], "UnlockCommand")
        elif kind == "reset":
            await self._end_all_sessions(action.detail)
            # A reset station reboots: it closes its connection, reconnects and boots again.
            if self._socket is not None:
                self._leaving = "reset"
                await self._socket.close()
        elif kind == "availability" and action.connector is not None:
            targets = [action.connector] if action.connector else list(range(1, self.config.connectors + 1))
            for target in targets:
                if target not in self.sessions and target not in self.errors:
                    self.scheduled_statuses.pop(target, None)
                    await self._send_status(target, action.detail)
                else:
                    self.scheduled_statuses[target] = action.detail  # when the session or fault ends
        elif kind == "trigger":
            await self._triggered(action.detail, action.connector)
        elif kind == "firmware":
            signed = action.detail == "signed"
            steps = (
                ["Downloading", "Downloaded"] + (["SignatureVerified"] if signed else []) + ["Installing", "Installed"]
            )
            for status in steps:
                await asyncio.sleep(self.options.command_step_delay)
                await self._deliver(self.messages.firmware_status(status, action.request_id, signed=signed))
        elif kind == "log":
            for status in ("Uploading", "Uploaded"):
                await asyncio.sleep(self.options.command_step_delay)
                if action.detail == "diagnostics":
                    await self._deliver(self.messages.diagnostics_status(status))
                else:
                    await self._deliver(self.messages.log_status(status, action.request_id))
        elif kind == "report" and isinstance(self.client, Client201):
            from ocpp.v201 import call as call201

            await self._deliver(
                call201.NotifyReport(request_id=action.request_id, generated_at=ocpp_time(utc_now()), seq_no=0,
                                     tbc=False, report_data=self.client.report_data())
            )  # fmt: skip

    async def _triggered(self, requested: str, connector: int | None) -> None:
        """A TriggerMessage asked for a message."""
        if requested == "Heartbeat":
            await self._deliver(self.messages.heartbeat())
        elif requested == "BootNotification":
            await self._deliver(
                self.messages.boot(self.options.vendor, self.options.model, f"SN-{self.station_id}", "Triggered")
                if self.config.ocpp_version != "1.6"
                else self.messages.boot(self.options.vendor, self.options.model, f"SN-{self.station_id}")
            )
        elif requested == "StatusNotification":
            targets = [connector] if connector is not None else sorted(self.statuses)
            for target in targets:
                await self._send_status(target, self.statuses.get(target, "Available"))
        elif requested in {"MeterValues", "TransactionEvent"}:
            targets = [connector] if connector else list(self.meters)
            for target in targets:
                session = self.sessions.get(target)
                sample = self.meters[target].sample(self.rng)
                if session is not None and session.record is not None:
                    await self._deliver(self.messages.meter(session.tx, sample, ocpp_time(utc_now()), offline=False))
                elif requested == "MeterValues":
                    await self._deliver(self.messages.meter_outside_transaction(target, sample, ocpp_time(utc_now())))
        elif requested == "FirmwareStatusNotification":
            await self._deliver(self.messages.firmware_status("Idle", None, signed=False))
        elif requested == "DiagnosticsStatusNotification":
            await self._deliver(self.messages.diagnostics_status("Idle"))
        elif requested == "LogStatusNotification":
            await self._deliver(self.messages.log_status("Idle", 0))
        elif requested in {"SignChargePointCertificate", "SignChargingStationCertificate"}:
            await self._deliver(self.messages.sign_certificate(_placeholder_csr(self.station_id)))


STATUS_CYCLES = {
    "1.6": ("Available", "Preparing", "Charging", "SuspendedEV", "Charging", "Finishing"),
    "2.0.1": ("Available", "Preparing"),  # Preparing is reported as Occupied in 2.0.1
}


def _retry_after(value: str | None) -> float | None:
    """Seconds of an HTTP Retry-After header (the delta-seconds form), bounded to a minute."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), 60.0)


def _placeholder_csr(station_id: str) -> str:
    """A PEM-shaped CSR: the simulator holds no keys; the CSMS only needs to receive and answer it."""
    body = base64.b64encode(f"CN={station_id},O=ChargeWatchSim".encode()).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"


def _reader_outcome(reader: asyncio.Task[Any]) -> str:
    if reader.cancelled():
        return "cancelled"
    error = reader.exception()
    return f"{type(error).__name__}: {error}" if error is not None else "closed"


async def _acquire_or_stop(semaphore: asyncio.Semaphore, stop: asyncio.Event) -> bool:
    """Acquire `semaphore`, unless `stop` is set first (then False, and nothing is held)."""
    acquire = asyncio.ensure_future(semaphore.acquire())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not acquire.done():
        acquire.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquire
    if acquire.cancelled():
        return False
    if stop.is_set():
        semaphore.release()
        return False
    return True


async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


@dataclass
class FleetResult:
    stats: Stats
    stations: int
    elapsed_seconds: float
    report: Report = field(default_factory=Report)

    @property
    def errors(self) -> int:
        return self.stats.error_count

    def summary(self) -> str:
        return self.stats.summary(self.stations, self.elapsed_seconds, self.report)


@dataclass
class Fleet:
    stations: Sequence[StationConfig]
    options: SimulatorOptions = field(default_factory=SimulatorOptions)
    scenario: str = "normal"
    seed: int | None = None
    stats: Stats = field(default_factory=Stats)
    #: RFID uids the simulated drivers present (default: `generate_tokens()` with its default seed).
    tokens: Sequence[str] = ()
    #: The tenant each card is registered to, where known: a station's drivers then present the
    #: cards of the station's tenant (a card works at its own tenant's stations only).
    token_tenants: Mapping[str, str] = field(default_factory=dict)
    scenario_options: ScenarioOptions | None = None
    report: Report = field(default_factory=Report)

    def __post_init__(self) -> None:
        from chargewatch.simulator.scenarios import ScenarioOptions, scenario

        self._scenario = scenario(self.scenario)
        if self.scenario_options is None:
            self.scenario_options = ScenarioOptions()
        if not self.tokens:
            self.tokens = generate_tokens()
        self._stop = asyncio.Event()
        self._storm = asyncio.Event()
        rng = random.Random(self.seed)
        self.simulated = [
            SimulatedStation(
                config, self.options, self.stats, random.Random(rng.getrandbits(64)), report=self.report,
                tokens=self.cards_at(config),
            )
            for config in self.stations
        ]  # fmt: skip
        for station in self.simulated:
            station.storm = self.storm_event
        self._rng = rng
        self.started = time.monotonic()

    def cards_at(self, config: StationConfig) -> Sequence[str]:
        """The cards drivers present at a station: its tenant's, when cards have known tenants."""
        if self.token_tenants and config.tenant_id:
            own = [uid for uid in self.tokens if self.token_tenants.get(uid) == config.tenant_id]
            if own:
                return own
        return self.tokens

    def station(self, station_id: str) -> SimulatedStation:
        for station in self.simulated:
            if station.station_id == station_id:
                return station
        raise ValueError(f"no station {station_id!r} in the fleet")

    def storm_event(self) -> asyncio.Event:
        return self._storm

    def trigger_storm(self) -> None:
        """Every connected station closes its socket at once, reconnects at once and boots."""
        fired, self._storm = self._storm, asyncio.Event()
        fired.set()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> asyncio.Event:
        return self._stop

    def prepare(self, duration: float = 0.0) -> None:
        """Let the scenario set up its stations (schedules, hooks); `run` does it if not done yet."""
        if getattr(self, "_prepared", False):
            return
        self._prepared = True
        self.started = time.monotonic()
        for station in self.simulated:
            station.t0 = self.started
        assert self.scenario_options is not None
        self._scenario.prepare(self, duration, self.scenario_options)

    async def run(self, duration: float = 0.0) -> FleetResult:
        """Run every station until `duration` seconds have passed (0: until `stop`).

        First connections start spread over `connect_spread` seconds and, with a `connect_window`,
        at most that many stations try their first connection at once: the next starts when one's
        first attempt is answered other than 503. A station's first login costs the CSMS a slow
        password hash, and a fleet that logs in faster than the CSMS hashes only collects 503s
        that cost it more work (refused handshakes, their security events, retries). Reconnections
        are never held back: the `storm` scenario's fleet comes back all at once.
        """
        self.prepare(duration)
        spread = self.options.connect_spread
        if spread is None:
            spread = default_connect_spread(len(self.simulated))
        window = asyncio.Semaphore(self.options.connect_window) if self.options.connect_window > 0 else None
        tasks = [
            asyncio.create_task(self._start(station, self._rng.uniform(0, spread), window), name=station.station_id)
            for station in self.simulated
        ]
        background = asyncio.create_task(self._scenario.run_fleet(self, self._stop))
        try:
            if duration > 0:
                await _sleep_or_stop(self._stop, max(0.0, duration - (time.monotonic() - self.started)))
            else:
                await self._stop.wait()
        finally:
            self._stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            background.cancel()
            await asyncio.gather(background, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                self.stats.record_error(type(error).__name__, task.get_name(), str(error)[:200])
        self.stats.settle_busy()
        return FleetResult(self.stats, len(self.simulated), time.monotonic() - self.started, self.report)

    async def _start(self, station: SimulatedStation, delay: float, window: asyncio.Semaphore | None) -> None:
        if delay:
            await _sleep_or_stop(self._stop, delay)
        if window is not None and await _acquire_or_stop(window, self._stop):
            station.first_login_over = window.release
        try:
            if self._stop.is_set():
                # Its turn never came (the ramp or the window outlasted the run): it never connected.
                self.stats.record_error("connect", station.station_id, "the run ended before its first connection")
                return
            await self._scenario.run_station(station, self._stop)
        finally:
            station.end_first_login()
