"""Charging sessions as NEVI's quarterly data needs them (23 CFR 680.112(a)), and ChargeX-style KPIs.

Kept from the transaction and meter streams: start and end, energy (difference of the meter
register at the end and at the start), peak power, the payment method (the kind of id token the
driver presented), the stop reason and the error codes the port reported during the session.
Every update is a min/max/set of one value, so applying an event twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from chargewatch.v1 import events_pb2

# Stop reasons of a session that ended on a failure rather than by the driver's or car's choice
# (OCPP 1.6 Reason and 2.0.1 ReasonEnumType).
FAILURE_REASONS: Final = frozenset(
    {
        "EmergencyStop",
        "PowerLoss",
        "Reboot",
        "HardReset",
        "SoftReset",
        "ImmediateReset",
        "Other",
        "GroundFault",
        "OvercurrentFault",
        "PowerQuality",
        "Timeout",
        "EVNotConnected",
        "SOCLimitReached_NotNormal",
        "UnlockCommand",
        "DeAuthorized",
    }
)

# id token type -> payment method as reported to a state DOT.
PAYMENT_METHODS: Final = {
    "ISO14443": "RFID card",
    "ISO15693": "RFID card",
    "Central": "app or central system",
    "eMAID": "Plug and Charge (ISO 15118 contract)",
    "KeyCode": "key code",
    "Local": "local authorization",
    "MacAddress": "Autocharge (vehicle MAC address)",
    "NoAuthorization": "free (no authorization)",
}


def payment_method(token_type: str) -> str:
    # OCPP 1.6 has no token type: its idTags are in practice RFID cards.
    return PAYMENT_METHODS.get(token_type, token_type or "RFID card")


def token_hash(id_token: str) -> str:
    """Drivers' tokens are personal data: reports group by a digest, never show the token."""
    return hashlib.sha256(id_token.encode()).hexdigest()[:16] if id_token else ""


@dataclass(slots=True)
class SessionRecord:
    station_id: str
    transaction_id: str
    tenant_id: str = ""
    evse_id: int = 0
    connector_id: int = 0
    started_ms: int | None = None
    ended_ms: int | None = None
    meter_start_wh: float | None = None
    meter_end_wh: float | None = None
    register_min_wh: float | None = None
    register_max_wh: float | None = None
    peak_power_w: float = 0.0
    token_hash: str = ""
    token_type: str = ""
    stop_reason: str = ""
    error_codes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.station_id}|{self.transaction_id}"

    @property
    def energy_wh(self) -> float:
        start = self.meter_start_wh if self.meter_start_wh is not None else self.register_min_wh
        end = self.meter_end_wh if self.meter_end_wh is not None else self.register_max_wh
        if start is None or end is None:
            return 0.0
        return max(0.0, end - start)

    @property
    def ended(self) -> bool:
        return self.ended_ms is not None

    def successful(self, min_energy_wh: float) -> bool:
        return (
            self.ended
            and self.energy_wh >= min_energy_wh
            and self.stop_reason not in FAILURE_REASONS
            and not self.error_codes
        )

    def apply_transaction(self, t: int, tx: events_pb2.TransactionEvent) -> None:
        if tx.evse_id:
            self.evse_id = tx.evse_id
            self.connector_id = tx.connector_id or self.connector_id or 1
        if tx.id_token and not self.token_hash:
            self.token_hash = token_hash(tx.id_token)
            self.token_type = tx.id_token_type
        if tx.kind == events_pb2.TransactionEvent.KIND_STARTED:
            self.started_ms = t if self.started_ms is None else min(self.started_ms, t)
            if tx.meter_wh:
                self.meter_start_wh = tx.meter_wh
        elif tx.kind == events_pb2.TransactionEvent.KIND_ENDED:
            self.ended_ms = t if self.ended_ms is None else max(self.ended_ms, t)
            if tx.meter_wh:
                self.meter_end_wh = tx.meter_wh
            if tx.stop_reason:
                self.stop_reason = tx.stop_reason
        elif self.started_ms is None:
            self.started_ms = t  # an update seen before its start: the best start known so far
        if tx.meter_wh:
            self.observe_register(tx.meter_wh)

    def observe_register(self, wh: float) -> None:
        self.register_min_wh = wh if self.register_min_wh is None else min(self.register_min_wh, wh)
        self.register_max_wh = wh if self.register_max_wh is None else max(self.register_max_wh, wh)

    def observe_power(self, watts: float) -> None:
        self.peak_power_w = max(self.peak_power_w, watts)

    def observe_error(self, error_code: str) -> None:
        if error_code and error_code not in self.error_codes:
            self.error_codes.append(error_code)

    def document(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "transaction_id": self.transaction_id,
            "tenant_id": self.tenant_id,
            "evse_id": self.evse_id,
            "connector_id": self.connector_id,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "meter_start_wh": self.meter_start_wh,
            "meter_end_wh": self.meter_end_wh,
            "register_min_wh": self.register_min_wh,
            "register_max_wh": self.register_max_wh,
            "peak_power_w": self.peak_power_w,
            "token_hash": self.token_hash,
            "token_type": self.token_type,
            "stop_reason": self.stop_reason,
            "error_codes": list(self.error_codes),
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SessionRecord:
        def optional_int(name: str) -> int | None:
            value = document.get(name)
            return None if value is None else int(value)

        def optional_float(name: str) -> float | None:
            value = document.get(name)
            return None if value is None else float(value)

        return cls(
            station_id=str(document.get("station_id", "")),
            transaction_id=str(document.get("transaction_id", "")),
            tenant_id=str(document.get("tenant_id", "")),
            evse_id=int(document.get("evse_id") or 0),
            connector_id=int(document.get("connector_id") or 0),
            started_ms=optional_int("started_ms"),
            ended_ms=optional_int("ended_ms"),
            meter_start_wh=optional_float("meter_start_wh"),
            meter_end_wh=optional_float("meter_end_wh"),
            register_min_wh=optional_float("register_min_wh"),
            register_max_wh=optional_float("register_max_wh"),
            peak_power_w=float(document.get("peak_power_w") or 0.0),
            token_hash=str(document.get("token_hash", "")),
            token_type=str(document.get("token_type", "")),
            stop_reason=str(document.get("stop_reason", "")),
            error_codes=[str(c) for c in document.get("error_codes") or []],
        )


@dataclass(frozen=True, slots=True)
class SessionKpis:
    sessions: int
    successful: int
    visits: int
    first_attempt_successes: int
    energy_wh: float

    @property
    def success_rate(self) -> float:
        return self.successful / self.sessions if self.sessions else 0.0

    @property
    def first_attempt_success_rate(self) -> float:
        return self.first_attempt_successes / self.visits if self.visits else 0.0


def kpis(records: Iterable[SessionRecord], min_energy_wh: float, retry_window_ms: int) -> SessionKpis:
    """Session success rate and first-attempt success (ChargeX consortium style).

    Only ended sessions count. A *visit* is a driver's run of attempts at one station: a session
    by the same token at the same station that starts within `retry_window_ms` of the previous
    one's end is a retry of the same visit. A visit succeeds at the first attempt when its first
    session was successful. Sessions without a token are visits of their own.
    """
    ended = sorted(
        (r for r in records if r.ended and r.started_ms is not None),
        key=lambda r: (r.station_id, r.token_hash, r.started_ms or 0),
    )
    successful = 0
    visits = 0
    first_ok = 0
    energy = 0.0
    previous: SessionRecord | None = None
    for record in ended:
        ok = record.successful(min_energy_wh)
        successful += ok
        energy += record.energy_wh
        retry = (
            previous is not None
            and record.token_hash
            and previous.token_hash == record.token_hash
            and previous.station_id == record.station_id
            and (record.started_ms or 0) - (previous.ended_ms or 0) <= retry_window_ms
        )
        if not retry:
            visits += 1
            first_ok += ok
        previous = record
    return SessionKpis(len(ended), successful, visits, first_ok, energy)


def unsuccessful_codes(record: SessionRecord, min_energy_wh: float) -> list[str]:
    """The error codes a report shows for an unsuccessful session (what went wrong, as far as we know)."""
    if record.successful(min_energy_wh) or not record.ended:
        return []
    codes = list(record.error_codes)
    if record.stop_reason in FAILURE_REASONS:
        codes.append(record.stop_reason)
    if record.energy_wh < min_energy_wh and not codes:
        codes.append("NoEnergyDelivered")
    return codes


def sort_key(record: SessionRecord) -> tuple[str, int, str]:
    return (record.station_id, record.started_ms or 0, record.transaction_id)


def records_sorted(records: Sequence[SessionRecord]) -> list[SessionRecord]:
    return sorted(records, key=sort_key)
