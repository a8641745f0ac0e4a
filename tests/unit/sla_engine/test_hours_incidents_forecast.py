"""Opening hours across DST, incident folding of flaps, and the budget forecast, by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargewatch.sla_engine import forecast, hours, incidents
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import MINUTE_MS, to_ms
from chargewatch.sla_engine.timeline import Segment
from chargewatch.sla_engine.uptime import PortFigures
from chargewatch.v1 import common_pb2, sla_pb2


def ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def test_local_opening_hours_follow_daylight_saving_time() -> None:
    # 08:00-20:00 Amsterdam every day. 2026-03-29 is the spring-forward Sunday (CET UTC+1 -> CEST UTC+2).
    every_day = [WeeklyWindow(day, 8 * 60, 20 * 60) for day in range(7)]
    spans = hours.open_spans(every_day, "Europe/Amsterdam", (ms(2026, 3, 28), ms(2026, 3, 31)))
    assert spans == [
        (ms(2026, 3, 28, 7), ms(2026, 3, 28, 19)),  # Saturday, UTC+1
        (ms(2026, 3, 29, 6), ms(2026, 3, 29, 18)),  # Sunday, already UTC+2 at 08:00
        (ms(2026, 3, 30, 6), ms(2026, 3, 30, 18)),
    ]


def test_a_window_past_midnight_and_twenty_four_seven() -> None:
    night = [WeeklyWindow(4, 22 * 60, 2 * 60)]  # Friday 22:00 to Saturday 02:00 UTC
    assert hours.open_spans(night, "UTC", (ms(2026, 6, 1), ms(2026, 6, 8))) == [(ms(2026, 6, 5, 22), ms(2026, 6, 6, 2))]
    assert hours.closed_spans([], "UTC", (0, 10)) == []  # no declared hours: open 24/7
    assert hours.always_open([WeeklyWindow(d, 0, 1440) for d in range(7)])
    with pytest.raises(ValueError, match="time zone"):
        hours.zone("Mars/Olympus")
    with pytest.raises(ValueError, match="day"):
        WeeklyWindow(7, 0, 10)


def segment(start_min: int, end_min: int | None, cause: str = "faulted:GroundFailure") -> Segment:
    base = ms(2026, 5, 4)
    return Segment(base + start_min * MINUTE_MS, None if end_min is None else base + end_min * MINUTE_MS, cause)


def test_flaps_within_the_window_fold_into_one_incident() -> None:
    # Down 0-5, up 5-7, down 7-9, up 9-20, down 20-21. Flap window 3 minutes: the first two outages
    # are one incident (2 minutes apart), the third is 11 minutes later: a new one.
    segments = [segment(0, 5), segment(7, 9, "offline"), segment(20, 21)]
    folded = incidents.fold("S|1", segments, 3 * MINUTE_MS, now=ms(2026, 5, 5))
    assert len(folded) == 2
    first, second = folded
    assert first.opened_ms == segments[0].start
    assert first.restored_ms == segments[1].end
    assert first.flaps == 1
    assert first.causes == ["faulted:GroundFailure", "offline"]
    assert first.down_ms == 7 * MINUTE_MS
    assert first.last_down_ms == segments[1].start
    assert first.severity == common_pb2.SEVERITY_HIGH
    assert second.flaps == 0 and second.down_ms == MINUTE_MS
    # Ids depend on the port and the first outage only: the same segments give the same ids.
    again = incidents.fold("S|1", segments, 3 * MINUTE_MS, now=ms(2026, 5, 6))
    assert [i.incident_id for i in again] == [i.incident_id for i in folded]


def test_an_ongoing_incident_and_touching_causes_are_one_episode() -> None:
    folded = incidents.fold(
        "S|1", [segment(0, 5, "unavailable"), segment(5, None, "offline")], 0, now=ms(2026, 5, 4, 1)
    )
    assert len(folded) == 1
    assert folded[0].restored_ms is None
    assert folded[0].flaps == 0
    assert folded[0].down_ms == 60 * MINUTE_MS
    assert folded[0].severity == common_pb2.SEVERITY_HIGH  # offline outranks unavailable (medium)


def test_incident_state_combines_recovery_and_people() -> None:
    assert incidents.state_of({"restored_ms": None, "last_down_ms": 10}) == sla_pb2.INCIDENT_STATE_OPEN
    assert (
        incidents.state_of({"restored_ms": None, "ack_ms": 12, "last_down_ms": 10})
        == sla_pb2.INCIDENT_STATE_ACKNOWLEDGED
    )
    assert incidents.state_of({"restored_ms": 20, "last_down_ms": 10}) == sla_pb2.INCIDENT_STATE_RESOLVED
    resolved_by_person = {"restored_ms": None, "resolved_ms": 15, "last_down_ms": 10}
    assert incidents.state_of(resolved_by_person) == sla_pb2.INCIDENT_STATE_RESOLVED
    assert incidents.resolved_at(resolved_by_person) == 15
    # A flap after a person resolved it reopens it.
    assert incidents.state_of({**resolved_by_person, "last_down_ms": 30}) == sla_pb2.INCIDENT_STATE_OPEN


def test_the_budget_says_how_much_more_a_port_may_be_down() -> None:
    # April: 30 days = 43,200 minutes; 97% allows 1,296 minutes (21 h 36 min). Down 1,136 minutes so
    # far, none excluded: 160 minutes = 2 h 40 min left.
    april_ms = 30 * 1440 * MINUTE_MS
    so_far = PortFigures(window_ms=20 * 1440 * MINUTE_MS, outage_ms=1_136 * MINUTE_MS, excluded_ms=0)
    left = forecast.budget(so_far, april_ms, 97.0)
    assert left.allowed_ms == 1_296 * MINUTE_MS
    assert left.remaining_ms == 160 * MINUTE_MS
    assert (
        forecast.message("CW-A-0001/1", left, "this month")
        == "port CW-A-0001/1 can be down at most 2 h 40 min more this month"
    )
    assert left.at_risk(0.25)  # 160 < 324 minutes (a quarter of the budget)
    assert not left.at_risk(0.1)
    # Still down now, 10 days before the month ends: projected far below target.
    now = ms(2026, 4, 20)
    assert left.projected_uptime_percent(True, now, ms(2026, 5, 1)) == pytest.approx(
        (43_200 - 1_136 - 11 * 1440) / 43_200 * 100
    )
    over = forecast.budget(PortFigures(1, 1_400 * MINUTE_MS, 50 * MINUTE_MS), april_ms, 97.0)
    assert over.remaining_ms == -54 * MINUTE_MS
    assert (
        forecast.message("P", over, "this month")
        == "port P is below its 97% target this month: 54 min over its allowed down time"
    )


def test_durations_read_like_people_write_them() -> None:
    assert forecast.human_duration(0) == "0 min"
    assert forecast.human_duration(59 * MINUTE_MS + 59_999) == "59 min"
    assert forecast.human_duration(120 * MINUTE_MS) == "2 h"
    assert forecast.human_duration((3 * 1440 + 4 * 60) * MINUTE_MS) == "3 d 4 h"
