"""Token cloning: impossible travel between two uses, and charging at two stations at once."""

from __future__ import annotations

from chargewatch.v1 import events_pb2
from tests.unit.security_monitor.support import T0, engine, ev, rules, run

STARTED = events_pb2.TransactionEvent.KIND_STARTED
ENDED = events_pb2.TransactionEvent.KIND_ENDED
TOKEN = "04A1B2C3D4E5F6"


def test_amsterdam_then_berlin_ten_minutes_later_is_a_clone() -> None:
    target = engine()
    found = run(
        target,
        [
            ev.authorization("AMS-1", T0, TOKEN, tenant_id="partner-a"),
            ev.authorization(
                "BER-1",
                T0 + 600,
                TOKEN,
                status=events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION,
                reason="other_tenant",
            ),
        ],
    )
    assert rules(found) == ["token-clone"]
    clone = found[0]
    assert (clone.subject_kind, clone.subject_id) == ("token", TOKEN)
    assert clone.tenant_id == "partner-a"  # the tenant whose station accepted the card owns it
    assert set(clone.station_ids) == {"AMS-1", "BER-1"}
    assert 560 < float(clone.attributes["distance_km"]) < 590
    assert len(clone.evidence) == 2 and "km apart" in clone.explanation


def test_enough_time_to_drive_is_not_a_clone() -> None:
    target = engine()
    found = run(target, [ev.authorization("AMS-1", T0, TOKEN), ev.authorization("BER-1", T0 + 4 * 3600, TOKEN)])
    assert found == []


def test_nearby_stations_are_never_impossible_travel() -> None:
    target = engine()
    found = run(target, [ev.authorization("AMS-1", T0, TOKEN), ev.authorization("AMS-2", T0 + 5, TOKEN)])
    assert found == []


def test_unknown_tokens_are_not_clones() -> None:
    target = engine()
    invalid = events_pb2.AUTHORIZATION_STATUS_INVALID
    found = run(
        target,
        [
            ev.authorization("AMS-1", T0, TOKEN, status=invalid, reason="unknown_token"),
            ev.authorization("BER-1", T0 + 60, TOKEN, status=invalid, reason="unknown_token"),
        ],
    )
    assert found == []


def test_stations_without_a_location_are_skipped() -> None:
    target = engine()
    assert run(target, [ev.authorization("AMS-1", T0, TOKEN), ev.authorization("NOWHERE", T0 + 1, TOKEN)]) == []


def test_charging_at_two_stations_at_once() -> None:
    # Utrecht and Amsterdam are 35 km apart: two hours between the starts is plausible travel,
    # but the first session never ended.
    target = engine()
    found = run(
        target,
        [
            ev.transaction("UTR-1", T0, STARTED, "tx-1", token=TOKEN),
            ev.transaction("AMS-1", T0 + 7200, STARTED, "tx-2", token=TOKEN),
        ],
    )
    assert rules(found) == ["token-clone"]
    assert found[0].attributes["concurrent"] == "true"
    assert "at the same time" in found[0].explanation


def test_sessions_one_after_the_other_are_fine() -> None:
    target = engine()
    found = run(
        target,
        [
            ev.transaction("UTR-1", T0, STARTED, "tx-1", token=TOKEN),
            ev.transaction("UTR-1", T0 + 3600, ENDED, "tx-1", token=TOKEN),
            ev.transaction("AMS-1", T0 + 7200, STARTED, "tx-2", token=TOKEN),
        ],
    )
    assert found == []


def test_a_late_event_uses_the_station_time() -> None:
    # A session queued offline in Berlin, flushed hours later, is judged by when it happened.
    target = engine()
    late = ev.envelope(
        "BER-1",
        events_pb2.AuthorizationDecision(
            id_token=TOKEN, status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED, reason="token_active"
        ),
        T0 + 5 * 3600,
        station_offset=-5 * 3600 + 300,
        late=True,
    )
    found = run(target, [ev.authorization("AMS-1", T0, TOKEN), late])
    assert rules(found) == ["token-clone"]
