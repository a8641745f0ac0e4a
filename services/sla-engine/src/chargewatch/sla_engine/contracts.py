"""SLA contracts between the operator and its service providers or site hosts, and their evaluation.

A contract covers some sites and stations. Per period it is judged on:
- uptime: every port (or every site, pooled) against the contract's target, with the NEVI
  exclusions plus the contract's own maintenance windows;
- response: each incident opened in the period against the time to acknowledge and the time to
  restore its severity allows. Time to acknowledge runs in business hours only (when the contract
  declares them); time to restore runs around the clock unless `restore_in_business_hours`.
  Acknowledging stops the first clock; the port recovering or a person resolving stops both.

Every miss is one itemized breach with its credit: an uptime breach credits
`uptime_credit_percent_per_point` percent of the subject's share of the fee for each percentage
point below target (capped at `uptime_credit_cap_percent`); a response breach costs a fixed amount.
The total is capped at `max_credit_amount` when that is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chargewatch.sla_engine import hours, incidents
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import DAY_MS, MINUTE_MS, Span, intersect, total
from chargewatch.sla_engine.uptime import PortFigures

PORT_LEVEL = "port"
SITE_LEVEL = "site"
AVERAGE_MONTH_MS = int(30.436875 * DAY_MS)  # 365.2425 days / 12


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    severity: int
    acknowledge_minutes: int = 0  # 0: no target
    restore_minutes: int = 0


@dataclass(frozen=True, slots=True)
class CreditTerms:
    monthly_fee: float = 0.0
    currency: str = "USD"
    uptime_credit_percent_per_point: float = 0.0
    uptime_credit_cap_percent: float = 100.0
    acknowledge_breach_amount: float = 0.0
    restore_breach_amount: float = 0.0
    max_credit_amount: float = 0.0  # 0: no cap


@dataclass(frozen=True, slots=True)
class Contract:
    contract_id: str
    name: str
    tenant_id: str
    counterparty: str = ""
    kind: str = "service_provider"  # or "site_host"
    site_ids: tuple[str, ...] = ()
    station_ids: tuple[str, ...] = ()
    uptime_target_percent: float = 97.0
    uptime_level: str = PORT_LEVEL
    response_targets: tuple[ResponseTarget, ...] = ()
    maintenance_windows: tuple[WeeklyWindow, ...] = ()
    business_hours: tuple[WeeklyWindow, ...] = ()
    timezone: str = "UTC"
    restore_in_business_hours: bool = False
    credit: CreditTerms = field(default_factory=CreditTerms)
    effective_from_ms: int = 0
    effective_to_ms: int = 0  # 0: open-ended

    def covers(self, station_id: str, site_id: str) -> bool:
        return station_id in self.station_ids or (bool(site_id) and site_id in self.site_ids)

    def target_for(self, severity: int) -> ResponseTarget | None:
        return next((t for t in self.response_targets if t.severity == severity), None)

    def effective_window(self, window: Span) -> Span:
        start = max(window[0], self.effective_from_ms)
        end = min(window[1], self.effective_to_ms) if self.effective_to_ms else window[1]
        return (start, max(start, end))


@dataclass(frozen=True, slots=True)
class Breach:
    kind: str  # "uptime", "acknowledge" or "restore"
    subject: str  # port "STATION/EVSE", site id, or incident id
    measured: float
    limit: float
    unit: str  # "percent" or "minutes"
    amount: float
    severity: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SubjectResult:
    subject: str
    level: str
    figures: PortFigures
    meets_target: bool


@dataclass
class Evaluation:
    contract: Contract
    window: Span
    subjects: list[SubjectResult]
    breaches: list[Breach]
    total_credit: float
    capped: bool
    incidents_evaluated: int


@dataclass(frozen=True, slots=True)
class PortInput:
    port: str  # "STATION/EVSE"
    site_id: str
    figures: PortFigures


def business_ms(span: Span, windows: Sequence[WeeklyWindow], timezone: str) -> int:
    """Milliseconds of `span` inside the business hours (all of it when none are declared)."""
    if span[0] >= span[1]:
        return 0
    if not windows:
        return span[1] - span[0]
    return total(intersect([span], hours.open_spans(windows, timezone, span)))


def months_in(window: Span) -> float:
    return (window[1] - window[0]) / AVERAGE_MONTH_MS


def evaluate(
    contract: Contract,
    window: Span,
    ports: Sequence[PortInput],
    incident_documents: Sequence[dict[str, Any]],
    now: int,
) -> Evaluation:
    """Judge a contract over `window`; `ports` were measured with the contract's maintenance excluded."""
    window = contract.effective_window(window)
    breaches: list[Breach] = []
    subjects: list[SubjectResult] = []
    if contract.uptime_level == SITE_LEVEL:
        pooled: dict[str, PortFigures] = {}
        for port in ports:
            pooled[port.site_id or "-"] = pooled.get(port.site_id or "-", PortFigures()) + port.figures
        measured = sorted(pooled.items())
    else:
        measured = sorted((p.port, p.figures) for p in ports)
    fee = contract.credit.monthly_fee * months_in(window)
    share = fee / len(measured) if measured else 0.0
    for subject, figures in measured:
        meets = figures.window_ms == 0 or figures.uptime_percent >= contract.uptime_target_percent
        subjects.append(SubjectResult(subject, contract.uptime_level, figures, meets))
        if meets:
            continue
        points = contract.uptime_target_percent - figures.uptime_percent
        percent = min(
            contract.credit.uptime_credit_cap_percent, points * contract.credit.uptime_credit_percent_per_point
        )
        breaches.append(
            Breach(
                "uptime",
                subject,
                measured=round(figures.uptime_percent, 4),
                limit=contract.uptime_target_percent,
                unit="percent",
                amount=round(share * percent / 100.0, 2),
                detail=(
                    f"{figures.counted_outage_ms / MINUTE_MS:.1f} counted outage minutes "
                    f"({figures.outage_ms / MINUTE_MS:.1f} down, {figures.excluded_ms / MINUTE_MS:.1f} excluded)"
                ),
            )
        )
    evaluated = 0
    end = min(window[1], now)
    for document in sorted(incident_documents, key=lambda d: (d["opened_ms"], d["_id"])):
        opened = int(document["opened_ms"])
        if not window[0] <= opened < window[1]:
            continue
        target = contract.target_for(int(document.get("severity", 0)))
        if target is None:
            continue
        evaluated += 1
        resolved = incidents.resolved_at(document)
        acked = document.get("ack_ms")
        ack_stop = min(t for t in (acked, resolved, end) if t is not None)
        restore_stop = resolved if resolved is not None else end
        if target.acknowledge_minutes:
            taken = business_ms((opened, max(opened, ack_stop)), contract.business_hours, contract.timezone)
            if taken > target.acknowledge_minutes * MINUTE_MS:
                breaches.append(
                    Breach(
                        "acknowledge",
                        str(document["_id"]),
                        measured=round(taken / MINUTE_MS, 1),
                        limit=target.acknowledge_minutes,
                        unit="minutes",
                        amount=contract.credit.acknowledge_breach_amount,
                        severity=target.severity,
                        detail="not acknowledged yet" if acked is None and resolved is None else "",
                    )
                )
        if target.restore_minutes:
            restore_hours = contract.business_hours if contract.restore_in_business_hours else ()
            taken = business_ms((opened, max(opened, restore_stop)), restore_hours, contract.timezone)
            if taken > target.restore_minutes * MINUTE_MS:
                breaches.append(
                    Breach(
                        "restore",
                        str(document["_id"]),
                        measured=round(taken / MINUTE_MS, 1),
                        limit=target.restore_minutes,
                        unit="minutes",
                        amount=contract.credit.restore_breach_amount,
                        severity=target.severity,
                        detail="not restored yet" if resolved is None else "",
                    )
                )
    credit = round(sum(b.amount for b in breaches), 2)
    capped = bool(contract.credit.max_credit_amount) and credit > contract.credit.max_credit_amount
    if capped:
        credit = contract.credit.max_credit_amount
    return Evaluation(contract, window, subjects, breaches, credit, capped, evaluated)
