"""The per-station availability state machine, on inputs whose answers are worked out by hand.

Times are written as minutes after 2026-03-01 00:00 UTC; every expected segment is (start, end,
cause) in those minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.timeline import Segment, StationTimeline, judge_power
from chargewatch.v1 import common_pb2

BASE = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000
AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
CHARGING = common_pb2.CONNECTOR_STATUS_CHARGING
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
UNAVAILABLE = common_pb2.CONNECTOR_STATUS_UNAVAILABLE
RESERVED = common_pb2.CONNECTOR_STATUS_RESERVED
SUSPENDED_EV = common_pb2.CONNECTOR_STATUS_SUSPENDED_EV


def at(minute: float) -> int:
    return BASE + round(minute * MIN)


def minutes(segments: list[Segment]) -> list[tuple[float, float | None, str]]:
    return [((s.start - BASE) / MIN, None if s.end is None else (s.end - BASE) / MIN, s.cause) for s in segments]


def station(interval_min: float = 5, grace_min: float = 2) -> StationTimeline:
    return StationTimeline("S1", interval_ms=int(interval_min * MIN), grace_ms=int(grace_min * MIN))


def test_a_fault_and_its_recovery_make_one_segment_with_the_error_code() -> None:
    timeline = station()
    timeline.status(at(0), "e1", 1, 1, AVAILABLE, "NoError")
    timeline.status(at(10), "e2", 1, 1, FAULTED, "GroundFailure")
    assert timeline.ports[1].state is Availability.FAULTED
    timeline.status(at(25), "e3", 1, 1, AVAILABLE, "NoError")
    assert minutes(timeline.ports[1].segments()) == [(10, 25, "faulted:GroundFailure")]
    assert timeline.ports[1].state is Availability.AVAILABLE
    assert timeline.ports[1].since == at(25)


def test_an_ongoing_outage_has_no_end() -> None:
    timeline = station()
    timeline.status(at(0), "e1", 1, 1, UNAVAILABLE, "NoError")
    assert minutes(timeline.ports[1].segments()) == [(0, None, "unavailable")]


def test_events_reordered_and_duplicated_give_the_same_segments() -> None:
    events = [
        (at(0), "a", AVAILABLE, ""),
        (at(10), "b", FAULTED, "HighTemperature"),
        (at(12), "c", CHARGING, ""),  # recovered into use
        (at(30), "d", UNAVAILABLE, ""),
        (at(31), "e", AVAILABLE, ""),
    ]
    expected = [(10, 12, "faulted:HighTemperature"), (30, 31, "unavailable")]
    in_order = station()
    for t, eid, status, code in events:
        in_order.status(t, eid, 1, 1, status, code)
    assert minutes(in_order.ports[1].segments()) == expected

    shuffled = station()
    for t, eid, status, code in [events[3], events[1], events[4], events[0], events[2], events[1], events[3]]:
        shuffled.status(t, eid, 1, 1, status, code)
    assert minutes(shuffled.ports[1].segments()) == expected
    assert shuffled.ports[1].state is Availability.AVAILABLE


def test_reserved_and_occupied_are_up_but_told_apart() -> None:
    timeline = station()
    timeline.status(at(0), "a", 1, 1, RESERVED, "")
    assert timeline.ports[1].state is Availability.RESERVED
    timeline.status(at(1), "b", 1, 1, SUSPENDED_EV, "")
    assert timeline.ports[1].state is Availability.OCCUPIED
    assert timeline.ports[1].segments() == []


def test_a_disconnected_station_takes_every_port_down_until_it_connects() -> None:
    timeline = station()
    timeline.connection(at(0), "c1", connected=True)
    timeline.status(at(0.5), "s1", 1, 1, AVAILABLE, "")
    timeline.status(at(0.5), "s2", 2, 1, CHARGING, "")
    timeline.connection(at(30), "c2", connected=False)
    assert timeline.ports[1].state is Availability.OFFLINE
    timeline.connection(at(45), "c3", connected=True)
    for evse in (1, 2):
        assert minutes(timeline.ports[evse].segments()) == [(30, 45, "offline")]
    assert timeline.ports[2].state is Availability.OCCUPIED  # the last status holds after reconnecting


def test_a_port_unavailable_while_its_station_is_connected_is_down_alone() -> None:
    timeline = station()
    timeline.connection(at(0), "c1", connected=True)
    timeline.status(at(1), "s1", 1, 1, AVAILABLE, "")
    timeline.status(at(1), "s2", 2, 1, AVAILABLE, "")
    timeline.status(at(5), "s3", 2, 1, UNAVAILABLE, "")
    timeline.status(at(65), "s4", 2, 1, AVAILABLE, "")
    assert timeline.ports[1].segments() == []
    assert minutes(timeline.ports[2].segments()) == [(5, 65, "unavailable")]


def test_a_station_level_fault_takes_every_port_down_with_its_code() -> None:
    timeline = station()
    timeline.status(at(0), "s1", 1, 1, AVAILABLE, "")
    timeline.status(at(0), "s2", 2, 1, AVAILABLE, "")
    timeline.station_status(at(20), "s0", FAULTED, "PowerMeterFailure")
    timeline.station_status(at(50), "s0b", AVAILABLE, "NoError")
    for evse in (1, 2):
        assert minutes(timeline.ports[evse].segments()) == [(20, 50, "station_faulted:PowerMeterFailure")]


def test_missed_heartbeats_beyond_the_grace_are_offline_from_the_missed_one() -> None:
    # Heartbeat every 5 minutes, grace 2: silence longer than 7 minutes is an outage, from the
    # moment the missed heartbeat was due (last message + 5) until the next message.
    timeline = station(interval_min=5, grace_min=2)
    timeline.status(at(0), "s1", 1, 1, AVAILABLE, "")
    for minute in (0, 5, 10):
        timeline.heard_at(at(minute))
    timeline.heard_at(at(16.9))  # 6.9 minutes of silence: within the grace
    assert timeline.ports[1].segments() == []
    timeline.heard_at(at(30))  # 13.1 minutes of silence
    assert minutes(timeline.ports[1].segments()) == [(21.9, 30, "heartbeat_missed")]


def test_silence_is_detected_live_and_closed_when_the_station_speaks() -> None:
    timeline = station(interval_min=5, grace_min=2)
    timeline.status(at(0), "s1", 1, 1, AVAILABLE, "")
    timeline.heard_at(at(10))
    assert timeline.check_silence(at(16)) == []  # 6 minutes: not yet
    assert timeline.check_silence(at(17.5))
    assert timeline.ports[1].state is Availability.OFFLINE
    assert minutes(timeline.ports[1].segments()) == [(15, None, "heartbeat_missed")]
    timeline.heard_at(at(40))
    assert minutes(timeline.ports[1].segments()) == [(15, 40, "heartbeat_missed")]
    assert timeline.ports[1].state is Availability.AVAILABLE


def test_a_message_received_late_splits_a_silence() -> None:
    timeline = station(interval_min=5, grace_min=2)
    timeline.status(at(0), "s1", 1, 1, AVAILABLE, "")
    timeline.heard_at(at(0))
    timeline.heard_at(at(30))  # silence 0..30: offline 5..30
    timeline.heard_at(at(14))  # but a message was received at 14 (delivered late)
    # 0..14 is 14 > 7: offline 5..14; 14..30 is 16 > 7: offline 19..30.
    assert minutes(timeline.ports[1].segments()) == [(5, 14, "heartbeat_missed"), (19, 30, "heartbeat_missed")]


def test_a_reboot_is_offline_from_the_disconnection_to_the_new_connection() -> None:
    timeline = station()
    timeline.connection(at(0), "c1", connected=True)
    timeline.status(at(0.2), "s1", 1, 1, CHARGING, "")
    timeline.connection(at(100), "c2", connected=False)
    timeline.connection(at(103), "boot", connected=True)  # BootNotification after power-up
    timeline.status(at(103.5), "s2", 1, 1, AVAILABLE, "")
    assert minutes(timeline.ports[1].segments()) == [(100, 103, "offline")]


def test_offline_takes_precedence_over_a_fault_and_causes_change_inside_one_outage() -> None:
    timeline = station()
    timeline.status(at(0), "s1", 1, 1, FAULTED, "InternalError")
    timeline.connection(at(10), "c1", connected=False)
    timeline.connection(at(20), "c2", connected=True)
    timeline.status(at(25), "s2", 1, 1, AVAILABLE, "")
    assert minutes(timeline.ports[1].segments()) == [
        (0, 10, "faulted:InternalError"),
        (10, 20, "offline"),
        (20, 25, "faulted:InternalError"),
    ]


def test_a_port_with_two_connectors_is_up_while_either_is() -> None:
    timeline = station()
    timeline.status(at(0), "a", 1, 1, FAULTED, "ConnectorLockFailure")
    timeline.status(at(0), "b", 1, 2, AVAILABLE, "")
    assert timeline.ports[1].state is Availability.AVAILABLE
    timeline.status(at(10), "c", 1, 2, UNAVAILABLE, "")
    timeline.status(at(20), "d", 1, 1, AVAILABLE, "")
    # Down only while neither connector could charge; the fault is named before unavailability.
    assert minutes(timeline.ports[1].segments()) == [(10, 20, "faulted:ConnectorLockFailure")]


def test_charging_below_the_minimum_power_counts_as_down() -> None:
    timeline = station()
    timeline.status(at(0), "s1", 1, 1, CHARGING, "")
    timeline.power(at(1), "m1", 1, below=False)
    timeline.power(at(2), "m2", 1, below=True)
    timeline.power(at(3), "m3", 1, below=True)
    assert timeline.ports[1].state is Availability.DEGRADED
    timeline.power(at(4), "m4", 1, below=False)
    timeline.power(at(6), "m5", 1, below=True)
    timeline.status(at(7), "s2", 1, 1, AVAILABLE, "")  # session over: no longer judged
    assert minutes(timeline.ports[1].segments()) == [(2, 4, "below_min_power"), (6, 7, "below_min_power")]


def test_power_is_judged_on_the_offered_power_else_on_delivery_below_the_taper() -> None:
    assert judge_power(50_000, None, 40, min_power_w=150_000, soc_limit=80) is True
    assert judge_power(50_000, None, 85, min_power_w=150_000, soc_limit=80) is None  # tapering
    assert judge_power(50_000, 150_000, 40, min_power_w=150_000, soc_limit=80) is False  # car-limited
    assert judge_power(50_000, 120_000, 40, min_power_w=150_000, soc_limit=80) is True
    assert judge_power(50_000, None, None, min_power_w=0, soc_limit=80) is None  # no minimum set


def test_freezing_keeps_the_answer_and_clamps_what_comes_too_late() -> None:
    timeline = station()
    timeline.status(at(0), "a", 1, 1, AVAILABLE, "")
    timeline.status(at(10), "b", 1, 1, FAULTED, "")
    timeline.status(at(20), "c", 1, 1, AVAILABLE, "")
    timeline.status(at(40), "d", 1, 1, UNAVAILABLE, "")
    timeline.freeze(at(30))
    assert timeline.tail_length() == 1
    assert minutes(timeline.ports[1].segments()) == [(10, 20, "faulted"), (40, None, "unavailable")]
    # Out of order but after the boundary: exact.
    timeline.status(at(35), "e", 1, 1, FAULTED, "GroundFailure")
    assert minutes(timeline.ports[1].segments()) == [
        (10, 20, "faulted"),
        (35, 40, "faulted:GroundFailure"),
        (40, None, "unavailable"),
    ]
    # Before the boundary: takes effect at the boundary, and only once.
    timeline.status(at(25), "f", 1, 1, UNAVAILABLE, "")
    timeline.status(at(25), "f", 1, 1, UNAVAILABLE, "")
    assert timeline.clamped == 1
    assert minutes(timeline.ports[1].segments()) == [
        (10, 20, "faulted"),
        (30, 35, "unavailable"),
        (35, 40, "faulted:GroundFailure"),
        (40, None, "unavailable"),
    ]


def test_an_outage_across_the_boundary_is_split_and_joined_again() -> None:
    timeline = station()
    timeline.status(at(0), "a", 1, 1, FAULTED, "")
    timeline.freeze(at(5))
    timeline.status(at(8), "b", 1, 1, AVAILABLE, "")
    assert minutes(timeline.ports[1].segments()) == [(0, 8, "faulted")]
    assert minutes(timeline.ports[1].frozen) == [(0, 5, "faulted")]
