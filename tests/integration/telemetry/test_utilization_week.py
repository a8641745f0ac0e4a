"""A synthetic week with known occupancy, through the whole path (streams, consumer, store, gRPC),
delivered out of order and twice: the heat map is exact to the millisecond."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.streams import EventPublisher
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.registry import ConnectorSpec, Registration
from chargewatch.v1 import common_pb2, events_pb2, telemetry_pb2, telemetry_pb2_grpc

from .telemetry_support import Stores, drain, fresh_stores, gateway_event, redeliver_everything

S = common_pb2
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
HOUR = 3600.0
OPERATOR = common_pb2.Principal(subject="ops", roles=["operator"])


def week_of_changes() -> list[tuple[datetime, int, int]]:
    """(when, evse, status). EVSE 1, every day: preparing 07:45, charging 08:00-09:30, finishing
    to 10:00. EVSE 2: charging Monday to Friday 12:00-18:00, faulted Saturday 00:00-06:00. Both
    available since the Friday before (so the whole week is observed)."""
    changes = [(MONDAY - timedelta(days=3), 1, S.CONNECTOR_STATUS_AVAILABLE)]
    changes.append((MONDAY - timedelta(days=3), 2, S.CONNECTOR_STATUS_AVAILABLE))
    for day in range(7):
        base = MONDAY + timedelta(days=day)
        changes += [
            (base + timedelta(hours=7, minutes=45), 1, S.CONNECTOR_STATUS_PREPARING),
            (base + timedelta(hours=8), 1, S.CONNECTOR_STATUS_CHARGING),
            (base + timedelta(hours=9, minutes=30), 1, S.CONNECTOR_STATUS_FINISHING),
            (base + timedelta(hours=10), 1, S.CONNECTOR_STATUS_AVAILABLE),
        ]
        if day < 5:
            changes += [
                (base + timedelta(hours=12), 2, S.CONNECTOR_STATUS_CHARGING),
                (base + timedelta(hours=18), 2, S.CONNECTOR_STATUS_AVAILABLE),
            ]
    saturday = MONDAY + timedelta(days=5)
    changes += [
        (saturday, 2, S.CONNECTOR_STATUS_FAULTED),
        (saturday + timedelta(hours=6), 2, S.CONNECTOR_STATUS_AVAILABLE),
    ]
    # A change after the week: must not leak into it.
    changes.append((MONDAY + timedelta(days=7, hours=1), 1, S.CONNECTOR_STATUS_CHARGING))
    return changes


@pytest.fixture
async def week(redis_client: aioredis.Redis, mongo_url: str) -> AsyncIterator[Any]:
    async with fresh_stores(mongo_url) as stores:
        await stores.registry.register(
            Registration(
                "CP-W",
                "partner-a",
                "site-w",
                1,
                "W",
                52.0,
                4.0,
                [ConnectorSpec(1, 1, "cType2", 22_000), ConnectorSpec(2, 1, "cType2", 22_000)],
            )
        )
        publisher = EventPublisher(redis_client, producer="test-gateway")
        events = [
            gateway_event(
                publisher,
                "CP-W",
                "partner-a",
                at,
                events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=status, error_code="NoError"),  # type: ignore[arg-type]
                f"w-{n:03d}",
            )
            for n, (at, evse, status) in enumerate(week_of_changes())
        ]
        await publisher.publish_many(random.Random(3).sample(events, len(events)))
        await drain(redis_client, stores.ingest(None), "pod-1")
        await redeliver_everything(redis_client)
        await drain(redis_client, stores.ingest(None), "pod-2")
        server = GrpcServer("127.0.0.1", 0)
        server.add_service(
            telemetry_pb2_grpc.add_TelemetryServicer_to_server,
            TelemetryServicer(stores.registry, stores.meters, stores.sessions),
            "chargewatch.v1.Telemetry",
        )
        await server.start()
        channel = client_channel(f"127.0.0.1:{server.port}")
        yield stores, telemetry_pb2_grpc.TelemetryStub(channel)
        await channel.close(None)
        await server.stop(0)


async def utilization(stub: Any, start: datetime, end: datetime) -> telemetry_pb2.UtilizationReport:
    time_range = common_pb2.TimeRange()
    time_range.start.FromDatetime(start)
    time_range.end.FromDatetime(end)
    return await stub.GetUtilization(
        telemetry_pb2.UtilizationRequest(
            principal=OPERATOR, scope=telemetry_pb2.AnalyticsScope(site_id="site-w"), range=time_range
        )
    )


def cells(hours: Any) -> dict[int, tuple[float, float, float]]:
    return {h.hour_of_week: (h.observed_seconds, h.occupied_ratio, h.charging_ratio) for h in hours}


async def test_a_known_week_gives_the_exact_heat_map(week: tuple[Stores, Any]) -> None:
    _, stub = week
    report = await utilization(stub, MONDAY, MONDAY + timedelta(days=7))
    by_evse = {c.connector.evse_id: c for c in report.connectors}
    one, two = cells(by_evse[1].hours), cells(by_evse[2].hours)
    for day in range(7):
        base = day * 24
        for hour in range(24):
            expected_one = {7: (0.25, 0.0), 8: (1.0, 1.0), 9: (1.0, 0.5)}.get(hour, (0.0, 0.0))
            assert one[base + hour] == (HOUR, *expected_one), (day, hour)
            weekday_charging = day < 5 and 12 <= hour < 18
            assert two[base + hour] == (HOUR, float(weekday_charging), float(weekday_charging)), (day, hour)
    # Faulted Saturday night is observed but neither occupied nor charging.
    assert two[5 * 24 + 3] == (HOUR, 0.0, 0.0)
    assert by_evse[1].occupied_ratio == 7 * 2.25 / 168 and by_evse[1].charging_ratio == 7 * 1.5 / 168
    assert by_evse[2].occupied_ratio == by_evse[2].charging_ratio == 5 * 6 / 168
    (site,) = report.sites
    assert site.occupied_ratio == (7 * 2.25 + 5 * 6) / 336 and site.charging_ratio == (7 * 1.5 + 5 * 6) / 336
    assert cells(site.hours)[8] == (2 * HOUR, 0.5, 0.5) and cells(site.hours)[12] == (2 * HOUR, 0.5, 0.5)


async def test_a_window_off_the_hour_is_exact_too(week: tuple[Stores, Any]) -> None:
    _, stub = week
    # Tuesday 09:10 to Wednesday 12:30.
    start, end = MONDAY + timedelta(days=1, hours=9, minutes=10), MONDAY + timedelta(days=2, hours=12, minutes=30)
    report = await utilization(stub, start, end)
    by_evse = {c.connector.evse_id: c for c in report.connectors}
    span_ms = int((end - start).total_seconds() * 1000)
    one = cells(by_evse[1].hours)
    assert one[24 + 9] == (50 * 60, 1.0, 20 / 50)  # from 09:10: charging to 09:30, finishing to 10:00
    # Ratios of whole milliseconds: Tuesday 09:10-10:00 and Wednesday 07:45-10:00 occupied.
    assert by_evse[1].occupied_ratio == (50 * 60_000 + 135 * 60_000) / span_ms
    assert by_evse[2].charging_ratio == (6 * 3_600_000 + 30 * 60_000) / span_ms  # Tuesday 12-18, Wednesday 12-12:30
    assert sum(h.observed_seconds for h in by_evse[2].hours) == span_ms / 1000
