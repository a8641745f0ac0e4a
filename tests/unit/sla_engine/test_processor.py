"""The partition processor's in-memory side: events -> timelines, incidents, alerts, sessions, writes.

No network: `apply` and `build_flush` are synchronous; the store is never touched here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from chargewatch.sla_engine import codec
from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.processor import (
    PartitionProcessor,
    ProcessorSettings,
    event_time,
    pack_envelopes,
    unpack_envelopes,
)
from chargewatch.sla_engine.profiles import ProfileCache, SiteProfile
from chargewatch.v1 import common_pb2, events_pb2

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MIN = 60_000
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
CHARGING = common_pb2.CONNECTOR_STATUS_CHARGING
CLOCK = [T0.timestamp() + 3600]


def envelope(
    event_id: str, minute: float, payload: Message, *, station: str = "S1", late: bool = False, skew_min: float = 0
) -> events_pb2.EventEnvelope:
    field = {
        "StationConnection": "connection",
        "StationHeartbeat": "heartbeat",
        "StationBoot": "boot",
        "ConnectorStatusChange": "status",
        "MeterValues": "meter_values",
        "TransactionEvent": "transaction",
    }[payload.DESCRIPTOR.name]
    out = events_pb2.EventEnvelope(event_id=event_id, station_id=station, tenant_id="tenant-a", late=late)
    getattr(out, field).CopyFrom(payload)
    at = T0 + timedelta(minutes=minute)
    out.station_time.FromDatetime(at - timedelta(minutes=skew_min))
    out.received_time.FromDatetime(at + timedelta(milliseconds=200))
    return out


def status(evse: int, value: int, code: str = "NoError") -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=value, error_code=code)  # type: ignore[arg-type]


def processor(**settings: int) -> PartitionProcessor:
    # A day-long heartbeat interval unless a test says otherwise: silences are tested on their own.
    settings.setdefault("heartbeat_interval_ms", 86_400_000)
    return PartitionProcessor(
        0,
        1,
        None,  # type: ignore[arg-type]  # never used by apply/build_flush
        None,
        ProfileCache(),
        ProcessorSettings(**settings),
        clock=lambda: CLOCK[0],
    )


def ms(minute: float) -> int:
    return int((T0 + timedelta(minutes=minute)).timestamp() * 1000)


def test_a_fault_raises_an_alert_and_its_recovery_resolves_it_with_stable_ids() -> None:
    p = processor()
    batch = [
        envelope("c1", 0, events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)),
        envelope("s1", 0.1, status(1, AVAILABLE)),
        envelope("s2", 5, status(1, FAULTED, "GroundFailure")),
    ]
    alerts = p.apply(batch, live=True)
    assert [a.alert.state for a in alerts] == [events_pb2.ALERT_STATE_OPEN]
    opened = alerts[0]
    assert opened.alert.source_service == "sla-engine"
    assert opened.alert.subject_id == "S1/1"
    assert opened.alert.severity == common_pb2.SEVERITY_HIGH
    assert opened.alert.evidence_event_ids == ["s2"]
    assert opened.event_id == f"{opened.alert.alert_id}:open:0"
    assert opened.station_time.ToMilliseconds() == ms(5)
    assert p.apply(batch, live=True) == []  # redelivered: nothing new
    recovered = p.apply([envelope("s3", 9, status(1, AVAILABLE))], live=True)
    assert [(a.alert.alert_id, a.alert.state) for a in recovered] == [
        (opened.alert.alert_id, events_pb2.ALERT_STATE_RESOLVED)
    ]
    assert p.stations["S1"].timeline.ports[1].segments()[0][:2] == (ms(5), ms(9))


def test_a_flap_reopens_the_incident_instead_of_opening_another() -> None:
    p = processor(flap_window_ms=5 * MIN)
    p.apply([envelope("s1", 0, status(1, AVAILABLE))], live=True)
    first = p.apply([envelope("s2", 1, status(1, FAULTED))], live=True)
    p.apply([envelope("s3", 2, status(1, AVAILABLE))], live=True)
    again = p.apply([envelope("s4", 4, status(1, FAULTED))], live=True)  # 2 minutes later: a flap
    assert [a.alert.alert_id for a in again] == [first[0].alert.alert_id]
    assert again[0].event_id.endswith(":open:1")
    later = p.apply([envelope("s5", 5, status(1, AVAILABLE)), envelope("s6", 20, status(1, FAULTED))], live=True)
    assert later[-1].alert.alert_id != first[0].alert.alert_id  # 15 minutes later: a new incident
    facts = sorted(p.stations["S1"].incidents[1].values(), key=lambda f: f.opened_ms)
    assert [(f.flaps, f.down_ms) for f in facts] == [(1, 2 * MIN), (0, CLOCK[0] * 1000 - ms(20))]


def test_a_replaced_socket_is_not_an_outage_but_a_lost_one_is() -> None:
    p = processor()
    connected = events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)
    replaced = events_pb2.StationConnection(
        kind=events_pb2.StationConnection.KIND_DISCONNECTED, reason="replaced by a new connection"
    )
    lost = events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_DISCONNECTED, reason="connection lost")
    p.apply(
        [
            envelope("c1", 0, connected),
            envelope("s1", 0.1, status(1, AVAILABLE)),
            envelope("c2", 3, connected),
            envelope("d1", 3.001, replaced),  # the old socket's close, reported after the new connection
        ],
        live=False,
    )
    assert p.stations["S1"].timeline.ports[1].segments() == []
    p.apply([envelope("d2", 10, lost), envelope("c3", 12, connected)], live=False)
    assert [tuple(s) for s in p.stations["S1"].timeline.ports[1].segments()] == [(ms(10), ms(12), "offline")]


def test_event_time_trusts_the_station_clock_only_within_reason() -> None:
    ok = envelope("a", 10, status(1, AVAILABLE), skew_min=1)
    assert event_time(ok, 300_000) == ms(9)
    skewed = envelope("b", 10, status(1, AVAILABLE), skew_min=60)  # clock an hour behind
    assert event_time(skewed, 300_000) == ms(10) + 200
    queued = envelope("c", 10, status(1, AVAILABLE), skew_min=60, late=True)  # sent late from an offline queue
    assert event_time(queued, 300_000) == ms(-50)
    ahead = envelope("d", 10, status(1, AVAILABLE), skew_min=-2)  # clock ahead: cannot report the future
    assert event_time(ahead, 300_000) == ms(10) + 200


def test_charging_below_the_sites_minimum_power_and_session_data() -> None:
    profiles = ProfileCache()
    profiles.put(SiteProfile("site-1", min_power_w=150_000.0))
    p = PartitionProcessor(
        0,
        1,
        None,
        None,
        profiles,
        ProcessorSettings(heartbeat_interval_ms=86_400_000),
        site_of=lambda _: "site-1",  # type: ignore[arg-type]
    )
    p.stations.clear()
    started = events_pb2.TransactionEvent(
        kind=events_pb2.TransactionEvent.KIND_STARTED,
        transaction_id="tx1",
        evse_id=1,
        connector_id=1,
        id_token="04A1B2C3",
        id_token_type="ISO14443",
        meter_wh=10_000,
    )
    p.apply([envelope("s1", 0, status(1, CHARGING)), envelope("t1", 0, started)], live=True)
    p.refresh_sites()

    def meter(event_id: str, minute: float, watts: float, soc: float) -> events_pb2.EventEnvelope:
        at = T0 + timedelta(minutes=minute)
        samples = [
            events_pb2.SampledValue(measurand="Power.Active.Import", value=watts, unit=common_pb2.UNIT_W),
            events_pb2.SampledValue(measurand="SoC", value=soc, unit=common_pb2.UNIT_PERCENT),
            events_pb2.SampledValue(
                measurand="Energy.Active.Import.Register", value=10_000 + minute * 1000, unit=common_pb2.UNIT_WH
            ),
        ]
        for sample in samples:
            sample.timestamp.FromDatetime(at)
        values = events_pb2.MeterValues(evse_id=1, connector_id=1, transaction_id="tx1", samples=samples)
        return envelope(event_id, minute, values)

    p.apply([meter("m1", 1, 160_000, 30), meter("m2", 2, 60_000, 40)], live=True)
    assert p.stations["S1"].timeline.ports[1].state is Availability.DEGRADED
    p.apply([meter("m3", 3, 70_000, 85)], live=True)  # tapering near full: not judged
    assert p.stations["S1"].timeline.ports[1].state is Availability.DEGRADED
    p.apply([meter("m4", 4, 155_000, 50)], live=True)
    assert p.stations["S1"].timeline.ports[1].state is Availability.OCCUPIED
    assert [tuple(s) for s in p.stations["S1"].timeline.ports[1].segments()] == [(ms(2), ms(4), "below_min_power")]
    p.apply([envelope("s2", 5, status(1, FAULTED, "OverCurrentFailure"))], live=True)
    ended = events_pb2.TransactionEvent(
        kind=events_pb2.TransactionEvent.KIND_ENDED, transaction_id="tx1", meter_wh=14_000, stop_reason="Other"
    )
    p.apply([envelope("t2", 6, ended)], live=True)
    delta = p.sessions["S1|tx1"]
    assert delta.fields["meter_start_wh"] == 10_000
    assert delta.fields["meter_end_wh"] == 14_000
    assert delta.fields["stop_reason"] == "Other"
    assert delta.fields["token_type"] == "ISO14443"
    assert "04A1B2C3" not in str(delta.fields)  # the token itself is never stored
    assert delta.maxs["peak_power_w"] == 160_000
    assert delta.mins["started_ms"] == ms(0)
    assert delta.maxs["ended_ms"] == ms(6)
    assert delta.errors == {"OverCurrentFailure"}
    assert p.stations["S1"].open_sessions == {}


def test_a_flush_packs_segments_per_year_and_round_trips_the_snapshot() -> None:
    p = processor(heartbeat_interval_ms=400 * 86_400_000)  # seven months without a message, on purpose
    CLOCK[0] = datetime(2027, 1, 1, 2, tzinfo=UTC).timestamp()
    try:
        new_year = datetime(2026, 12, 31, 23, tzinfo=UTC)
        minutes_before = (new_year - T0).total_seconds() / 60
        p.apply(
            [
                envelope("s1", 0, status(1, AVAILABLE)),
                envelope("s2", minutes_before, status(1, FAULTED, "PowerMeterFailure")),
                envelope("s3", minutes_before + 120, status(1, AVAILABLE)),  # 01:00 on 1 January
            ],
            live=False,
        )
        batch, covered, flushed = p.build_flush()
        assert flushed == ["S1"] and covered == ""
        buckets = {op._filter["_id"]: op._doc["$set"] for op in batch.outages}
        assert set(buckets) == {"S1|1|2026", "S1|1|2027"}
        late_2026 = codec.unpack_segments(buckets["S1|1|2026"]["segs"], buckets["S1|1|2026"]["causes"])
        early_2027 = codec.unpack_segments(buckets["S1|1|2027"]["segs"], buckets["S1|1|2027"]["causes"])
        assert [tuple(s) for s in late_2026] == [
            (ms(minutes_before), ms(minutes_before + 60), "faulted:PowerMeterFailure")
        ]
        assert [tuple(s) for s in early_2027] == [
            (ms(minutes_before + 60), ms(minutes_before + 120), "faulted:PowerMeterFailure")
        ]
        port_doc = batch.ports[0]._doc["$set"]
        assert (port_doc["state"], port_doc["tenant_id"], port_doc["first_seen_ms"]) == (1, "tenant-a", ms(0))
        assert p.build_flush()[0].stations == []  # nothing changed since
        snapshot = batch.stations[0]._doc["$set"]["blob"]
        loaded, extra = codec.load_timeline("S1", snapshot, grace_ms=120_000)
        assert loaded.ports[1].segments() == p.stations["S1"].timeline.ports[1].segments()
        assert extra["tenant_id"] == "tenant-a"
    finally:
        CLOCK[0] = T0.timestamp() + 3600


def test_journal_blobs_round_trip() -> None:
    batch = [envelope("a", 0, status(1, AVAILABLE)), envelope("b", 1, status(2, FAULTED, "X"))]
    assert unpack_envelopes(pack_envelopes(batch)) == batch
