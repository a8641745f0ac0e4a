"""The whole platform on one machine: infrastructure, the six services and a simulated fleet.

`make run` uses it with the fixed local addresses; the end-to-end tests use it with free
ports. Stations are provisioned the way an operator does it: `POST /v1/stations` with an
operator token, keeping each station's password (returned once) for the simulator.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chargewatch.devstack.processes import (
    ManagedProcess,
    free_ports,
    port_in_use,
    start_identity_provider,
    start_mongo_store,
    start_process,
    start_redis,
    wait_for_port,
)
from chargewatch.simulator.provision import provision_tokens
from chargewatch.simulator.tokens import DEFAULT_TOKEN_COUNT, generate_tokens, write_tokens

log = logging.getLogger(__name__)

REALM = "chargewatch"
CLI_CLIENT = "chargewatch-cli"
# The platform's service account and its development secret (a real deployment reads a Secret).
SERVICES_CLIENT = "chargewatch-services"
SERVICES_CLIENT_SECRET = "dev-chargewatch-services-secret"  # noqa: S105 - the development realm's documented value
TENANTS = ("partner-a", "partner-b")
# Sites of the simulated fleet, per tenant, with a location each (lat, lon).
SITES: dict[str, list[tuple[str, float, float]]] = {
    "partner-a": [
        ("ams-centraal", 52.3791, 4.9003),
        ("utrecht-jaarbeurs", 52.0884, 5.1050),
        ("a2-highway", 51.7600, 5.5300),
    ],
    "partner-b": [("berlin-mitte", 52.5200, 13.4050), ("hamburg-hafen", 53.5450, 9.9660)],
}
SERVICES = ("authz", "telemetry", "sla-engine", "security-monitor", "ocpp-gateway", "partner-api")
MODULES = {
    "authz": "chargewatch.authz",
    "telemetry": "chargewatch.telemetry",
    "sla-engine": "chargewatch.sla_engine",
    "security-monitor": "chargewatch.security_monitor",
    "ocpp-gateway": "chargewatch.ocpp_gateway",
    "partner-api": "chargewatch.partner_api",
}


@dataclass
class Ports:
    ocpp: int = 9000
    api: int = 8080
    idp: int = 8180
    authz_grpc: int = 50051
    gateway_grpc: int = 50052
    telemetry_grpc: int = 50053
    sla_grpc: int = 50054
    security_grpc: int = 50055
    authz_ops: int = 9101
    gateway_ops: int = 9102
    telemetry_ops: int = 9103
    sla_ops: int = 9104
    security_ops: int = 9105
    redis: int = 0
    mongo: int = 0

    @classmethod
    def free(cls) -> Ports:
        names = list(cls.__dataclass_fields__)
        return cls(**dict(zip(names, free_ports(len(names)), strict=True)))

    def taken(self) -> list[tuple[str, int]]:
        """The fixed ports something already listens on (another stack still running, say)."""
        busy = []
        for name in self.__dataclass_fields__:
            port = getattr(self, name)
            if port and port_in_use(port):
                busy.append((name, port))
        return busy

    def ops(self, service: str) -> int:
        return {
            "authz": self.authz_ops,
            "telemetry": self.telemetry_ops,
            "sla-engine": self.sla_ops,
            "security-monitor": self.security_ops,
            "ocpp-gateway": self.gateway_ops,
            "partner-api": self.api,
        }[service]

    def grpc(self, service: str) -> int | None:
        return {
            "authz": self.authz_grpc,
            "telemetry": self.telemetry_grpc,
            "sla-engine": self.sla_grpc,
            "security-monitor": self.security_grpc,
            "ocpp-gateway": self.gateway_grpc,
        }.get(service)


@dataclass
class PlatformConfig:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    stations: int = 20
    mongo_url: str | None = None
    keycloak_url: str | None = None
    otlp_endpoint: str | None = None
    simulate: bool = True
    status_change_every: float = 30.0
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class StationSpec:
    station_id: str
    tenant_id: str
    site_id: str
    latitude: float
    longitude: float
    connectors: int
    ocpp_version: str
    password: str = ""


def fleet_plan(count: int) -> list[StationSpec]:
    """`count` stations split between the tenants, spread over their sites, 1-4 connectors each."""
    plan = []
    for index in range(count):
        tenant = TENANTS[index % len(TENANTS)]
        site, lat, lon = SITES[tenant][(index // len(TENANTS)) % len(SITES[tenant])]
        number = index // len(TENANTS) + 1
        plan.append(
            StationSpec(
                station_id=f"CW-{tenant[-1].upper()}-{number:04d}",
                tenant_id=tenant,
                site_id=site,
                latitude=lat + 0.001 * number,
                longitude=lon + 0.001 * number,
                connectors=1 + index % 4,
                # Every other station of each tenant speaks 2.0.1, so both versions run in every demo.
                ocpp_version="2.0.1" if (index // len(TENANTS)) % 2 else "1.6",
            )
        )
    return plan


class Platform:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.processes: list[ManagedProcess] = []
        self.fleet: list[StationSpec] = []
        self.mongo_url = config.mongo_url or ""
        self.keycloak_url = config.keycloak_url or ""
        self.redis_url = ""

    # -- addresses --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.ports.api}"

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.config.ports.ocpp}/ocpp"

    @property
    def token_url(self) -> str:
        return f"{self.keycloak_url}/realms/{REALM}/protocol/openid-connect/token"

    @property
    def log_dir(self) -> Path:
        return self.config.run_dir / "logs"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        run_dir = self.config.run_dir
        # Local state is fresh on every start: the fleet's passwords are shown only once.
        for stale in ("data", "logs"):
            shutil.rmtree(run_dir / stale, ignore_errors=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_infrastructure()
            # All six at once: each spends its first seconds importing and waiting on its peers.
            for service in SERVICES:
                self._start_service(service)
            for service in SERVICES:
                self._wait_service(service)
            self.wait_ready()
            self.provision_fleet()
            if self.config.simulate and self.fleet:
                self._start_simulator()
        except BaseException:
            self.stop()
            raise

    def _start_infrastructure(self) -> None:
        ports = self.config.ports
        busy = ports.taken()
        if busy:
            listed = ", ".join(f"{port} ({name})" for name, port in busy)
            raise RuntimeError(f"ports already in use: {listed}; is another ChargeWatch stack still running?")
        redis = start_redis(ports.redis or None, log_dir=self.log_dir)
        self.processes.append(redis)
        self.redis_url = f"redis://127.0.0.1:{redis.port}/0"
        if not self.mongo_url:
            mongo = start_mongo_store(
                ports.mongo or None, log_dir=self.log_dir, data_dir=self.config.run_dir / "data" / "mongo"
            )
            self.processes.append(mongo)
            self.mongo_url = f"mongodb://127.0.0.1:{mongo.port}/"
        if not self.keycloak_url:
            self.keycloak_url = f"http://127.0.0.1:{ports.idp}"
            self.processes.append(start_identity_provider(ports.idp, log_dir=self.log_dir, env=self._common_env()))

    def _common_env(self) -> dict[str, str]:
        env = {
            "CHARGEWATCH_MODE": "development",
            "LOG_LEVEL": self.config.log_level,
            "REDIS_URL": self.redis_url,
            "MONGO_URL": self.mongo_url,
            "KEYCLOAK_URL": self.keycloak_url,
            "CW_STREAM_PARTITIONS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if self.config.otlp_endpoint:
            env.update(
                OTEL_EXPORTER_OTLP_ENDPOINT=self.config.otlp_endpoint,
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_BSP_SCHEDULE_DELAY="200",
            )
        env.update(self.config.extra_env)
        return env

    def service_env(self, service: str) -> dict[str, str]:
        ports = self.config.ports
        targets = {
            "AUTHZ_TARGET": f"127.0.0.1:{ports.authz_grpc}",
            "GATEWAY_TARGET": f"127.0.0.1:{ports.gateway_grpc}",
            "TELEMETRY_TARGET": f"127.0.0.1:{ports.telemetry_grpc}",
            "SLA_TARGET": f"127.0.0.1:{ports.sla_grpc}",
            "SECURITY_TARGET": f"127.0.0.1:{ports.security_grpc}",
        }
        prefix = {
            "authz": "CW_AUTHZ_",
            "telemetry": "CW_TELEMETRY_",
            "sla-engine": "CW_SLA_",
            "security-monitor": "CW_SECURITY_",
            "ocpp-gateway": "CW_GATEWAY_",
            "partner-api": "CW_PARTNER_API_",
        }[service]
        env = self._common_env()
        env["OTEL_SERVICE_NAME"] = service
        if service == "partner-api":
            env |= {
                f"{prefix}HTTP_HOST": "127.0.0.1",
                f"{prefix}HTTP_PORT": str(ports.api),
                f"{prefix}PUBLIC_URL": self.api_url,
            }
        else:
            env |= {
                f"{prefix}GRPC_HOST": "127.0.0.1",
                f"{prefix}GRPC_PORT": str(ports.grpc(service)),
                f"{prefix}OPS_HOST": "127.0.0.1",
                f"{prefix}OPS_PORT": str(ports.ops(service)),
            }
        if service == "ocpp-gateway":
            # Locally every message is traced, MeterValues too (a deployment traces those less often).
            env |= {
                f"{prefix}OCPP_HOST": "127.0.0.1",
                f"{prefix}OCPP_PORT": str(ports.ocpp),
                f"{prefix}TRACE_RATIO_BY_ACTION": "{}",
            }
        for name, value in targets.items():
            env[f"{prefix}{name}"] = value
        if service == "authz":
            # The development realm's documented secret; a real deployment reads a Secret.
            env[f"{prefix}KEYCLOAK_CLIENT_SECRET"] = SERVICES_CLIENT_SECRET
        if service in ("security-monitor", "sla-engine", "ocpp-gateway"):
            # The same development service account authenticates the monitor's calls to authz, the
            # gateway and telemetry, the SLA engine's station lookups in telemetry, and the gateway's
            # calls to authz. Every gRPC server checks its callers' tokens here (CW_*_REQUIRE_CALLER_TOKEN
            # keeps its default, true).
            env[f"{prefix}CLIENT_SECRET"] = SERVICES_CLIENT_SECRET
        return env

    def _start_service(self, service: str) -> None:
        self.processes.append(
            start_process(
                service, [sys.executable, "-m", MODULES[service]], env=self.service_env(service), log_dir=self.log_dir
            )
        )

    def _wait_service(self, service: str) -> None:
        """Until the service's ops port accepts; its log's end in the error when it exits first."""
        managed = next(p for p in self.processes if p.name == service)
        managed.port = self.config.ports.ops(service)
        try:
            wait_for_port(managed.port, timeout=60, process=managed.popen)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{service} did not start: {exc}\n{managed.log_text()[-4000:]}") from exc

    def service_process(self, service: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == service)

    def restart_service(self, service: str) -> None:
        process = self.service_process(service)
        process.stop()
        self.processes.remove(process)
        self._start_service(service)

    def readiness(self) -> dict[str, bool]:
        states = {}
        with httpx.Client(timeout=2.0) as http:
            for service in SERVICES:
                url = f"http://127.0.0.1:{self.config.ports.ops(service)}/readyz"
                try:
                    states[service] = http.get(url).status_code == 200
                except httpx.HTTPError:
                    states[service] = False
        return states

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, bool] = {}
        while time.monotonic() < deadline:
            states = self.readiness()
            if all(states.values()):
                return
            for process in self.processes:
                if not process.alive():
                    raise RuntimeError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
            time.sleep(0.25)
        raise TimeoutError(f"not ready within {timeout}s: {[s for s, ok in states.items() if not ok]}")

    def token(self, username: str, password: str | None = None) -> str:
        reply = httpx.post(
            self.token_url,
            data={
                "grant_type": "password",
                "client_id": CLI_CLIENT,
                "username": username,
                "password": password or username,
            },
            timeout=10,
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    def services_token(self) -> str:
        """A client-credentials token of the platform's service account (`chargewatch-services`)."""
        reply = httpx.post(
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(SERVICES_CLIENT, SERVICES_CLIENT_SECRET),
            timeout=10,
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    def grpc_metadata(self, username: str | None = None) -> tuple[tuple[str, str]]:
        """The `authorization` metadata every gRPC server here requires: a user's token (the password is
        the user name in the development realm), or the service account's when no user is named."""
        token = self.token(username) if username else self.services_token()
        return (("authorization", f"Bearer {token}"),)

    def provision_fleet(self) -> None:
        plan = fleet_plan(self.config.stations)
        if not plan:
            return
        headers = {"Authorization": f"Bearer {self.token('operator')}"}
        with httpx.Client(base_url=self.api_url, headers=headers, timeout=30) as http:
            for station in plan:
                reply = http.post(
                    "/v1/stations",
                    json={
                        "id": station.station_id,
                        "tenant_id": station.tenant_id,
                        "site_id": station.site_id,
                        "security_profile": 1,
                        "name": f"{station.site_id} #{station.station_id[-4:]}",
                        "location": {"lat": station.latitude, "lon": station.longitude},
                    },
                )
                if reply.status_code != 201:
                    raise RuntimeError(f"registering {station.station_id} failed: {reply.status_code} {reply.text}")
                station.password = reply.json()["password"]
        self.fleet = plan
        fleet_file = self.fleet_file
        fleet_file.write_text(json.dumps({"stations": [vars(s) for s in plan]}, indent=2))
        fleet_file.chmod(0o600)

    @property
    def fleet_file(self) -> Path:
        return self.config.run_dir / "fleet.json"

    def simulator_argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "chargewatch.simulator",
            "--url",
            self.ocpp_url,
            "--fleet",
            str(self.fleet_file),
            "--status-change-every",
            str(self.config.status_change_every),
            # Drivers charge now and then with the RFID cards registered for them (`provision_cards`).
            "--session-every",
            "120",
            "--session-duration",
            "300",
            "--meter-interval",
            "10",
            "--tokens",
            str(self.tokens_file),
            "--report",
            str(self.config.run_dir / "simulator-report.json"),
        ]

    @property
    def tokens_file(self) -> Path:
        return self.config.run_dir / "tokens.txt"

    def provision_cards(self) -> None:
        """The simulated drivers' RFID cards, registered as an operator does it and dealt to the
        tenants in turn (a card works at its own tenant's stations); written with their tenants for
        the simulator. The same seeded cards every run: those an earlier run registered stay."""
        cards = generate_tokens(max(DEFAULT_TOKEN_COUNT, len(self.fleet)), seed=0)
        dealt = provision_tokens(cards, api=self.api_url, idp=f"{self.keycloak_url}/realms/{REALM}", tenants=TENANTS)
        write_tokens(self.tokens_file, cards, dealt)

    def _start_simulator(self) -> None:
        self.provision_cards()
        self.processes.append(
            start_process("simulator", self.simulator_argv(), env={"PYTHONUNBUFFERED": "1"}, log_dir=self.log_dir)
        )

    def stop(self) -> None:
        """Stop everything, newest first, each by its pid."""
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        self.processes.clear()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def summary(self) -> Mapping[str, Any]:
        return {
            "api": self.api_url,
            "docs": f"{self.api_url}/docs",
            "ocpp": f"{self.ocpp_url}/{{station_id}}",
            "identity_provider": f"{self.keycloak_url}/realms/{REALM}",
            "token_url": self.token_url,
            "grpc": {s: f"127.0.0.1:{self.config.ports.grpc(s)}" for s in SERVICES if self.config.ports.grpc(s)},
            "redis": self.redis_url,
            "mongo": self.mongo_url,
            "logs": str(self.log_dir),
            "fleet": str(self.fleet_file),
        }


@contextlib.contextmanager
def running_platform(config: PlatformConfig) -> Iterator[Platform]:
    platform = Platform(config)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
