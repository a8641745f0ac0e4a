"""The whole telemetry path with real Redis and the MongoDB-wire store: events published as the
gateway publishes them, consumed, stored, rolled up and queried over real gRPC.

Known inputs, known answers: energy to the Wh, sessions, idle time, success rate; then every
stream entry delivered again changes nothing, and the same events in another order give the
same sessions and energy."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis

from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.streams import Event, EventPublisher, StreamFamily, stream_name
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.registry import ConnectorSpec, Registration
from chargewatch.v1 import common_pb2, events_pb2, telemetry_pb2, telemetry_pb2_grpc

from .telemetry_support import Stores, drain, fresh_stores, gateway_event, redeliver_everything

TX = events_pb2.TransactionEvent
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = NOW.replace(minute=0) - timedelta(hours=4)
OPERATOR = common_pb2.Principal(subject="ops", roles=["operator"])
PARTNER_A = common_pb2.Principal(subject="a", roles=["partner"], tenant_id="partner-a")
PARTNER_B = common_pb2.Principal(subject="b", roles=["partner"], tenant_id="partner-b")
S = common_pb2


def meter(evse: int, tx: str, wh: float, w: float, at: datetime) -> events_pb2.MeterValues:
    energy = events_pb2.SampledValue(measurand="Energy.Active.Import.Register", value=wh, unit=S.UNIT_WH)
    power = events_pb2.SampledValue(measurand="Power.Active.Import", value=w, unit=S.UNIT_W)
    for sample in (energy, power):
        sample.timestamp.FromDatetime(at)
    return events_pb2.MeterValues(evse_id=evse, connector_id=1, transaction_id=tx, samples=[energy, power])


def status(evse: int, value: int) -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=value, error_code="NoError")  # type: ignore[arg-type]


def known_sequence(publisher: EventPublisher) -> list[events_pb2.EventEnvelope]:
    """Two sessions on CP-A, one refused authorization, one meter register running backwards.

    Session tx-1 (EVSE 1): register 10,000 -> 19,000 Wh in one-minute readings over an hour at
    9 kW, ended ten minutes after the register stopped rising. Session tx-2 (EVSE 2): 500 ->
    3,500 Wh in five-minute readings at 6 kW. Then EVSE 2 reports 3,000 Wh: backwards.
    """
    events: list[events_pb2.EventEnvelope] = []

    def add(at: datetime, payload: Any, event_id: str) -> None:
        events.append(gateway_event(publisher, "CP-A", "partner-a", at, payload, event_id))

    minute = timedelta(minutes=1)
    add(T0 - timedelta(days=1), events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED), "c1")
    add(T0 - timedelta(days=1), events_pb2.StationBoot(vendor="ACME", model="DC-50", serial_number="SN1"), "b1")
    add(T0 - timedelta(days=1), status(1, S.CONNECTOR_STATUS_AVAILABLE), "s1")
    add(T0 - timedelta(days=1), status(2, S.CONNECTOR_STATUS_AVAILABLE), "s2")
    add(T0, events_pb2.AuthorizationDecision(id_token="RFID-1", status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED), "a1")
    add(T0, status(1, S.CONNECTOR_STATUS_CHARGING), "s3")
    add(
        T0,
        TX(kind=TX.KIND_STARTED, transaction_id="tx-1", evse_id=1, connector_id=1, id_token="RFID-1", meter_wh=10_000),
        "t1",
    )
    for i in range(61):
        add(T0 + i * minute, meter(1, "tx-1", 10_000 + 150 * i, 9000, T0 + i * minute), f"m1-{i}")
    add(T0 + 30 * minute, TX(kind=TX.KIND_UPDATED, transaction_id="tx-1", meter_wh=14_500, seq_no=1), "t2")
    add(T0 + 61 * minute, status(1, S.CONNECTOR_STATUS_FINISHING), "s4")
    add(
        T0 + 70 * minute,
        TX(kind=TX.KIND_ENDED, transaction_id="tx-1", meter_wh=19_000, stop_reason="EVDisconnected", seq_no=2),
        "t3",
    )
    add(T0 + 70 * minute, status(1, S.CONNECTOR_STATUS_AVAILABLE), "s5")
    add(
        T0 + 5 * minute,
        events_pb2.AuthorizationDecision(id_token="RFID-X", status=events_pb2.AUTHORIZATION_STATUS_BLOCKED),
        "a2",
    )
    add(T0 + 10 * minute, status(2, S.CONNECTOR_STATUS_CHARGING), "s6")
    add(
        T0 + 10 * minute,
        TX(kind=TX.KIND_STARTED, transaction_id="tx-2", evse_id=2, connector_id=1, id_token="APP-7", meter_wh=500),
        "t4",
    )
    for k in range(7):
        at = T0 + (10 + 5 * k) * minute
        add(at, meter(2, "tx-2", 500 + 500 * k, 6000, at), f"m2-{k}")
    add(
        T0 + 40 * minute,
        TX(kind=TX.KIND_ENDED, transaction_id="tx-2", meter_wh=3500, stop_reason="Local", seq_no=1),
        "t5",
    )
    add(T0 + 40 * minute, status(2, S.CONNECTOR_STATUS_AVAILABLE), "s7")
    add(T0 + 50 * minute, meter(2, "", 3000, 0, T0 + 50 * minute), "m2-back")
    return events


async def register_stations(stores: Stores) -> None:
    specs = [ConnectorSpec(1, 1, "cCCS2", 11_000), ConnectorSpec(2, 1, "cType2", 11_000)]
    await stores.registry.register(Registration("CP-A", "partner-a", "site-1", 1, "A", 52.0, 4.0, specs))
    await stores.registry.register(Registration("CP-B", "partner-b", "site-9", 1, "B"))


async def snapshot(stores: Stores) -> dict[str, Any]:
    db = stores.db
    result: dict[str, Any] = {}
    for name in (
        "meter_log",
        "meter_raw",
        "meter_days",
        "sessions",
        "authorizations",
        "status_history",
        "status_days",
        "status_index",
    ):
        result[name] = sorted([d async for d in db[name].find({})], key=lambda d: str(d["_id"]))
    station = await db["stations"].find_one({"_id": "CP-A"})
    assert station is not None
    result["station"] = station
    return result


@pytest.fixture
async def loaded(
    redis_client: aioredis.Redis, mongo_url: str
) -> AsyncIterator[tuple[Stores, list[events_pb2.EventEnvelope]]]:
    async with fresh_stores(mongo_url) as stores:
        await register_stations(stores)
        publisher = EventPublisher(redis_client, producer="test-gateway")
        events = known_sequence(publisher)
        await publisher.publish_many(events)
        await drain(redis_client, stores.ingest(EventPublisher(redis_client, producer="telemetry")), "pod-1")
        await stores.downsampler.run_once()
        yield stores, events


async def test_sessions_energy_and_quality_flags_are_exact(
    loaded: tuple[Stores, list[events_pb2.EventEnvelope]], redis_client: aioredis.Redis
) -> None:
    stores, _ = loaded
    one = await stores.sessions.get("CP-A", "tx-1")
    two = await stores.sessions.get("CP-A", "tx-2")
    assert one is not None and two is not None
    assert (one["energy_wh"], one["state"], one["stop_reason"], one["id_token"]) == (
        9000.0,
        "ended",
        "EVDisconnected",
        "RFID-1",
    )
    assert one["duration_seconds"] == 70 * 60 and one["idle_seconds"] == 10 * 60
    assert one["peak_power_w"] == 9000.0
    assert (two["energy_wh"], two["evse_id"], two["peak_power_w"]) == (3000.0, 2, 6000.0)
    one_readings = await stores.meters.readings("CP-A|1|1", ms(T0 - timedelta(days=1)), ms(NOW + timedelta(hours=1)))
    two_readings = await stores.meters.readings("CP-A|2|1", ms(T0 - timedelta(days=1)), ms(NOW + timedelta(hours=1)))
    assert (len(one_readings), len(two_readings)) == (61, 7 + 1)
    assert [r["e"] for r in one_readings] == [10_000 + 150 * i for i in range(61)]
    assert two_readings[-1]["e"] == 3000 and two_readings[-1]["f"] == ["register_backwards"]
    assert all("f" not in r for r in one_readings + two_readings[:-1])
    assert await stores.db["meter_log"].count_documents({}) == 0  # all folded
    security = await redis_client.xrange(stream_name(StreamFamily.SECURITY, 0))
    published = [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _, fields in security]
    assert [(e.security.type, e.station_id, e.security.attributes["source_event_id"]) for e in published] == [
        ("MeterRegisterBackwards", "CP-A", "m2-back")
    ]
    station = await stores.registry.get("CP-A", None)
    assert station is not None
    assert station["live_sessions"]["1-1"]["transaction_id"] == ""  # ended


async def test_redelivering_every_entry_and_reordering_change_nothing(
    loaded: tuple[Stores, list[events_pb2.EventEnvelope]], redis_client: aioredis.Redis, mongo_url: str
) -> None:
    stores, events = loaded
    before = await snapshot(stores)
    assert await redeliver_everything(redis_client) == len(events)
    # A fresh process (empty memory) consumes the copies.
    await drain(redis_client, stores.ingest(EventPublisher(redis_client, producer="telemetry")), "pod-2")
    await stores.downsampler.run_once()
    after = await snapshot(stores)
    for name in before:
        assert after[name] == before[name], name
    security = await redis_client.xrange(stream_name(StreamFamily.SECURITY, 0))
    assert {events_pb2.EventEnvelope.FromString(f[b"data"]).event_id for _, f in security} == {
        f"m2-back:register_backwards:{int((T0 + timedelta(minutes=50)).timestamp() * 1000)}"
    }

    # The same events in a random order, in batches of random size, into another database.
    async with fresh_stores(mongo_url) as shuffled:
        await register_stations(shuffled)
        ingest = shuffled.ingest(None)
        order = random.Random(7).sample(events, len(events))
        while order:
            size = random.Random(len(order)).randint(1, 20)
            batch, order = order[:size], order[size:]
            await ingest([Event("s", "0-1", e, 1) for e in batch])
        await shuffled.downsampler.run_once()
        for tx in ("tx-1", "tx-2"):
            mine, theirs = await stores.sessions.get("CP-A", tx), await shuffled.sessions.get("CP-A", tx)
            assert mine is not None and theirs is not None
            for field in ("energy_wh", "started_ms", "stopped_ms", "idle_seconds", "peak_power_w", "id_token"):
                assert mine[field] == theirs[field], field
        # Flags depend on what a process had seen first (a reading that arrives before an older
        # one is not compared with it); everything else is the same.
        for name in ("meter_raw", "meter_days", "status_days", "status_index"):
            mine_docs = [unflagged(d) async for d in stores.db[name].find({}).sort("_id", 1)]
            their_docs = [unflagged(d) async for d in shuffled.db[name].find({}).sort("_id", 1)]
            assert mine_docs == their_docs and mine_docs, name


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def unflagged(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document without quality flags: of raw readings (`f`), of roll-up slots (last)."""
    if "s" in document:
        document = {**document, "s": {slot: text.rsplit(",", 1)[0] for slot, text in document["s"].items()}}
    if "r" in document:
        document = {**document, "r": {k: {f: v for f, v in r.items() if f != "f"} for k, r in document["r"].items()}}
    return document


@pytest.fixture
async def stub(loaded: tuple[Stores, list[events_pb2.EventEnvelope]]) -> AsyncIterator[Any]:
    stores, _ = loaded
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(
        telemetry_pb2_grpc.add_TelemetryServicer_to_server,
        TelemetryServicer(stores.registry, stores.meters, stores.sessions),
        "chargewatch.v1.Telemetry",
    )
    await server.start()
    channel = client_channel(f"127.0.0.1:{server.port}")
    yield telemetry_pb2_grpc.TelemetryStub(channel)
    await channel.close(None)
    await server.stop(0)


def span(start: datetime, end: datetime) -> common_pb2.TimeRange:
    time_range = common_pb2.TimeRange()
    time_range.start.FromDatetime(start)
    time_range.end.FromDatetime(end)
    return time_range


async def test_grpc_station_sessions_series_and_analytics(stub: Any) -> None:
    station = await stub.GetStation(telemetry_pb2.GetStationRequest(principal=PARTNER_A, station_id="CP-A"))
    assert (station.vendor, station.online) == ("ACME", True)
    first, second = station.connectors
    assert (first.connector_type, first.max_power_w, first.last_energy_wh) == ("cCCS2", 11_000, 19_000)
    assert first.status == S.CONNECTOR_STATUS_AVAILABLE and second.last_energy_wh == 3000

    page = await stub.ListSessions(
        telemetry_pb2.ListSessionsRequest(principal=PARTNER_A, page=common_pb2.PageRequest(page_size=1))
    )
    assert [s.transaction_id for s in page.sessions] == ["tx-2"] and page.page.total_size == 2
    rest = await stub.ListSessions(
        telemetry_pb2.ListSessionsRequest(
            principal=PARTNER_A, page=common_pb2.PageRequest(page_size=1, page_token=page.page.next_page_token)
        )
    )
    assert [s.transaction_id for s in rest.sessions] == ["tx-1"] and rest.page.next_page_token == ""
    assert rest.sessions[0].energy_wh == 9000 and rest.sessions[0].idle_seconds == 600

    window = span(T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    ref = common_pb2.ConnectorRef(station_id="CP-A", evse_id=1, connector_id=1)
    series = await stub.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(principal=PARTNER_A, connector=ref, range=window, step_seconds=900)
    )
    assert [p.samples for p in series.points] == [15, 15, 15, 15, 1]
    assert series.points[-1].energy_wh == 19_000 and series.points[0].power_w == 9000
    raw = await stub.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(principal=PARTNER_A, connector=ref, transaction_id="tx-2")
    )
    assert [p.energy_wh for p in raw.points] == [500 + 500 * k for k in range(7)]
    # A range wider than the session narrows nothing; one inside it narrows the series.
    wide = await stub.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(
            principal=PARTNER_A, connector=ref, transaction_id="tx-2", range=span(T0 - timedelta(days=30), NOW)
        )
    )
    assert [p.energy_wh for p in wide.points] == [500 + 500 * k for k in range(7)]
    narrow = await stub.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(
            principal=PARTNER_A,
            connector=ref,
            transaction_id="tx-2",
            range=span(T0 + timedelta(minutes=20), T0 + timedelta(minutes=30)),
        )
    )
    assert [p.energy_wh for p in narrow.points] == [1500, 2000]
    hourly = await stub.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(principal=PARTNER_A, connector=ref, range=window, step_seconds=3600)
    )
    assert [p.samples for p in hourly.points] == [60, 1]

    energy = await stub.GetSiteEnergy(
        telemetry_pb2.SiteEnergyRequest(
            principal=PARTNER_A, scope=telemetry_pb2.AnalyticsScope(site_id="site-1"), range=window
        )
    )
    assert energy.total_energy_wh == 12_000 and energy.peak_connector_power_w == 9000
    assert sum(d.energy_wh for d in energy.days) == 12_000

    stats = await stub.GetSessionStats(telemetry_pb2.SessionStatsRequest(principal=PARTNER_A, range=window))
    assert (stats.sessions, stats.successful_sessions, stats.refused_authorizations) == (2, 2, 1)
    assert stats.success_rate == pytest.approx(2 / 3) and stats.energy_wh == 12_000

    utilization = await stub.GetUtilization(
        telemetry_pb2.UtilizationRequest(principal=PARTNER_A, range=span(T0, T0 + timedelta(hours=2)))
    )
    by_evse = {c.connector.evse_id: c for c in utilization.connectors}
    # EVSE 1: charging 0-61 min, finishing to 70 min, of 120; EVSE 2: charging 10-40 min.
    assert by_evse[1].occupied_ratio == pytest.approx(70 / 120) and by_evse[1].charging_ratio == pytest.approx(61 / 120)
    assert by_evse[2].occupied_ratio == pytest.approx(30 / 120)
    assert utilization.sites[0].occupied_ratio == pytest.approx(100 / 240)

    ranking = await stub.RankHighDemandSites(telemetry_pb2.HighDemandRequest(principal=OPERATOR, range=window))
    assert ranking.sites[0].site_id == "site-1"


async def test_another_tenant_sees_nothing(stub: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetStation(telemetry_pb2.GetStationRequest(principal=PARTNER_B, station_id="CP-A"))
    with pytest.raises(grpc.aio.AioRpcError) as absent:
        await stub.GetStation(telemetry_pb2.GetStationRequest(principal=PARTNER_B, station_id="CP-NOPE"))
    assert missing.value.code() == absent.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing.value.details() == absent.value.details().replace("CP-NOPE", "CP-A")
    ref = common_pb2.ConnectorRef(station_id="CP-A", evse_id=1, connector_id=1)
    with pytest.raises(grpc.aio.AioRpcError) as series:
        await stub.GetMeterSeries(telemetry_pb2.GetMeterSeriesRequest(principal=PARTNER_B, connector=ref))
    assert series.value.code() == grpc.StatusCode.NOT_FOUND
    sessions = await stub.ListSessions(telemetry_pb2.ListSessionsRequest(principal=PARTNER_B, station_id="CP-A"))
    assert list(sessions.sessions) == [] and sessions.page.total_size == 0
    sneaky = await stub.ListSessions(telemetry_pb2.ListSessionsRequest(principal=PARTNER_B, tenant_id="partner-a"))
    assert list(sneaky.sessions) == []
    energy = await stub.GetSiteEnergy(
        telemetry_pb2.SiteEnergyRequest(principal=PARTNER_B, scope=telemetry_pb2.AnalyticsScope(site_id="site-1"))
    )
    assert energy.total_energy_wh == 0 and list(energy.days) == []
    with pytest.raises(grpc.aio.AioRpcError) as nobody:
        await stub.ListSessions(telemetry_pb2.ListSessionsRequest(principal=common_pb2.Principal(subject="x")))
    assert nobody.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_input_gets_a_clear_error(stub: Any) -> None:
    ref = common_pb2.ConnectorRef(station_id="CP-A", evse_id=1, connector_id=1)
    cases = [
        stub.ListSessions(
            telemetry_pb2.ListSessionsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_token="garbage!"))
        ),
        stub.GetMeterSeries(
            telemetry_pb2.GetMeterSeriesRequest(
                principal=OPERATOR, connector=ref, range=span(T0, T0 - timedelta(hours=1))
            )
        ),
        stub.GetMeterSeries(
            telemetry_pb2.GetMeterSeriesRequest(
                principal=OPERATOR, connector=ref, range=span(T0 - timedelta(days=30), T0)
            )
        ),
        stub.GetMeterSeries(
            telemetry_pb2.GetMeterSeriesRequest(
                principal=OPERATOR, connector=ref, step_seconds=1, range=span(T0 - timedelta(days=30), T0)
            )
        ),
        stub.UpsertStation(
            telemetry_pb2.UpsertStationRequest(
                principal=OPERATOR,
                station_id="CP-Z",
                tenant_id="t",
                connectors=[telemetry_pb2.ConnectorSpec(evse_id=1, connector_id=1, max_power_w=float("nan"))],
            )
        ),
        stub.RankHighDemandSites(telemetry_pb2.HighDemandRequest(principal=OPERATOR, min_occupied_ratio=2)),
    ]
    for call in cases:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
        assert error.value.details()


async def test_quality_flags_travel_with_the_data_and_security_ones_are_published(
    redis_client: aioredis.Redis, mongo_url: str
) -> None:
    """Clock skew, impossible power and a gap: each flag is on its reading in the raw series and on
    its bucket in the 15-minute series; the security-relevant two are on the security stream."""
    async with fresh_stores(mongo_url) as stores:
        await register_stations(stores)  # CP-A: 11 kW connectors
        publisher = EventPublisher(redis_client, producer="test-gateway")
        base = T0 - timedelta(days=2)
        minute = timedelta(minutes=1)
        events = [
            gateway_event(publisher, "CP-A", "partner-a", base, meter(1, "", 1000, 7000, base), "q-ok"),
            gateway_event(
                publisher, "CP-A", "partner-a", base + minute, meter(1, "", 1100, 7000, base + minute), "q-skew"
            ),
            gateway_event(
                publisher,
                "CP-A",
                "partner-a",
                base + 2 * minute,
                meter(1, "", 1200, 50_000, base + 2 * minute),
                "q-power",
            ),
            gateway_event(
                publisher,
                "CP-A",
                "partner-a",
                base + 40 * minute,
                meter(1, "", 1300, 7000, base + 40 * minute),
                "q-gap",
            ),
        ]
        events[1].received_time.FromDatetime(base + minute + timedelta(hours=1))  # the station's clock is an hour off
        await publisher.publish_many(events)
        await drain(redis_client, stores.ingest(EventPublisher(redis_client, producer="telemetry")), "pod-q")
        await stores.downsampler.run_once()

        security = [
            events_pb2.EventEnvelope.FromString(f[b"data"])
            for _, f in await redis_client.xrange(stream_name(StreamFamily.SECURITY, 0))
        ]
        assert sorted(
            (e.security.type, e.security.severity, e.security.attributes["source_event_id"]) for e in security
        ) == [
            ("MeterPowerImpossible", S.SEVERITY_MEDIUM, "q-power"),
            ("StationClockSkew", S.SEVERITY_LOW, "q-skew"),
        ]
        assert all(e.security.reported_by == "telemetry" and e.station_id == "CP-A" for e in security)

        server = GrpcServer("127.0.0.1", 0)
        server.add_service(
            telemetry_pb2_grpc.add_TelemetryServicer_to_server,
            TelemetryServicer(stores.registry, stores.meters, stores.sessions),
            "chargewatch.v1.Telemetry",
        )
        await server.start()
        channel = client_channel(f"127.0.0.1:{server.port}")
        stub = telemetry_pb2_grpc.TelemetryStub(channel)
        ref = common_pb2.ConnectorRef(station_id="CP-A", evse_id=1, connector_id=1)
        window = span(base - timedelta(hours=1), base + timedelta(hours=2))
        raw = await stub.GetMeterSeries(
            telemetry_pb2.GetMeterSeriesRequest(principal=OPERATOR, connector=ref, range=window)
        )
        assert [list(p.quality_flags) for p in raw.points] == [[], ["clock_skew"], ["power_exceeds_connector"], ["gap"]]
        rolled = await stub.GetMeterSeries(
            telemetry_pb2.GetMeterSeriesRequest(principal=OPERATOR, connector=ref, range=window, step_seconds=900)
        )
        assert [(p.samples, list(p.quality_flags)) for p in rolled.points] == [
            (3, ["clock_skew", "power_exceeds_connector"]),
            (1, ["gap"]),
        ]
        await channel.close(None)
        await server.stop(0)
