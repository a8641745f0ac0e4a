"""What the simulated fleet did that other services must agree with: sessions, energy, faults, offline periods.

Telemetry and SLA tests compare their figures to this, to the Wh and to the minute, so every
time here is the timestamp the station put in its message, and every energy figure is the
difference of two register readings the station sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def ocpp_time(moment: datetime) -> str:
    """The form every simulated message uses: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    # Millisecond precision, like the messages, so a report time equals the message's time exactly.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class SessionRecord:
    station_id: str
    connector: int
    ocpp_version: str
    id_token: str
    started_at: datetime
    meter_start_wh: int
    transaction_id: str = ""
    meter_last_wh: int = 0
    stopped_at: datetime | None = None
    meter_stop_wh: int | None = None
    stop_reason: str = ""
    remote_start: bool = False

    def __post_init__(self) -> None:
        self.meter_last_wh = max(self.meter_last_wh, self.meter_start_wh)

    @property
    def complete(self) -> bool:
        return self.meter_stop_wh is not None

    @property
    def energy_wh(self) -> int:
        """meterStop - meterStart once stopped; up to the last reading sent while still running."""
        end = self.meter_stop_wh if self.meter_stop_wh is not None else self.meter_last_wh
        return end - self.meter_start_wh

    def to_dict(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "connector": self.connector,
            "ocpp_version": self.ocpp_version,
            "transaction_id": self.transaction_id,
            "id_token": self.id_token,
            "started_at": ocpp_time(self.started_at),
            "stopped_at": ocpp_time(self.stopped_at) if self.stopped_at else None,
            "meter_start_wh": self.meter_start_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "energy_wh": self.energy_wh,
            "stop_reason": self.stop_reason or None,
            "remote_start": self.remote_start,
            "complete": self.complete,
        }


@dataclass
class FaultRecord:
    station_id: str
    connector: int
    error_code: str
    started_at: datetime
    ended_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "connector": self.connector,
            "error_code": self.error_code,
            "started_at": ocpp_time(self.started_at),
            "ended_at": ocpp_time(self.ended_at) if self.ended_at else None,
        }


@dataclass
class OfflineRecord:
    station_id: str
    started_at: datetime
    ended_at: datetime | None = None
    queued_messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "started_at": ocpp_time(self.started_at),
            "ended_at": ocpp_time(self.ended_at) if self.ended_at else None,
            "queued_messages": self.queued_messages,
        }


@dataclass
class Report:
    sessions: list[SessionRecord] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    offline: list[OfflineRecord] = field(default_factory=list)
    #: Free-form facts a scenario states (e.g. the token it cloned, the fault schedule it used).
    scenario: dict[str, Any] = field(default_factory=dict)

    def session_started(self, record: SessionRecord) -> SessionRecord:
        self.sessions.append(record)
        return record

    def fault_started(self, station_id: str, connector: int, error_code: str, at: datetime) -> FaultRecord:
        record = FaultRecord(station_id, connector, error_code, at)
        self.faults.append(record)
        return record

    def went_offline(self, station_id: str, at: datetime) -> OfflineRecord:
        record = OfflineRecord(station_id, at)
        self.offline.append(record)
        return record

    def totals(self) -> dict[str, dict[str, int]]:
        """Per station: sessions (all, complete) and energy in Wh (all sessions, complete sessions)."""
        totals: dict[str, dict[str, int]] = {}
        for session in self.sessions:
            entry = totals.setdefault(
                session.station_id, {"sessions": 0, "complete_sessions": 0, "energy_wh": 0, "complete_energy_wh": 0}
            )
            entry["sessions"] += 1
            entry["energy_wh"] += session.energy_wh
            if session.complete:
                entry["complete_sessions"] += 1
                entry["complete_energy_wh"] += session.energy_wh
        return dict(sorted(totals.items()))

    def to_dict(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "sessions": [s.to_dict() for s in self.sessions],
            "totals": {
                "stations": totals,
                "sessions": sum(t["sessions"] for t in totals.values()),
                "complete_sessions": sum(t["complete_sessions"] for t in totals.values()),
                "energy_wh": sum(t["energy_wh"] for t in totals.values()),
                "complete_energy_wh": sum(t["complete_energy_wh"] for t in totals.values()),
                "faults": len(self.faults),
                "offline_periods": len(self.offline),
            },
            "faults": [f.to_dict() for f in self.faults],
            "offline": [o.to_dict() for o in self.offline],
            "scenario": self.scenario,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
