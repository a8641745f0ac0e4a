"""Fault and offline schedules: which station (and connector) misbehaves, when, and for how long.

Written form, so a test or an operator can state it and the simulator can print what it derived:
- faults:  `STATION:CONNECTOR@START+DURATION[=ErrorCode]`, comma separated, e.g.
  `CW-A-0001:1@10s+30s=GroundFailure,CW-B-0002:2@1m+90s`
- offline: `STATION@START+DURATION`, e.g. `CW-A-0001@20s+40s`
Times are seconds from the start of the run: `12`, `12s`, `1.5m`, `2h`, `250ms`.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# 1.6 ChargePointErrorCode values a real station reports for a hardware fault.
FAULT_CODES: Final = (
    "GroundFailure",
    "HighTemperature",
    "OverCurrentFailure",
    "PowerMeterFailure",
    "ConnectorLockFailure",
    "EVCommunicationError",
    "InternalError",
)
DEFAULT_FAULT_CODE: Final = "InternalError"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_FAULT = re.compile(
    r"^(?P<station>[^:@+=,\s]+):(?P<connector>\d+)@(?P<start>[^+]+)\+(?P<duration>[^=]+)(?:=(?P<code>\w+))?$"
)
_OFFLINE = re.compile(r"^(?P<station>[^:@+=,\s]+)@(?P<start>[^+]+)\+(?P<duration>.+)$")


@dataclass(frozen=True, order=True)
class Window:
    """One stated misbehaviour: from `start` for `duration` seconds after the run began."""

    start: float
    duration: float
    station_id: str
    connector: int = 0  # 0: the whole station (offline windows)
    error_code: str = ""

    @property
    def end(self) -> float:
        return self.start + self.duration


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (e.g. 10, 10s, 1.5m, 2h, 250ms)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    return f"{seconds:g}s"


def parse_fault_schedule(text: str) -> list[Window]:
    windows = []
    for entry in _entries(text):
        match = _FAULT.match(entry)
        if match is None:
            raise ValueError(f"fault {entry!r}: expected STATION:CONNECTOR@START+DURATION[=ErrorCode]")
        code = match.group("code") or DEFAULT_FAULT_CODE
        if code not in FAULT_CODES:
            raise ValueError(f"fault {entry!r}: error code must be one of {', '.join(FAULT_CODES)}")
        connector = int(match.group("connector"))
        if connector < 1:
            raise ValueError(f"fault {entry!r}: connectors are numbered from 1")
        windows.append(_window(entry, match, connector, code))
    _check_overlaps(windows)
    return sorted(windows)


def parse_offline_schedule(text: str) -> list[Window]:
    windows = []
    for entry in _entries(text):
        match = _OFFLINE.match(entry)
        if match is None:
            raise ValueError(f"offline {entry!r}: expected STATION@START+DURATION")
        windows.append(_window(entry, match, 0, ""))
    _check_overlaps(windows)
    return sorted(windows)


def format_schedule(windows: Sequence[Window]) -> str:
    """The written form of a schedule; parsing it gives the same windows back."""
    parts = []
    for window in sorted(windows):
        where = f"{window.station_id}:{window.connector}" if window.connector else window.station_id
        code = f"={window.error_code}" if window.error_code else ""
        parts.append(f"{where}@{format_duration(window.start)}+{format_duration(window.duration)}{code}")
    return ",".join(parts)


def derive_fault_schedule(
    stations: Sequence[tuple[str, int]], seed: int | None, duration: float, *, share: float = 0.2
) -> list[Window]:
    """One fault on about `share` of the stations (at least one), inside the run: the same for the same seed.

    `stations` are (station id, connector count). A fault starts in the first half of the run and
    lasts a tenth to a quarter of it, so every fault also recovers before the run ends.
    """
    rng = random.Random(f"chargewatch-faults-{seed}")
    count = max(1, round(len(stations) * share)) if stations else 0
    chosen = rng.sample(list(stations), count)
    span = duration if duration > 0 else 600.0
    windows = [
        Window(
            start=round(rng.uniform(0.1, 0.5) * span, 1),
            duration=round(rng.uniform(0.1, 0.25) * span, 1),
            station_id=station_id,
            connector=rng.randint(1, connectors),
            error_code=rng.choice(FAULT_CODES),
        )
        for station_id, connectors in chosen
    ]
    return sorted(windows)


def derive_offline_schedule(
    station_ids: Sequence[str], seed: int | None, duration: float, *, share: float = 0.2
) -> list[Window]:
    """One offline period on about `share` of the stations (at least one), ending before the run does."""
    rng = random.Random(f"chargewatch-offline-{seed}")
    count = max(1, round(len(station_ids) * share)) if station_ids else 0
    span = duration if duration > 0 else 600.0
    windows = [
        Window(start=round(rng.uniform(0.15, 0.4) * span, 1), duration=round(rng.uniform(0.15, 0.3) * span, 1),
               station_id=station_id)
        for station_id in rng.sample(list(station_ids), count)
    ]  # fmt: skip
    return sorted(windows)


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.split(",") if entry.strip()]


def _window(entry: str, match: re.Match[str], connector: int, code: str) -> Window:
    try:
        start = parse_duration(match.group("start"))
        duration = parse_duration(match.group("duration"))
    except ValueError as error:
        raise ValueError(f"{entry!r}: {error}") from None
    if duration <= 0:
        raise ValueError(f"{entry!r}: the duration must be positive")
    return Window(start, duration, match.group("station"), connector, code)


def _check_overlaps(windows: Sequence[Window]) -> None:
    by_target: dict[tuple[str, int], list[Window]] = {}
    for window in windows:
        by_target.setdefault((window.station_id, window.connector), []).append(window)
    for (station_id, connector), group in by_target.items():
        group.sort()
        for earlier, later in itertools.pairwise(group):
            if later.start < earlier.end:
                where = f"{station_id}:{connector}" if connector else station_id
                raise ValueError(f"{where}: windows at {earlier.start:g}s and {later.start:g}s overlap")
