"""The platform the partner API tests run against: every service on free ports, a simulated fleet
whose connectors change status every few seconds, and helpers to call the API as each development user."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from chargewatch.devstack.platform import REALM, Platform, PlatformConfig, Ports
from chargewatch.devstack.processes import ManagedProcess, free_port, start_process
from tests.conftest import stop_platform

T = TypeVar("T")
USERS = ("operator", "partner-a", "partner-b", "sre", "analyst")
# Client-credentials clients of the development realm (partner back ends).
BACKENDS = {"partner-a-backend": "dev-partner-a-secret", "partner-b-backend": "dev-partner-b-secret"}
STATIONS = 6


# Stations outside the simulated fleet (ids not starting "CW-", so fleet-wide checks leave them out) whose
# first connector faults a few seconds after they boot and stays faulted: each is an open SLA incident.
FAULTY = {"partner-a": ("FLT-A-1", "ams-centraal"), "partner-b": ("FLT-B-1", "berlin-mitte")}
# Stations whose passwords are guessed (wrong) a few times: each raises a security alert.
ATTACKED = {"partner-a": "CW-A-0001", "partner-b": "CW-B-0001"}


@dataclass
class Stack:
    platform: Platform
    simulator: ManagedProcess | None = None
    faults: ManagedProcess | None = None
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.platform.api_url

    @property
    def idp_url(self) -> str:
        return self.platform.keycloak_url

    @property
    def token_url(self) -> str:
        return f"{self.idp_url}/realms/{REALM}/protocol/openid-connect/token"

    def token(self, user: str) -> str:
        """A real access token from the development identity provider (a user's, or a back end's)."""
        cached = self._tokens.get(user)
        if cached and cached[1] > time.time() + 30:
            return cached[0]
        if user in BACKENDS:
            reply = httpx.post(
                self.token_url, data={"grant_type": "client_credentials"}, auth=(user, BACKENDS[user]), timeout=10
            )
        else:
            reply = httpx.post(
                self.token_url,
                data={"grant_type": "password", "client_id": "chargewatch-cli", "username": user, "password": user},
                timeout=10,
            )
        reply.raise_for_status()
        body = reply.json()
        self._tokens[user] = (body["access_token"], time.time() + float(body["expires_in"]))
        return str(body["access_token"])

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def stations_of(self, tenant: str) -> list[str]:
        return [s.station_id for s in self.platform.fleet if s.tenant_id == tenant]

    def sites_of(self, tenant: str) -> set[str]:
        return {s.site_id for s in self.platform.fleet if s.tenant_id == tenant}


def wait_for(predicate: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


SIM_TOKENS = 10


def start_simulator(platform: Platform, status_change_every: float = 2.0, sessions: bool = False) -> ManagedProcess:
    """The fleet's charge points, walking their connectors through statuses every few seconds; with
    `sessions`, drivers charge instead (statuses follow the sessions, and meter values flow)."""
    activity = (
        ["--session-every", "4", "--session-duration", "20", "--meter-interval", "2"]
        if sessions
        else ["--status-change-every", str(status_change_every), "--session-every", "0"]
    )
    argv = [
        sys.executable,
        "-m",
        "chargewatch.simulator",
        "--url",
        platform.ocpp_url,
        "--fleet",
        str(platform.fleet_file),
        *activity,
        "--token-count",
        str(SIM_TOKENS),
        "--token-seed",
        "0",
        "--seed",
        "7",
    ]
    return start_process("simulator", argv, env={"PYTHONUNBUFFERED": "1"}, log_dir=platform.log_dir)


def register_driver_tokens(stack: Stack) -> None:
    """The simulated drivers' cards, as an operator registers them: half for each tenant (a card works at
    its own tenant's stations only, so some sessions are refused, as in life)."""
    from chargewatch.simulator.tokens import generate_tokens

    with stack.client("operator") as client:
        for index, uid in enumerate(generate_tokens(SIM_TOKENS, 0)):
            tenant = "partner-a" if index % 2 == 0 else "partner-b"
            reply = client.post("/v1/tokens", json={"id_token": uid, "tenant_id": tenant})
            assert reply.status_code in (201, 409), reply.text


def start_faulty_stations(stack: Stack) -> ManagedProcess:
    """Register the FAULTY stations as an operator does, and run them with a fault that lasts (an open
    incident each, cause faulted:GroundFailure)."""
    platform = stack.platform
    specs = []
    with stack.client("operator") as client:
        for tenant, (station_id, site) in FAULTY.items():
            body = {"id": station_id, "tenant_id": tenant, "site_id": site, "security_profile": 1}
            reply = client.post("/v1/stations", json=body)
            assert reply.status_code == 201, reply.text
            specs.append(
                {
                    "station_id": station_id,
                    "tenant_id": tenant,
                    "site_id": site,
                    "latitude": 52.0,
                    "longitude": 5.0,
                    "connectors": 1,
                    "ocpp_version": "1.6",
                    "password": reply.json()["password"],
                }
            )
    fleet = platform.config.run_dir / "faulty-fleet.json"
    fleet.write_text(json.dumps({"stations": specs}))
    fleet.chmod(0o600)
    schedule = ",".join(f"{spec['station_id']}:1@2s+86400s=GroundFailure" for spec in specs)
    argv = [
        sys.executable,
        "-m",
        "chargewatch.simulator",
        "--url",
        platform.ocpp_url,
        "--fleet",
        str(fleet),
        "--scenario",
        "faults",
        "--fault-schedule",
        schedule,
        "--status-change-every",
        "0",
        "--session-every",
        "0",
        "--duration",
        "0",
        "--seed",
        "3",
    ]
    process = start_process("faulty-stations", argv, env={"PYTHONUNBUFFERED": "1"}, log_dir=platform.log_dir)
    platform.processes.append(process)
    return process


def guess_passwords(stack: Stack, station_id: str, attempts: int = 6) -> None:
    """Connect as `station_id` with wrong passwords, as an attacker would: refused every time (401)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus
    from websockets.typing import Subprotocol

    async def attack() -> None:
        for attempt in range(attempts):
            secret = base64.b64encode(f"{station_id}:guess-{attempt}".encode()).decode()
            status = 0
            try:
                async with connect(
                    f"{stack.platform.ocpp_url}/{station_id}",
                    additional_headers={"Authorization": f"Basic {secret}"},
                    subprotocols=[Subprotocol("ocpp1.6")],
                    open_timeout=10,
                ):
                    status = 101
            except InvalidStatus as exc:
                status = exc.response.status_code
            assert status == 401, f"a wrong password was answered {status}"

    # In a thread of its own: the caller may be inside an event loop already (Playwright's sync API is).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, attack()).result()


def raise_incidents_and_alerts(stack: Stack) -> None:
    """Give each tenant an open SLA incident and a security alert, as a live fleet would, and wait until
    the SLA engine knows every site's ports (it learns a station's site from telemetry within seconds)."""
    stack.faults = start_faulty_stations(stack)
    for station_id in ATTACKED.values():
        guess_passwords(stack, station_id)
    for tenant in FAULTY:
        open_incident_of(stack, tenant)
        alert_of(stack, tenant)
    stations = {s.station_id for s in stack.platform.fleet} | {station for station, _ in FAULTY.values()}

    def every_port_has_its_site() -> bool:
        with stack.client("operator") as client:
            ports = client.get("/v1/sla/ports", params={"limit": 500}).json()["items"]
        return {p["station_id"] for p in ports if p["site_id"]} >= stations

    wait_for(every_port_has_its_site, timeout=60, interval=1.0)


def open_incident_of(stack: Stack, tenant: str, timeout: float = 30.0) -> dict[str, Any]:
    """The open incident of the tenant's FAULTY station, once the SLA engine has it."""
    station_id = FAULTY[tenant][0]

    def found() -> dict[str, Any] | None:
        with stack.client("operator") as client:
            items = client.get("/v1/incidents", params={"station_id": station_id, "state": "open"}).json()["items"]
        return items[0] if items else None

    try:
        return wait_for(found, timeout=timeout, interval=0.5)
    except AssertionError:
        with stack.client("operator") as client:
            every = client.get("/v1/incidents", params={"station_id": station_id}).json()["items"]
            ports = client.get("/v1/sla/ports", params={"station_id": station_id}).json()["items"]
        raise AssertionError(f"no open incident of {station_id}: incidents {every}, ports {ports}") from None


def alert_of(stack: Stack, tenant: str, timeout: float = 30.0) -> dict[str, Any]:
    """The brute-force alert on the tenant's ATTACKED station, once the security monitor has it."""
    station_id = ATTACKED[tenant]

    def found() -> dict[str, Any] | None:
        with stack.client("analyst") as client:
            items = client.get("/v1/alerts", params={"station_id": station_id}).json()["items"]
        return next((a for a in items if a["rule"] == "station-brute-force"), None)

    return wait_for(found, timeout=timeout, interval=0.5)


@contextmanager
def running_stack(
    run_dir: Path, *, extra_env: dict[str, str] | None = None, stations: int = STATIONS, sessions: bool = False
) -> Iterator[Stack]:
    ports = Ports.free()
    api_url = f"http://127.0.0.1:{ports.api}"
    env = {
        # The dashboard's sign-in redirect (the realm's placeholder) points at this API.
        "CW_DASHBOARD_URL": api_url,
        "CW_PARTNER_API_TOKEN_LEEWAY_SECONDS": "1",
        "CW_PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000",
        "CW_PARTNER_API_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "CW_PARTNER_API_WEBHOOK_BACKOFF_SECONDS": "0.5",
        # Idle streams get a comment line often, so readers in the tests can stop on time.
        "CW_PARTNER_API_SSE_HEARTBEAT_SECONDS": "1",
        **(extra_env or {}),
    }
    platform = Platform(PlatformConfig(run_dir=run_dir, ports=ports, stations=stations, simulate=False, extra_env=env))
    platform.start()
    stack = Stack(platform)
    try:
        if sessions:
            register_driver_tokens(stack)
        stack.simulator = start_simulator(platform, sessions=sessions)
        platform.processes.append(stack.simulator)
        yield stack
    finally:
        stop_platform(platform)


@contextmanager
def another_api(stack: Stack, name: str, settings: dict[str, str]) -> Iterator[str]:
    """A second partner API process against the stack's Redis, MongoDB and identity provider, with
    `settings` over the platform's own; yields its base URL and stops it by pid."""
    port = free_port()
    env = stack.platform.service_env("partner-api") | {
        "CW_PARTNER_API_HTTP_PORT": str(port),
        "CW_PARTNER_API_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # Its own webhook consumer group: the platform's API keeps delivering what it always did.
        "CW_PARTNER_API_WEBHOOK_CONSUMER_GROUP": f"partner-api-webhooks-{name}",
        **settings,
    }
    replica = start_process(
        name,
        [sys.executable, "-m", "chargewatch.partner_api"],
        env=env,
        log_dir=stack.platform.log_dir,
        port=port,
        timeout=60,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        replica.stop()
