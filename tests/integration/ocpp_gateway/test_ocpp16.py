"""An independent OCPP 1.6 client (the `ocpp` package's ChargePoint) against the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import websockets
from ocpp.v16 import ChargePoint, call
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, RegistrationStatus
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from websockets.asyncio.client import ClientConnection

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic


@asynccontextmanager
async def station(
    gateway: Gateway, station_id: str, password: str
) -> AsyncIterator[tuple[ChargePoint, ClientConnection]]:
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp1.6"], additional_headers=basic(station_id, password)
    ) as socket:
        assert socket.subprotocol == "ocpp1.6"
        client = ChargePoint(station_id, socket, response_timeout=5)
        runner = asyncio.create_task(client.start())
        try:
            yield client, socket
        finally:
            runner.cancel()


async def test_boot_status_heartbeat_are_answered_and_published(
    gateway: Gateway, span_exporter: InMemorySpanExporter
) -> None:
    password = gateway.add_station("CP-16-1", tenant_id="partner-a")
    span_exporter.clear()
    async with station(gateway, "CP-16-1", password) as (client, _):
        boot = await client.call(
            call.BootNotification(
                charge_point_model="Model-X", charge_point_vendor="Vendor-Y", firmware_version="1.2.3"
            ),
            suppress=False,
        )
        assert boot.status == RegistrationStatus.accepted
        assert boot.interval == 120
        assert datetime.fromisoformat(boot.current_time).tzinfo is not None
        stamp = "2024-05-01T10:00:00Z"
        await client.call(
            call.StatusNotification(
                connector_id=2,
                error_code=ChargePointErrorCode.no_error,
                status=ChargePointStatus.charging,
                timestamp=stamp,
            ),
            suppress=False,
        )
        await client.call(
            call.StatusNotification(
                connector_id=0, error_code=ChargePointErrorCode.no_error, status=ChargePointStatus.available
            ),
            suppress=False,
        )
        heartbeat = await client.call(call.Heartbeat(), suppress=False)
        assert heartbeat.current_time

    boots = await gateway.wait_for_events(StreamFamily.BOOT, lambda e: e.station_id == "CP-16-1")
    assert boots[0].tenant_id == "partner-a"
    assert (boots[0].boot.vendor, boots[0].boot.model, boots[0].boot.firmware_version) == (
        "Vendor-Y",
        "Model-X",
        "1.2.3",
    )
    assert boots[0].boot.registration_status == common_pb2.REGISTRATION_STATUS_ACCEPTED
    assert boots[0].boot.ocpp_version == common_pb2.OCPP_VERSION_1_6

    statuses = await gateway.events(StreamFamily.STATUS)
    mine = [e for e in statuses if e.station_id == "CP-16-1"]
    assert [(e.status.evse_id, e.status.connector_id, e.status.status) for e in mine] == [
        (2, 1, common_pb2.CONNECTOR_STATUS_CHARGING),
        (0, 0, common_pb2.CONNECTOR_STATUS_AVAILABLE),
    ]
    assert mine[0].station_time.ToDatetime(UTC) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert all(e.tenant_id == "partner-a" for e in mine)

    connection = await gateway.wait_for_events(
        StreamFamily.CONNECTION, lambda e: e.station_id == "CP-16-1" and e.WhichOneof("payload") == "connection"
    )
    kinds = [e.connection.kind for e in connection]
    assert kinds[0] == events_pb2.StationConnection.KIND_CONNECTED
    assert connection[0].connection.gateway_instance == "gw-test-1"
    assert connection[0].connection.remote_address == "127.0.0.1"
    assert connection[0].connection.security_profile == common_pb2.SECURITY_PROFILE_1_BASIC
    heartbeats = [e for e in await gateway.events(StreamFamily.CONNECTION) if e.WhichOneof("payload") == "heartbeat"]
    assert [e.station_id for e in heartbeats] == ["CP-16-1"]
    await gateway.wait_for_events(
        StreamFamily.CONNECTION,
        lambda e: e.station_id == "CP-16-1" and e.connection.kind == events_pb2.StationConnection.KIND_DISCONNECTED,
    )

    # Each event's traceparent descends from the gateway span that handled its message.
    spans = span_exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    for envelope, action in ((boots[0], "BootNotification"), (mine[0], "StatusNotification")):
        _, trace_id, span_id, _ = envelope.traceparent.split("-")
        span = by_id.get(int(span_id, 16))
        chain = []
        while span is not None:
            chain.append(span)
            span = by_id.get(span.parent.span_id) if span.parent else None
        root = chain[-1]
        assert root.name == f"ocpp {action}", [s.name for s in chain]
        assert root.context.trace_id == int(trace_id, 16)
        assert root.attributes is not None
        assert root.attributes["ocpp.version"] == "1.6"
        assert root.attributes["ocpp.action"] == action
        assert root.attributes["chargewatch.station.id"] == "CP-16-1"
        assert root.attributes["ocpp.message.id"]


@pytest.mark.parametrize("settings_overrides", [{"trace_ratio_by_action": {"MeterValues": 0.0}}])
async def test_an_action_traced_at_a_lower_ratio_keeps_an_unsampled_trace_the_others_are_traced(
    gateway: Gateway, span_exporter: InMemorySpanExporter
) -> None:
    password = gateway.add_station("CP-16-TRACE", tenant_id="partner-a")
    span_exporter.clear()
    async with station(gateway, "CP-16-TRACE", password) as (client, _):
        for _ in range(20):
            await client.call(
                call.MeterValues(
                    connector_id=1,
                    meter_value=[{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{"value": "10.5"}]}],
                ),
                suppress=False,
            )
        await client.call(call.Heartbeat(), suppress=False)

    # Each answer came after its event was on the stream.
    meters = [e for e in await gateway.events(StreamFamily.METER) if e.station_id == "CP-16-TRACE"]
    assert len(meters) == 20
    # Not one of twenty traced (the test's sampler samples everything else); each still carries an
    # unsampled traceparent, so the consumers make the same decision.
    flags = [int(e.traceparent.split("-")[3], 16) for e in meters]
    assert all(flag & 1 == 0 for flag in flags), [e.traceparent for e in meters]
    mine = [
        s
        for s in span_exporter.get_finished_spans()
        if s.attributes and s.attributes.get("chargewatch.station.id") == "CP-16-TRACE"
    ]
    assert [s.name for s in mine] == ["ocpp Heartbeat"]
