"""How much more a port may be down this period before it falls below its target: plain functions.

The budget of a period is the counted down time the target allows over the whole period:
(1 - target / 100) x the period's counted minutes (from the port's first status to the period's
end). What is left is that budget minus the counted outage so far (T_outage - T_excluded). The
forecast does not assume future outages will be excluded, so it warns early rather than late.
"""

from __future__ import annotations

from dataclasses import dataclass

from chargewatch.sla_engine.intervals import MINUTE_MS
from chargewatch.sla_engine.uptime import PortFigures


@dataclass(frozen=True, slots=True)
class Budget:
    period_ms: int
    allowed_ms: int
    used_ms: int
    target_percent: float

    @property
    def remaining_ms(self) -> int:
        return self.allowed_ms - self.used_ms

    @property
    def exhausted(self) -> bool:
        return self.remaining_ms < 0

    def at_risk(self, warn_fraction: float) -> bool:
        """True when less than `warn_fraction` of the allowed down time is left (or none at all)."""
        return self.remaining_ms <= self.allowed_ms * warn_fraction

    def projected_uptime_percent(self, down_now: bool, now: int, period_end: int) -> float:
        """The period's uptime if the port stays as it is now until the period ends."""
        if self.period_ms <= 0:
            return 100.0
        extra = max(0, period_end - now) if down_now else 0
        return 100.0 * (self.period_ms - self.used_ms - extra) / self.period_ms


def budget(so_far: PortFigures, period_ms: int, target_percent: float) -> Budget:
    allowed = int(period_ms * (100.0 - target_percent) / 100.0)
    return Budget(period_ms, allowed, so_far.counted_outage_ms, target_percent)


def human_duration(ms: int) -> str:
    """`2 h 40 min`, `15 min`, `3 d 4 h`: minutes rounded down."""
    minutes = max(0, ms) // MINUTE_MS
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def message(port: str, remaining: Budget, period_label: str) -> str:
    if remaining.exhausted:
        return (
            f"port {port} is below its {remaining.target_percent:g}% target {period_label}: "
            f"{human_duration(-remaining.remaining_ms)} over its allowed down time"
        )
    return f"port {port} can be down at most {human_duration(remaining.remaining_ms)} more {period_label}"
