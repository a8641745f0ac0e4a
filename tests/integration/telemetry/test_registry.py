"""The registry under redelivery and reordering: state follows event time, never arrival."""

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.message import Message

from chargewatch.mongo import create_mongo_client, ensure_indexes
from chargewatch.telemetry import registry
from chargewatch.telemetry.registry import Registration, StationQuery, StationRegistry, TenantMismatch
from chargewatch.v1 import common_pb2, events_pb2

# Recent: the status history is kept for 30 days (a TTL index on its received time), so a fixed
# date would see its history purged once the calendar passes it.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def envelope(event_id: str, at: datetime, payload: Message, station: str = "CP-1") -> events_pb2.EventEnvelope:
    message = events_pb2.EventEnvelope(event_id=event_id, station_id=station, tenant_id="partner-a")
    message.station_time.FromDatetime(at)
    message.received_time.FromDatetime(at + timedelta(milliseconds=40))
    field = {
        events_pb2.ConnectorStatusChange: "status",
        events_pb2.StationConnection: "connection",
        events_pb2.StationHeartbeat: "heartbeat",
        events_pb2.StationBoot: "boot",
    }[type(payload)]
    getattr(message, field).CopyFrom(payload)
    return message


def status(evse: int, value: int) -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=value, error_code="NoError")  # type: ignore[arg-type]


@pytest.fixture
async def stations(mongo_url: str) -> AsyncIterator[StationRegistry]:
    client = create_mongo_client(mongo_url, app_name="registry-test")
    name = f"registry_{random.randrange(1 << 30)}"
    db = client[name]
    await ensure_indexes(db, registry.indexes(30))
    store = StationRegistry(db)
    await store.register(Registration("CP-1", "partner-a", "site-1", 1, "One", 52.0, 4.0))
    yield store
    await client.drop_database(name)
    await client.close()


async def test_registration_is_idempotent_and_keeps_the_tenant(stations: StationRegistry) -> None:
    again = await stations.register(Registration("CP-1", "partner-a", "site-2", 1))
    assert again["site_id"] == "site-2"
    with pytest.raises(TenantMismatch):
        await stations.register(Registration("CP-1", "partner-b", "site-1", 1))


async def test_events_in_any_order_and_repeated_give_the_same_state(stations: StationRegistry) -> None:
    events = [
        envelope("e1", T0, events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)),
        envelope(
            "e2",
            T0 + timedelta(seconds=1),
            events_pb2.StationBoot(vendor="ACME", model="Fast-50", firmware_version="1.2"),
        ),
        envelope("e3", T0 + timedelta(seconds=2), status(1, common_pb2.CONNECTOR_STATUS_AVAILABLE)),
        envelope("e4", T0 + timedelta(seconds=3), status(1, common_pb2.CONNECTOR_STATUS_CHARGING)),
        envelope("e5", T0 + timedelta(seconds=4), status(2, common_pb2.CONNECTOR_STATUS_FAULTED)),
        envelope("e6", T0 + timedelta(seconds=5), events_pb2.StationHeartbeat()),
    ]
    shuffled = events + events[::-1] + random.sample(events, len(events))
    for event in shuffled:
        await stations.apply(event)
    document = await stations.get("CP-1", "partner-a")
    assert document is not None
    assert document["connectivity"] == "online"
    assert document["vendor"] == "ACME"
    assert document["connectors"]["1-1"]["status"] == common_pb2.CONNECTOR_STATUS_CHARGING
    assert document["connectors"]["1-1"]["event_id"] == "e4"
    assert document["connectors"]["2-1"]["status"] == common_pb2.CONNECTOR_STATUS_FAULTED
    assert document["statuses"] == sorted([common_pb2.CONNECTOR_STATUS_CHARGING, common_pb2.CONNECTOR_STATUS_FAULTED])
    assert document["last_heartbeat_ms"] == registry.to_ms(T0 + timedelta(seconds=5))
    # Each status event is in the history exactly once, however often it was delivered.
    assert await stations.history.count_documents({"station_id": "CP-1"}) == 3


async def test_a_late_disconnect_does_not_take_a_reconnected_station_offline(stations: StationRegistry) -> None:
    connected = envelope(
        "c2", T0 + timedelta(minutes=5), events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)
    )
    stale = envelope("d1", T0, events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_DISCONNECTED))
    await stations.apply(connected)
    await stations.apply(stale)
    document = await stations.get("CP-1", None)
    assert document is not None and document["connectivity"] == "online"


async def test_queries_are_scoped_to_the_tenant(stations: StationRegistry) -> None:
    await stations.register(Registration("CP-2", "partner-b", "site-9", 1))
    assert await stations.get("CP-2", "partner-a") is None
    assert await stations.get("CP-2", "partner-b") is not None
    documents, total = await stations.list(StationQuery(tenant_id="partner-a"))
    assert total == 1 and [d["_id"] for d in documents] == ["CP-1"]
    documents, total = await stations.list(StationQuery(tenant_id=None))
    assert total == 2


async def test_status_and_location_filters(stations: StationRegistry) -> None:
    await stations.apply(envelope("s1", T0, status(1, common_pb2.CONNECTOR_STATUS_FAULTED)))
    documents, _ = await stations.list(StationQuery(status=common_pb2.CONNECTOR_STATUS_FAULTED))
    assert [d["_id"] for d in documents] == ["CP-1"]
    documents, _ = await stations.list(StationQuery(status=common_pb2.CONNECTOR_STATUS_AVAILABLE))
    assert documents == []
    documents, _ = await stations.list(StationQuery(box=(51.0, 3.0, 53.0, 5.0)))
    assert [d["_id"] for d in documents] == ["CP-1"]
    documents, _ = await stations.list(StationQuery(box=(10.0, 3.0, 11.0, 5.0)))
    assert documents == []
