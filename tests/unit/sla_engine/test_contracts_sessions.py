"""Contract evaluation with itemized breaches, and session KPIs, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargewatch.sla_engine import contracts, sessions
from chargewatch.sla_engine.contracts import Contract, CreditTerms, PortInput, ResponseTarget
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import MINUTE_MS, to_ms
from chargewatch.sla_engine.sessions import SessionRecord
from chargewatch.sla_engine.uptime import PeriodKind, PortFigures, period_window
from chargewatch.v1 import common_pb2

HIGH = common_pb2.SEVERITY_HIGH


def ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def contract(**overrides: object) -> Contract:
    fields: dict[str, object] = {
        "contract_id": "c1",
        "name": "Maintenance by FixCo",
        "tenant_id": "fixco",
        "site_ids": ("site-1",),
        "uptime_target_percent": 99.0,
        "response_targets": (ResponseTarget(HIGH, acknowledge_minutes=15, restore_minutes=240),),
        "business_hours": tuple(WeeklyWindow(day, 9 * 60, 17 * 60) for day in range(5)),  # Mon-Fri 09-17 UTC
        "credit": CreditTerms(
            monthly_fee=1000.0,
            uptime_credit_percent_per_point=10.0,
            uptime_credit_cap_percent=50.0,
            acknowledge_breach_amount=50.0,
            restore_breach_amount=100.0,
        ),
    }
    fields.update(overrides)
    return Contract(**fields)  # type: ignore[arg-type]


def test_every_breach_is_itemized_with_its_credit() -> None:
    june = period_window(PeriodKind.MONTH, datetime(2026, 6, 1, tzinfo=UTC))
    month_ms = june[1] - june[0]
    # Port A: 97.5% (1.5 points under 99%): 15% of its half of the fee (1000 x 30/30.44 months / 2).
    a = PortFigures(window_ms=month_ms, outage_ms=int(month_ms * 0.025), excluded_ms=0)
    b = PortFigures(window_ms=month_ms, outage_ms=0, excluded_ms=0)
    # Opened Friday 2026-06-05 16:50, restored Monday 08:00 (63 h 10 min around the clock, > 240
    # minutes), acknowledged Monday 09:10. The recovery stops the acknowledgement clock at Monday
    # 08:00, before business hours: only Friday's 10 business minutes count, within 15.
    incident = {
        "_id": "inc-1",
        "opened_ms": ms(2026, 6, 5, 16, 50),
        "ack_ms": ms(2026, 6, 8, 9, 10),
        "restored_ms": ms(2026, 6, 8, 8, 0),
        "last_down_ms": ms(2026, 6, 5, 16, 50),
        "severity": HIGH,
    }
    result = contracts.evaluate(
        contract(),
        june,
        [PortInput("S1/1", "site-1", a), PortInput("S1/2", "site-1", b)],
        [incident],
        now=ms(2026, 7, 2),
    )
    share = 1000.0 * contracts.months_in(june) / 2
    by_kind = {b.kind: b for b in result.breaches}
    assert set(by_kind) == {"uptime", "restore"}
    assert by_kind["uptime"].subject == "S1/1"
    assert by_kind["uptime"].measured == pytest.approx(97.5)
    assert by_kind["uptime"].amount == pytest.approx(round(share * 0.15, 2))
    assert by_kind["restore"].measured == 63 * 60 + 10
    assert by_kind["restore"].amount == 100.0
    assert result.total_credit == pytest.approx(round(share * 0.15, 2) + 100.0)
    assert result.incidents_evaluated == 1
    assert [s.meets_target for s in result.subjects] == [False, True]


def test_acknowledgement_is_measured_in_business_hours_only() -> None:
    june = period_window(PeriodKind.MONTH, datetime(2026, 6, 1, tzinfo=UTC))
    incident = {
        "_id": "inc-2",
        "opened_ms": ms(2026, 6, 5, 16, 50),  # Friday
        "ack_ms": ms(2026, 6, 8, 9, 10),  # Monday
        "last_down_ms": ms(2026, 6, 5, 16, 50),
        "severity": HIGH,
    }
    result = contracts.evaluate(contract(), june, [], [incident], now=ms(2026, 6, 8, 10))
    acknowledge = next(b for b in result.breaches if b.kind == "acknowledge")
    assert acknowledge.measured == 20  # Friday 16:50-17:00 and Monday 09:00-09:10
    assert acknowledge.amount == 50.0
    restore = next(b for b in result.breaches if b.kind == "restore")
    assert restore.detail == "not restored yet"
    assert restore.measured == (ms(2026, 6, 8, 10) - ms(2026, 6, 5, 16, 50)) / MINUTE_MS


def test_site_level_pooling_and_the_credit_cap() -> None:
    june = period_window(PeriodKind.MONTH, datetime(2026, 6, 1, tzinfo=UTC))
    month_ms = june[1] - june[0]
    down = PortFigures(window_ms=month_ms, outage_ms=month_ms // 2, excluded_ms=0)  # 50%
    up = PortFigures(window_ms=month_ms, outage_ms=0, excluded_ms=0)
    terms = CreditTerms(
        monthly_fee=1000.0,
        uptime_credit_percent_per_point=10.0,
        uptime_credit_cap_percent=50.0,
        max_credit_amount=100.0,
    )
    result = contracts.evaluate(
        contract(uptime_level=contracts.SITE_LEVEL, credit=terms, response_targets=()),
        june,
        [PortInput("S1/1", "site-1", down), PortInput("S1/2", "site-1", up)],
        [],
        now=ms(2026, 7, 1),
    )
    assert [s.subject for s in result.subjects] == ["site-1"]
    assert result.subjects[0].figures.uptime_percent == pytest.approx(75.0)
    # 24 points x 10% = 240%, capped at 50% of the month's fee; the total capped at 100.
    assert result.breaches[0].amount == pytest.approx(round(1000.0 * contracts.months_in(june) * 0.5, 2))
    assert result.total_credit == 100.0
    assert result.capped


def test_a_contract_covers_its_sites_and_stations_within_its_dates() -> None:
    c = contract(station_ids=("S9",), effective_from_ms=ms(2026, 6, 10))
    assert c.covers("S1", "site-1") and c.covers("S9", "") and not c.covers("S2", "site-2")
    assert c.effective_window((ms(2026, 6, 1), ms(2026, 7, 1))) == (ms(2026, 6, 10), ms(2026, 7, 1))


def record(
    station: str, token: str, start_min: int, end_min: int, energy_wh: float, reason: str = "EVDisconnected"
) -> SessionRecord:
    base = ms(2026, 6, 1, 8)
    return SessionRecord(
        station_id=station,
        transaction_id=f"{station}-{start_min}",
        started_ms=base + start_min * MINUTE_MS,
        ended_ms=base + end_min * MINUTE_MS,
        meter_start_wh=1000.0,
        meter_end_wh=1000.0 + energy_wh,
        token_hash=sessions.token_hash(token),
        stop_reason=reason,
    )


def test_successful_sessions_and_first_attempt_success() -> None:
    records = [
        # Driver A at S1: fails (no energy), retries 5 minutes later and succeeds: one visit, first attempt failed.
        record("S1", "A", 0, 1, 0.0),
        record("S1", "A", 6, 60, 20_000.0),
        # Driver B at S1: succeeds at once.
        record("S1", "B", 10, 40, 15_000.0),
        # Driver A again at S1, two hours later: a new visit, ends on a fault (EmergencyStop).
        record("S1", "A", 180, 200, 5_000.0, reason="EmergencyStop"),
        # Driver C at S2: succeeds.
        record("S2", "C", 0, 30, 8_000.0),
    ]
    open_session = SessionRecord("S2", "open", started_ms=ms(2026, 6, 1, 9))
    stats = sessions.kpis([*records, open_session], min_energy_wh=100.0, retry_window_ms=15 * MINUTE_MS)
    assert stats.sessions == 5
    assert stats.successful == 3
    assert stats.success_rate == pytest.approx(0.6)
    assert stats.visits == 4
    assert stats.first_attempt_successes == 2  # B and C; A's first visit failed first, its second ended on a fault
    assert stats.first_attempt_success_rate == pytest.approx(0.5)
    assert stats.energy_wh == pytest.approx(48_000.0)
    assert sessions.unsuccessful_codes(records[0], 100.0) == ["NoEnergyDelivered"]
    assert sessions.unsuccessful_codes(records[3], 100.0) == ["EmergencyStop"]
    assert sessions.unsuccessful_codes(records[1], 100.0) == []


def test_payment_methods_from_token_types() -> None:
    assert sessions.payment_method("ISO14443") == "RFID card"
    assert sessions.payment_method("eMAID") == "Plug and Charge (ISO 15118 contract)"
    assert sessions.payment_method("") == "RFID card"  # OCPP 1.6 idTag
    assert sessions.payment_method("CreditCard") == "CreditCard"
