"""Authz in-process on a real gRPC server, with real Redis, the MongoDB-wire store and the dev IdP over HTTP.

The gateway's GatewayCommands is a recording test double on a real gRPC server: the gateway's own
SET_PASSWORD and SEND_LOCAL_LIST are another engineer's work in progress.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from chargewatch.auth import AccessTokenValidator
from chargewatch.authz import blocks, credentials, policies, tokens
from chargewatch.authz.authorizer import Authorizer, DecisionPublisher, StationDirectory
from chargewatch.authz.blocks import BlockStore
from chargewatch.authz.cache import TokenCache, TrackedReads
from chargewatch.authz.directory import KeycloakDirectory
from chargewatch.authz.gateway import GatewayCommandsClient
from chargewatch.authz.grpc_api import AuthzServicer
from chargewatch.authz.health import IdentityProviderMonitor
from chargewatch.authz.local_lists import LocalLists
from chargewatch.authz.management import StationActions, TokenManager
from chargewatch.authz.pipelined_redis import PipelinedRedis
from chargewatch.authz.sessions import SessionTracker
from chargewatch.devstack.processes import ManagedProcess, start_identity_provider
from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.streams import EventPublisher
from chargewatch.v1 import (
    authz_pb2,
    authz_pb2_grpc,
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
)

REALM = "chargewatch"
SERVICES_SECRET = "dev-chargewatch-services-secret"


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayCommandsServicer):
    """Records commands; stations in `connected` answer with `answer` (per command kind name)."""

    connected: dict[str, int] = field(default_factory=dict)  # station -> OcppVersion
    answers: dict[str, str] = field(default_factory=dict)
    commands: list[gateway_pb2.CommandRequest] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)

    async def GetConnection(self, request: gateway_pb2.GetConnectionRequest, context: Any) -> Any:
        if request.station_id not in self.connected:
            await context.abort(grpc.StatusCode.NOT_FOUND, "not connected")
        return gateway_pb2.StationConnectionInfo(
            station_id=request.station_id, ocpp_version=self.connected[request.station_id]
        )

    async def SendCommand(self, request: gateway_pb2.CommandRequest, context: Any) -> Any:
        if request.station_id not in self.connected:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not connected")
        self.commands.append(request)
        status = self.answers.get(gateway_pb2.CommandKind.Name(request.kind), "Accepted")
        return gateway_pb2.CommandReply(
            station_id=request.station_id, status=status, response_json=orjson.dumps({"status": status}).decode()
        )

    async def Disconnect(self, request: gateway_pb2.DisconnectRequest, context: Any) -> Any:
        self.disconnects.append(request.station_id)
        return gateway_pb2.DisconnectReply(was_connected=request.station_id in self.connected)

    def arguments(self, kind: int) -> list[dict[str, Any]]:
        return [orjson.loads(c.arguments_json) for c in self.commands if c.kind == kind]


@dataclass
class Harness:
    stub: authz_pb2_grpc.AuthzAsyncStub
    channel: grpc.aio.Channel
    server: GrpcServer
    authorizer: Authorizer
    directory: KeycloakDirectory
    monitor: IdentityProviderMonitor
    sessions: SessionTracker
    gateway: FakeGateway
    db: Any
    redis: aioredis.Redis
    keycloak_url: str
    http: httpx.AsyncClient

    async def access_token(self, user: str) -> str:
        reply = await self.http.post(
            f"{self.keycloak_url}/realms/{REALM}/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "chargewatch-cli", "username": user, "password": user},
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    async def as_user(self, user: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {await self.access_token(user)}"),)

    async def register(self, station_id: str, tenant: str = "partner-a", site: str = "site-1") -> str:
        reply = await self.stub.RegisterStation(
            authz_pb2.RegisterStationRequest(
                station_id=station_id,
                tenant_id=tenant,
                site_id=site,
                security_profile=common_pb2.SECURITY_PROFILE_1_BASIC,
            ),
            metadata=await self.as_user("operator"),
        )
        return reply.password

    async def authorize(self, station: str, token: str, token_type: str = "ISO14443", tx: str = "") -> Any:
        return await self.stub.Authorize(
            authz_pb2.AuthorizeRequest(station_id=station, id_token=token, id_token_type=token_type, transaction_id=tx)
        )


def service_directory(keycloak_url: str) -> KeycloakDirectory:
    return KeycloakDirectory(keycloak_url, REALM, "chargewatch-services", SERVICES_SECRET, timeout_seconds=2.0)


@pytest.fixture(scope="module")
def private_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """An identity provider this module may stop (the session-wide one must stay up)."""
    server = start_identity_provider(log_dir=tmp_path_factory.mktemp("private-idp"))
    yield server
    server.stop()


async def build_harness(
    mongo_url: str,
    redis_url: str,
    keycloak_url: str,
    *,
    refresh_seconds: float = 0.3,
    registration: str = "Accepted",
    local_seconds: float = 0.0,
    tracked_seconds: float = 0.0,
    service_callers_only: bool = False,
    leeway_seconds: float = 30.0,
) -> AsyncIterator[Harness]:
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="authz-test")
    name = f"authz_{random.randrange(1 << 30)}"
    db = mongo[name]
    await ensure_indexes(db, [*credentials.INDEXES, *tokens.INDEXES, *policies.INDEXES, *blocks.INDEXES])
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    http = httpx.AsyncClient(timeout=5.0)
    validator = AccessTokenValidator(
        f"{keycloak_url}/realms/{REALM}", "chargewatch-partner-api", http=http, leeway_seconds=leeway_seconds
    )
    directory = service_directory(keycloak_url)

    gateway = FakeGateway()
    gateway_server = GrpcServer("127.0.0.1", 0)
    gateway_server.add_service(gateway_pb2_grpc.add_GatewayCommandsServicer_to_server, gateway, "gw")
    await gateway_server.start()
    gateway_channel = client_channel(f"127.0.0.1:{gateway_server.port}")
    gateway_client = GatewayCommandsClient(gateway_pb2_grpc.GatewayCommandsStub(gateway_channel), 5.0)

    credential_store = credentials.StationCredentialStore(db[credentials.COLLECTION], initial_registration=registration)
    token_store = tokens.TokenStore(db[tokens.COLLECTION])
    policy_store = policies.PolicyStore(db[policies.COLLECTION])
    block_store = BlockStore(db)
    stations = StationDirectory(credential_store, ttl_seconds=0.0)
    tracked = TrackedReads(tracked_seconds) if tracked_seconds else None
    pipelined = PipelinedRedis(redis_url, timeout_seconds=2.0, tracking=tracked)
    sessions = SessionTracker(redis, pipelined, local_seconds=local_seconds, tracked=tracked)
    token_cache = TokenCache(redis, keep_seconds=3600, unknown_seconds=0, local_seconds=local_seconds)
    if tracked is not None:
        tracked.watch(token_cache.local)
    authorizer = Authorizer(
        tokens=token_store,
        cache=token_cache,
        directory=directory,
        stations=stations,
        policies=policy_store,
        blocks=block_store,
        sessions=sessions,
        decisions=DecisionPublisher(EventPublisher(redis, producer="authz-test"), pipelined),
        refresh_seconds=refresh_seconds,
        default_max_concurrent=1,
        default_max_session_seconds=3600,
    )
    server = GrpcServer("127.0.0.1", 0, sampled_tracing=True, generic_handlers_only=True)
    server.add_service(
        authz_pb2_grpc.add_AuthzServicer_to_server,
        AuthzServicer(
            credential_store,
            validator,
            authorizer=authorizer,
            token_store=token_store,
            token_manager=TokenManager(token_store, authorizer, directory, block_store),
            policies=policy_store,
            blocks=block_store,
            station_actions=StationActions(credential_store, block_store, gateway_client),
            stations=stations,
            local_lists=LocalLists(
                db,
                tokens=token_store,
                policies=policy_store,
                blocks=block_store,
                credentials=credential_store,
                gateway=gateway_client,
            ),
            service_callers_only=service_callers_only,
        ),
        "chargewatch.v1.Authz",
    )
    await server.start()
    await server.set_serving(True)
    monitor = IdentityProviderMonitor(directory.reachable, server.health)
    channel = client_channel(f"127.0.0.1:{server.port}")
    yield Harness(
        authz_pb2_grpc.AuthzStub(channel),
        channel,
        server,
        authorizer,
        directory,
        monitor,
        sessions,
        gateway,
        db,
        redis,
        keycloak_url,
        http,
    )
    await authorizer.close()
    await pipelined.aclose()
    await channel.close(None)
    await server.stop(0)
    await gateway_channel.close(None)
    await gateway_server.stop(0)
    await directory.close()
    await http.aclose()
    await redis.aclose()
    await mongo.drop_database(name)
    await mongo.close()


@pytest.fixture
async def authz(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    async for harness in build_harness(mongo_url, redis_url, keycloak_url):
        yield harness


def log_dir_text(path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in path.glob("*.log"))
