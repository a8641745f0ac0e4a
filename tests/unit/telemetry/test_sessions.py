"""Sessions folded from transaction events: any order, any repetition, the same session."""

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from chargewatch.telemetry.sessions import (
    ENDED,
    OPEN,
    decode_cursor,
    encode_cursor,
    successful,
    summarize,
)
from chargewatch.v1 import events_pb2

K = events_pb2.TransactionEvent
T0 = int(datetime(2026, 11, 2, 8, 0, tzinfo=UTC).timestamp() * 1000)


def event(event_id: str, minute: int, kind: int, meter: float, **extra: Any) -> dict[str, Any]:
    return {
        "_id": event_id,
        "station_id": "CP-1",
        "tenant_id": "partner-a",
        "transaction_id": "tx-1",
        "kind": kind,
        "evse_id": extra.pop("evse_id", 0),
        "connector_id": extra.pop("connector_id", 0),
        "id_token": extra.pop("id_token", ""),
        "meter_wh": meter,
        "stop_reason": extra.pop("stop_reason", ""),
        "seq_no": extra.pop("seq_no", 0),
        "charging_state": extra.pop("charging_state", ""),
        "t_ms": T0 + minute * 60_000,
    }


EVENTS = [
    event("a", 0, K.KIND_STARTED, 10_000.0, evse_id=2, connector_id=1, id_token="RFID-1", seq_no=0),
    event("b", 30, K.KIND_UPDATED, 15_000.0, seq_no=1),
    event("c", 60, K.KIND_UPDATED, 21_234.0, seq_no=2),
    event("d", 75, K.KIND_UPDATED, 21_234.0, seq_no=3),
    event("e", 90, K.KIND_ENDED, 21_234.0, stop_reason="EVDisconnected", seq_no=4),
]


def test_a_session_from_its_events_in_every_order_is_the_same() -> None:
    expected = summarize(EVENTS)
    assert expected["energy_wh"] == 11_234.0
    assert expected["state"] == ENDED
    assert (expected["evse_id"], expected["connector_id"], expected["id_token"]) == (2, 1, "RFID-1")
    assert expected["duration_seconds"] == 90 * 60
    # The register last rose at minute 60: 30 minutes idle before the stop.
    assert expected["charging_ended_ms"] == T0 + 60 * 60_000
    assert expected["idle_seconds"] == 30 * 60
    assert expected["stop_reason"] == "EVDisconnected"
    for order in itertools.permutations(EVENTS):
        assert summarize(list(order) + list(order[:2])) == expected


def test_an_open_session_counts_up_to_the_highest_register() -> None:
    summary = summarize(EVENTS[:3])
    assert summary["state"] == OPEN and summary["energy_wh"] == 11_234.0 and "stopped_ms" not in summary


def test_charging_states_decide_when_charging_ended() -> None:
    events = [
        event("a", 0, K.KIND_STARTED, 0.0, charging_state="Charging"),
        event("b", 40, K.KIND_UPDATED, 5000.0, charging_state="SuspendedEV"),
        event("c", 50, K.KIND_UPDATED, 5000.0, charging_state="Charging"),
        event("d", 70, K.KIND_UPDATED, 6000.0, charging_state="SuspendedEV"),
        event("e", 100, K.KIND_ENDED, 6000.0, stop_reason="Local"),
    ]
    summary = summarize(events)
    assert summary["energy_wh"] == 6000.0
    assert summary["idle_seconds"] == 30 * 60


def test_success_needs_an_end_enough_energy_and_no_fault() -> None:
    good = summarize(EVENTS)
    assert successful(good, 100.0)
    assert not successful(good, 20_000.0)
    assert not successful({**good, "stop_reason": "EmergencyStop"}, 100.0)
    assert not successful(summarize(EVENTS[:2]), 100.0)


def test_cursor_round_trip_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor(123, "CP-1|tx")) == (123, "CP-1|tx")
    for garbage in ("", "!!!", encode_cursor(1, "x")[:-3] + "AAAA", "WzEsMiwzXQ"):
        with pytest.raises(ValueError, match="malformed page token"):
            decode_cursor(garbage)
