"""The gateway in-process against a real Redis and a test double of authz on a real gRPC server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chargewatch.ocpp_gateway.auth import AUTHENTICATE_STATION, StationAuthenticator, authentication_cache
from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.dispatch import Dispatcher
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.forwarding import CommandForwarder
from chargewatch.ocpp_gateway.grpc_api import GatewayCommandsServicer
from chargewatch.ocpp_gateway.idempotency import CommandReplies
from chargewatch.ocpp_gateway.ownership import StationOwnership
from chargewatch.ocpp_gateway.server import OcppServer
from chargewatch.ocpp_gateway.sessions import SessionRegistry
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.rpc import GrpcServer, client_channel, stream_channel
from chargewatch.streams import EventPublisher, StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, events_pb2, gateway_pb2_grpc
from tests.support.tracing import install_span_exporter

OUTCOME = authz_pb2.AuthenticateStationResponse


@dataclass
class Station:
    password: str
    tenant_id: str = "tenant-a"
    site_id: str = "site-1"
    profile: int = common_pb2.SECURITY_PROFILE_1_BASIC
    # Profile 3: the SHA-256 of the station's client certificate, which replaces the password (as in authz).
    certificate_sha256: str = ""
    # The station registry's BootNotification answer (unspecified: Accepted).
    registration_status: int = common_pb2.REGISTRATION_STATUS_UNSPECIFIED


@dataclass
class FakeAuthz(authz_pb2_grpc.AuthzServicer):
    """Test double of authz's AuthenticateStation and Authorize, answering from dicts of stations and tokens."""

    stations: dict[str, Station] = field(default_factory=dict)
    requests: list[authz_pb2.AuthenticateStationRequest] = field(default_factory=list)
    delay: float = 0.0
    # Authorize: token -> answer (an unknown token gets AUTHORIZATION_STATUS_UNKNOWN); set
    # `authorize_unavailable` to answer UNAVAILABLE, `authorize_delay` to overrun the caller's deadline.
    tokens: dict[str, authz_pb2.AuthorizeResponse] = field(default_factory=dict)
    authorize_requests: list[authz_pb2.AuthorizeRequest] = field(default_factory=list)
    authorize_unavailable: bool = False
    authorize_delay: float = 0.0

    async def Authorize(self, request: authz_pb2.AuthorizeRequest, context: Any) -> authz_pb2.AuthorizeResponse:
        self.authorize_requests.append(request)
        if self.authorize_unavailable:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "authz test double is unavailable")
        if self.authorize_delay:
            await asyncio.sleep(self.authorize_delay)
        answer = self.tokens.get(request.id_token)
        if answer is None:
            return authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_UNKNOWN, reason="unknown token")
        return answer

    async def AuthorizeStream(
        self, calls: AsyncIterator[authz_pb2.AuthorizeCalls], context: Any
    ) -> AsyncIterator[authz_pb2.AuthorizeAnswers]:
        """The gateway's usual path: each call decided as Authorize decides it, answered when decided."""
        answers: asyncio.Queue[authz_pb2.AuthorizeAnswer] = asyncio.Queue()

        async def decide(call: authz_pb2.AuthorizeCall) -> None:
            self.authorize_requests.append(call.request)
            if self.authorize_unavailable:
                answers.put_nowait(
                    authz_pb2.AuthorizeAnswer(
                        call_id=call.call_id,
                        status_code=grpc.StatusCode.UNAVAILABLE.value[0],
                        status_message="authz test double is unavailable",
                    )
                )
                return
            if self.authorize_delay:
                await asyncio.sleep(self.authorize_delay)
            response = self.tokens.get(call.request.id_token) or authz_pb2.AuthorizeResponse(
                status=events_pb2.AUTHORIZATION_STATUS_UNKNOWN, reason="unknown token"
            )
            answers.put_nowait(authz_pb2.AuthorizeAnswer(call_id=call.call_id, response=response))

        async def read() -> None:
            async for message in calls:
                for call in message.calls:
                    deciding.add(task := asyncio.create_task(decide(call)))
                    task.add_done_callback(deciding.discard)

        deciding: set[asyncio.Task[None]] = set()
        reader = asyncio.create_task(read())
        try:
            while True:
                yield authz_pb2.AuthorizeAnswers(answers=[await answers.get()])
        finally:
            reader.cancel()
            for task in list(deciding):
                task.cancel()

    async def AuthenticateStation(
        self, request: authz_pb2.AuthenticateStationRequest, context: Any
    ) -> authz_pb2.AuthenticateStationResponse:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        station = self.stations.get(request.station_id)
        if station is None:
            return OUTCOME(outcome=OUTCOME.OUTCOME_UNKNOWN_STATION)
        if request.connection_profile == common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS:
            credential_ok = bool(station.certificate_sha256) and (
                request.client_certificate_sha256 == station.certificate_sha256
            )
        else:
            credential_ok = request.password == station.password
        if not credential_ok:
            return OUTCOME(outcome=OUTCOME.OUTCOME_BAD_CREDENTIALS)
        if request.connection_profile < station.profile:
            return OUTCOME(outcome=OUTCOME.OUTCOME_PROFILE_TOO_LOW)
        return OUTCOME(
            outcome=OUTCOME.OUTCOME_ACCEPTED,
            tenant_id=station.tenant_id,
            site_id=station.site_id,
            security_profile=station.profile,  # type: ignore[arg-type]
            registration_status=station.registration_status,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return install_span_exporter()


@pytest.fixture
async def authz() -> AsyncIterator[tuple[FakeAuthz, int]]:
    servicer = FakeAuthz()
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, servicer, "chargewatch.v1.Authz")
    port = await server.start()
    await server.set_serving(True)
    yield servicer, port
    await server.stop(0)


@dataclass
class Gateway:
    server: OcppServer
    registry: SessionRegistry
    authz: FakeAuthz
    redis: aioredis.Redis
    settings: GatewaySettings
    grpc_port: int
    ownership: StationOwnership

    @property
    def url(self) -> str:
        scheme = "wss" if self.settings.tls_enabled else "ws"
        return f"{scheme}://127.0.0.1:{self.server.port}/ocpp"

    @property
    def plain_url(self) -> str:
        """The plain ws:// listener beside a TLS one (settings ocpp_plain_port)."""
        return f"ws://127.0.0.1:{self.server.plain_port}/ocpp"

    def add_station(self, station_id: str, password: str = "secret-password-123", **kwargs: Any) -> str:
        self.authz.stations[station_id] = Station(password, **kwargs)
        return password

    async def events(self, family: StreamFamily) -> list[events_pb2.EventEnvelope]:
        entries = await self.redis.xrange(stream_name(family, 0))
        return [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _, fields in entries]

    async def wait_for_events(
        self, family: StreamFamily, predicate: Any, *, within: float = 5.0
    ) -> list[events_pb2.EventEnvelope]:
        async with asyncio.timeout(within):
            while True:
                matching = [e for e in await self.events(family) if predicate(e)]
                if matching:
                    return matching
                await asyncio.sleep(0.02)


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "ocpp_host": "127.0.0.1",
        "ocpp_port": 0,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "heartbeat_interval_seconds": 120,
        "gateway_instance": "gw-test-1",
        "close_timeout_seconds": 2.0,
        # Production mode (the default) refuses a placeholder; the fake authz takes any caller.
        "client_secret": "gateway-test-client-secret",
        **overrides,
    }
    return GatewaySettings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to start the gateway with other settings."""
    return {}


@pytest.fixture
async def gateway(
    authz: tuple[FakeAuthz, int], redis_client: aioredis.Redis, settings_overrides: dict[str, Any]
) -> AsyncIterator[Gateway]:
    servicer, authz_port = authz
    settings = gateway_settings(authz_target=f"127.0.0.1:{authz_port}", **settings_overrides)
    async with running_gateway(servicer, redis_client, settings) as running:
        yield running


@asynccontextmanager
async def running_gateway(
    servicer: FakeAuthz,
    redis_client: aioredis.Redis,
    settings: GatewaySettings,
    *,
    caller_authentication: grpc.aio.ServerInterceptor | None = None,  # type: ignore[type-arg]
) -> AsyncIterator[Gateway]:
    """One in-process replica: the OCPP endpoint and GatewayCommands on free ports (tests may run several).

    GatewayCommands checks no caller tokens unless `caller_authentication` is given (as `__main__` wires it
    when CW_GATEWAY_REQUIRE_CALLER_TOKEN is on): these tests run without an identity provider."""
    channel = client_channel(settings.authz_target, idempotent_methods=[AUTHENTICATE_STATION])
    authorize_stream = stream_channel(settings.authz_target)
    authorize_channel = AuthorizeChannel(authz_pb2_grpc.AuthzStub(authorize_stream))
    publisher = EventPublisher(redis_client, producer="ocpp-gateway/test")
    events = GatewayEvents(publisher, settings.gateway_instance)
    registry = SessionRegistry()
    commands = GrpcServer("127.0.0.1", 0, caller_authentication=caller_authentication)
    ownership = StationOwnership(
        redis_client,
        instance=settings.gateway_instance,
        address="",  # the free port GatewayCommands binds, below
        ttl_seconds=settings.ownership_lease_ttl_seconds,
    )
    forwarder = CommandForwarder(ownership)
    auth_cache = authentication_cache(settings.auth_cache_seconds)
    server = OcppServer(
        settings,
        authenticator=StationAuthenticator(
            authz_pb2_grpc.AuthzStub(channel), settings.authz_deadline_seconds, auth_cache
        ),
        events=events,
        dispatcher=Dispatcher(
            settings,
            events,
            authorizer=Authorizer.from_settings(authorize_channel, redis_client, events, settings),
            transactions=TransactionStore(redis_client, retention_hours=settings.transaction_retention_hours),
        ),
        registry=registry,
        ownership=ownership,
    )
    commands.add_service(
        gateway_pb2_grpc.add_GatewayCommandsServicer_to_server,
        GatewayCommandsServicer(
            registry,
            settings,
            events=events,
            replies=CommandReplies(redis_client, ttl_seconds=settings.command_reply_ttl_seconds),
            forwarder=forwarder,
            authentication_cache=auth_cache,
        ),
        "chargewatch.v1.GatewayCommands",
    )
    grpc_port = await commands.start()
    ownership.address = f"127.0.0.1:{grpc_port}"
    await commands.set_serving(True)
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 10)
    yield Gateway(server, registry, servicer, redis_client, settings, grpc_port, ownership)
    server.stop()
    await asyncio.wait_for(task, 15)
    await commands.stop(0)
    await forwarder.close()
    await authorize_channel.close()
    await authorize_stream.close(None)
    await channel.close(None)


def basic(station_id: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{station_id}:{password}".encode()).decode()}


@pytest.fixture
async def commands(gateway: Gateway) -> AsyncIterator[Any]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}")
    yield gateway_pb2_grpc.GatewayCommandsStub(channel)
    await channel.close(None)
