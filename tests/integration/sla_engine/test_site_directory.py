"""Sites come from the telemetry service's registry over real gRPC, with a deadline, off the event path."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import pytest

from chargewatch.mongo import create_mongo_client, ensure_indexes
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.sla_engine.directory import SiteDirectory
from chargewatch.telemetry import meters, registry, sessions
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.v1 import common_pb2, telemetry_pb2, telemetry_pb2_grpc

pytestmark = pytest.mark.integration


@pytest.fixture
async def telemetry(mongo_url: str) -> AsyncIterator[tuple[str, GrpcServer]]:
    client = create_mongo_client(mongo_url, app_name="sla-directory-test")
    name = f"telemetry_{random.randrange(1 << 30)}"
    db = client[name]
    await ensure_indexes(db, [*registry.indexes(400), *meters.indexes(30, 400), *sessions.indexes(400)])
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(
        telemetry_pb2_grpc.add_TelemetryServicer_to_server,
        TelemetryServicer(registry.StationRegistry(db), meters.MeterStore(db), sessions.SessionStore(db)),
        "chargewatch.v1.Telemetry",
    )
    port = await server.start()
    stub = telemetry_pb2_grpc.TelemetryStub(client_channel(f"127.0.0.1:{port}"))
    operator = common_pb2.Principal(subject="op", roles=["operator"])
    await stub.UpsertStation(
        telemetry_pb2.UpsertStationRequest(
            principal=operator,
            station_id="CW-A-0001",
            tenant_id="partner-a",
            site_id="ams-centraal",
            security_profile=1,
        )
    )
    try:
        yield f"127.0.0.1:{port}", server
    finally:
        await server.stop(0)
        await client.drop_database(name)
        await client.close()


async def test_a_station_site_is_looked_up_once_and_cached(telemetry: tuple[str, GrpcServer]) -> None:
    target, _server = telemetry
    channel = client_channel(target)
    directory = SiteDirectory(telemetry_pb2_grpc.TelemetryStub(channel), ttl_s=300, deadline_s=2)
    try:
        assert directory.site_of("CW-A-0001") is None  # not known yet: asked in the background
        assert directory.site_of("CW-UNKNOWN") is None
        await directory.fetch_wanted()
        assert directory.site_of("CW-A-0001") == "ams-centraal"
        assert directory.site_of("CW-UNKNOWN") == ""  # not registered: no site (asked again after the ttl)
        lookups = directory.lookups
        await directory.fetch_wanted()
        assert directory.lookups == lookups  # cached
    finally:
        await channel.close()


async def test_an_unreachable_registry_costs_at_most_the_deadline(telemetry: tuple[str, GrpcServer]) -> None:
    target, server = telemetry
    await server.stop(0)
    channel = client_channel(target)
    directory = SiteDirectory(telemetry_pb2_grpc.TelemetryStub(channel), deadline_s=0.5, retry_s=0.0)
    try:
        directory.site_of("CW-A-0001")
        started = time.monotonic()
        await directory.fetch_wanted()
        assert time.monotonic() - started < 3.0
        assert directory.failures == 1
        assert directory.site_of("CW-A-0001") is None  # still unknown; wanted again
    finally:
        await channel.close()
