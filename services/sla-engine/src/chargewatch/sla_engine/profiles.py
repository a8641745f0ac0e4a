"""Site profiles: what the SLA engine itself knows about a site (owned here, set by operators).

Declared hours of operation (and their time zone), the ports' required minimum power and the
site's uptime target live with the SLA engine because they are SLA facts: the telemetry registry
says which site a station belongs to; a site's profile says how its uptime is judged. A site
without a profile is open 24/7, has no minimum-power check and the service's default target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chargewatch.sla_engine.hours import WeeklyWindow, zone

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


@dataclass(frozen=True, slots=True)
class SiteProfile:
    site_id: str
    tenant_id: str = ""
    name: str = ""
    timezone: str = "UTC"
    hours: tuple[WeeklyWindow, ...] = ()
    min_power_w: float = 0.0
    port_min_power_w: Mapping[str, float] = field(default_factory=dict)  # "STATION|EVSE" -> W
    uptime_target_percent: float = 0.0
    updated_ms: int = 0
    updated_by: str = ""

    def min_power_for(self, port_key: str) -> float:
        return self.port_min_power_w.get(port_key, self.min_power_w)

    def target(self, default: float) -> float:
        return self.uptime_target_percent or default

    def validate(self) -> None:
        if not ID_PATTERN.match(self.site_id):
            raise ValueError("site_id must be 1-128 of [A-Za-z0-9._:@-]")
        zone(self.timezone)
        if not (math.isfinite(self.min_power_w) and self.min_power_w >= 0):
            raise ValueError("min_power_w must be a finite number >= 0")
        for key, watts in self.port_min_power_w.items():
            if not (math.isfinite(watts) and watts >= 0):
                raise ValueError(f"min power of {key} must be a finite number >= 0")
        if not 0 <= self.uptime_target_percent <= 100:
            raise ValueError("uptime_target_percent must be within 0..100")
        if len(self.hours) > 64:
            raise ValueError("at most 64 weekly windows")

    def document(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "timezone": self.timezone,
            "hours": windows_document(self.hours),
            "min_power_w": self.min_power_w,
            "port_min_power": [{"port": k, "w": v} for k, v in sorted(self.port_min_power_w.items())],
            "uptime_target_percent": self.uptime_target_percent,
            "updated_ms": self.updated_ms,
            "updated_by": self.updated_by,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SiteProfile:
        return cls(
            site_id=str(document["_id"]),
            tenant_id=str(document.get("tenant_id", "")),
            name=str(document.get("name", "")),
            timezone=str(document.get("timezone") or "UTC"),
            hours=windows_from(document.get("hours") or []),
            min_power_w=float(document.get("min_power_w") or 0.0),
            port_min_power_w={str(p["port"]): float(p["w"]) for p in document.get("port_min_power") or []},
            uptime_target_percent=float(document.get("uptime_target_percent") or 0.0),
            updated_ms=int(document.get("updated_ms") or 0),
            updated_by=str(document.get("updated_by", "")),
        )


def windows_document(windows: Iterable[WeeklyWindow]) -> list[dict[str, int]]:
    return [{"day": w.day, "start": w.start_minute, "end": w.end_minute} for w in windows]


def windows_from(raw: Iterable[Mapping[str, Any]]) -> tuple[WeeklyWindow, ...]:
    return tuple(WeeklyWindow(int(w["day"]), int(w["start"]), int(w["end"])) for w in raw)


class ProfileCache:
    """The profiles by site, replaced wholesale when reloaded (profiles are few and change rarely)."""

    def __init__(self) -> None:
        self._by_site: dict[str, SiteProfile] = {}

    def replace(self, profiles: Iterable[SiteProfile]) -> None:
        self._by_site = {p.site_id: p for p in profiles}

    def put(self, profile: SiteProfile) -> None:
        self._by_site[profile.site_id] = profile

    def get(self, site_id: str) -> SiteProfile | None:
        return self._by_site.get(site_id) if site_id else None

    def min_power(self, site_id: str, port_key: str) -> float:
        profile = self.get(site_id)
        return profile.min_power_for(port_key) if profile is not None else 0.0
