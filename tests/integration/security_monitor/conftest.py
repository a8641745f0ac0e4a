"""The security monitor in-process on real servers: Redis streams, the MongoDB-wire store, the dev IdP,
a real authz (the authz tests' harness) and the Security API on a real gRPC server.

The gateway's GatewayCommands is the authz tests' recording double on its own gRPC server (disconnects
are recorded); the monitor authenticates to authz with a client-credentials token from the dev IdP.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from chargewatch.auth import ClientCredentialsToken
from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.security_monitor import store
from chargewatch.security_monitor.alerts import AlertBook
from chargewatch.security_monitor.catalogue import Parameters
from chargewatch.security_monitor.certificates import CertificateInventory
from chargewatch.security_monitor.directory import StationDirectory, StationInfo
from chargewatch.security_monitor.engine import DetectionEngine, MaintenanceWindows
from chargewatch.security_monitor.grpc_api import SecurityServicer
from chargewatch.security_monitor.leader import LeaderLease
from chargewatch.security_monitor.leadership import LeaderRole
from chargewatch.security_monitor.responses import PolicyStore, ResponseClients, ResponseEngine
from chargewatch.security_monitor.synthetic import Events
from chargewatch.streams import EventPublisher
from chargewatch.v1 import authz_pb2_grpc, common_pb2, gateway_pb2_grpc, security_pb2_grpc
from tests.integration.authz.conftest import REALM, SERVICES_SECRET, FakeGateway, Harness, build_harness

T = TypeVar("T")

OPERATOR = common_pb2.Principal(subject="op-1", roles=["operator"])
ANALYST = common_pb2.Principal(subject="analyst-1", roles=["security-analyst"])
SRE = common_pb2.Principal(subject="sre-1", roles=["sre"])
PARTNER_A = common_pb2.Principal(subject="pa", roles=["partner"], tenant_id="partner-a")
PARTNER_B = common_pb2.Principal(subject="pb", roles=["partner"], tenant_id="partner-b")
NOBODY = common_pb2.Principal(subject="x")
AMSTERDAM = (52.3791, 4.9003)
BERLIN = (52.5200, 13.4050)


@dataclass
class Stack:
    stub: security_pb2_grpc.SecurityAsyncStub
    publisher: EventPublisher
    events: Events
    authz: Harness
    gateway: FakeGateway
    db: Any
    redis: aioredis.Redis
    role: LeaderRole
    policies: PolicyStore
    directory: StationDirectory

    async def publish(self, *envelopes: Any) -> None:
        await self.publisher.publish_many(list(envelopes))

    def now(self) -> float:
        return time.time()


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T:
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {within}s (last: {last!r})")


@pytest.fixture
async def stack(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Stack]:
    async for authz in build_harness(mongo_url, redis_url, keycloak_url):
        mongo: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="security-test")
        name = f"security_{random.randrange(1 << 30)}"
        db = mongo[name]
        await ensure_indexes(db, store.indexes(30))
        redis = aioredis.Redis.from_url(redis_url)
        collections = store.Collections(db)
        publisher = EventPublisher(redis, producer="security-test")
        alerts = AlertBook(collections, publisher)
        policies = PolicyStore(collections)
        gateway = FakeGateway()
        gateway_server = GrpcServer("127.0.0.1", 0)
        gateway_server.add_service(gateway_pb2_grpc.add_GatewayCommandsServicer_to_server, gateway, "gw")
        await gateway_server.start()
        gateway_channel = client_channel(f"127.0.0.1:{gateway_server.port}")
        authz_channel = client_channel(f"127.0.0.1:{authz.server.port}")
        http = httpx.AsyncClient(timeout=5.0)
        token = ClientCredentialsToken(
            f"{keycloak_url}/realms/{REALM}/protocol/openid-connect/token",
            "chargewatch-services",
            SERVICES_SECRET,
            http=http,
        )
        clients = ResponseClients(
            authz_pb2_grpc.AuthzStub(authz_channel), gateway_pb2_grpc.GatewayCommandsStub(gateway_channel), token
        )
        responses = ResponseEngine(collections, policies, clients)
        directory = StationDirectory(None)
        for station, tenant, where in (("AMS-1", "partner-a", AMSTERDAM), ("BER-1", "partner-b", BERLIN)):
            directory.put(station, StationInfo(tenant, "site", where))
        parameters = Parameters()

        def inventory(
            engine: DetectionEngine, collections: store.Collections = collections, parameters: Parameters = parameters
        ) -> CertificateInventory:
            return CertificateInventory(collections, parameters, scan_seconds=3600)

        role = LeaderRole(
            redis=redis,
            lease=LeaderLease(redis, f"test:leader:{name}", "test-instance", 3.0),
            alerts=alerts,
            responses=responses,
            directory=directory,
            inventory=inventory,
            parameters=parameters,
            disabled_rules=frozenset(),
            maintenance=MaintenanceWindows(()),
            consumer_group=f"security-{name}",
            partitions=1,
            batch_size=200,
            claim_idle_ms=1000,
            max_deliveries=3,
            checkpoint_seconds=1.0,
            block_ms=100,
        )
        server = GrpcServer("127.0.0.1", 0)
        server.add_service(
            security_pb2_grpc.add_SecurityServicer_to_server,
            SecurityServicer(collections, alerts, policies, responses, parameters, live_engine=role.engine),
            "chargewatch.v1.Security",
        )
        await server.start()
        await server.set_serving(True)
        channel = client_channel(f"127.0.0.1:{server.port}")
        leading = asyncio.create_task(role.run())
        try:
            await eventually(lambda role=role: asyncio.sleep(0, result=role.leading))  # type: ignore[misc]
            yield Stack(
                security_pb2_grpc.SecurityStub(channel),
                publisher,
                Events(f"it{random.randrange(1 << 30)}"),
                authz,
                gateway,
                db,
                redis,
                role,
                policies,
                directory,
            )
        finally:
            role.stop()
            await asyncio.wait_for(leading, 20)
            await channel.close(None)
            await server.stop(0)
            await authz_channel.close(None)
            await gateway_channel.close(None)
            await gateway_server.stop(0)
            await http.aclose()
            await redis.aclose()
            await mongo.drop_database(name)
            await mongo.close()
