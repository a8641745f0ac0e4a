"""Behaviour profiles: what the monitor knows about each station, token and principal.

Station and principal profiles are checkpointed to MongoDB (`profiles` collection) and reloaded by
the next leader; the short sliding windows of the rules (failures in the last minute, and the like) are
not: an attack that goes on after a restart is seen again within one window. Token profiles hold only
the recent uses of a token (`clone_history_seconds`) and are kept in memory.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from chargewatch.security_monitor.anomaly import (
    SESSION_FEATURES,
    WINDOW_FEATURES,
    FeatureModel,
)
from chargewatch.security_monitor.model import EvidenceItem

MAX_ADDRESSES: Final = 16
MAX_CERTIFICATES: Final = 8
MAX_FIRMWARE_HISTORY: Final = 8
MAX_OFFSETS: Final = 16


def network_of(address: str) -> str:
    """The network an address belongs to for "new address" purposes: IPv4 /24, IPv6 /48, else as given."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _pairs(value: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in value or []}


@dataclass(slots=True)
class StationProfile:
    station_id: str
    tenant_id: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    security_profile: int = 0
    # network -> last time seen; bounded, oldest dropped.
    networks: dict[str, float] = field(default_factory=dict)
    addresses: dict[str, float] = field(default_factory=dict)
    certificates: dict[str, float] = field(default_factory=dict)
    connections: int = 0
    firmware_version: str = ""
    firmware_history: list[str] = field(default_factory=list)
    last_firmware_command: float = 0.0
    last_configuration_command: float = 0.0
    # Clock: the station's usual offset against ChargeWatch's clock, and when it was last seen.
    offsets: list[float] = field(default_factory=list)
    # Connection state for storms: time of the last disconnection (0 when connected).
    disconnected_at: float = 0.0
    connected: bool = False
    # Behaviour model.
    window: FeatureModel | None = None
    sessions: FeatureModel | None = None
    window_start: float = 0.0
    accumulator: list[float] = field(default_factory=lambda: [0.0] * len(WINDOW_FEATURES))
    # (evse, connector) -> (station time, Wh) of its newest energy register reading.
    last_register: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    # Recent messages (event id, type, time): the evidence of a behaviour anomaly.
    recent: deque[tuple[str, str, float]] = field(default_factory=lambda: deque(maxlen=5))
    anomaly_score: float = 0.0
    # Message rate per tumbling window (not persisted).
    rate_slot: int = 0
    rate_count: int = 0
    rate_alerted_at: float = 0.0
    # Open sessions: transaction id -> (start time, start register Wh).
    open_sessions: dict[str, tuple[float, float]] = field(default_factory=dict)
    dirty: bool = True

    def remember(self, table: dict[str, float], key: str, at: float, limit: int) -> None:
        table[key] = at
        if len(table) > limit:
            del table[min(table, key=table.__getitem__)]

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.station_id,
            "kind": "station",
            "tenant_id": self.tenant_id,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "security_profile": self.security_profile,
            # Lists of [key, time]: addresses hold dots, which MongoDB field names must not.
            "networks": [[k, v] for k, v in self.networks.items()],
            "addresses": [[k, v] for k, v in self.addresses.items()],
            "certificates": [[k, v] for k, v in self.certificates.items()],
            "connections": self.connections,
            "firmware_version": self.firmware_version,
            "firmware_history": self.firmware_history,
            "last_firmware_command": self.last_firmware_command,
            "last_configuration_command": self.last_configuration_command,
            "offsets": self.offsets,
            "window_model": self.window.state() if self.window else None,
            "session_model": self.sessions.state() if self.sessions else None,
            "anomaly_score": self.anomaly_score,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any], alpha: float) -> StationProfile:
        profile = cls(
            station_id=str(doc["_id"]),
            tenant_id=str(doc.get("tenant_id") or ""),
            first_seen=float(doc.get("first_seen") or 0.0),
            last_seen=float(doc.get("last_seen") or 0.0),
            security_profile=int(doc.get("security_profile") or 0),
            networks=_pairs(doc.get("networks")),
            addresses=_pairs(doc.get("addresses")),
            certificates=_pairs(doc.get("certificates")),
            connections=int(doc.get("connections") or 0),
            firmware_version=str(doc.get("firmware_version") or ""),
            firmware_history=list(doc.get("firmware_history") or []),
            last_firmware_command=float(doc.get("last_firmware_command") or 0.0),
            last_configuration_command=float(doc.get("last_configuration_command") or 0.0),
            offsets=[float(x) for x in doc.get("offsets") or []],
            anomaly_score=float(doc.get("anomaly_score") or 0.0),
        )
        if doc.get("window_model"):
            profile.window = FeatureModel.from_state(WINDOW_FEATURES, alpha, doc["window_model"])
        if doc.get("session_model"):
            profile.sessions = FeatureModel.from_state(SESSION_FEATURES, alpha, doc["session_model"])
        profile.dirty = False
        return profile


@dataclass(slots=True)
class TokenUse:
    station_id: str
    at: float
    accepted: bool
    tenant_id: str
    evidence: EvidenceItem


@dataclass(slots=True)
class TokenProfile:
    uses: deque[TokenUse] = field(default_factory=lambda: deque(maxlen=32))
    # transaction id -> station id, for "two at once".
    open_sessions: dict[str, tuple[str, float, EvidenceItem]] = field(default_factory=dict)
    owner_tenant: str = ""
    last_seen: float = 0.0


@dataclass(slots=True)
class PrincipalProfile:
    principal: str
    first_seen: float = 0.0
    last_seen: float = 0.0
    # Command kinds this principal issued, with counts.
    kinds: dict[str, int] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    commands: int = 0
    dirty: bool = True

    def document(self) -> dict[str, Any]:
        return {
            "_id": f"principal:{self.principal}",
            "kind": "principal",
            "principal": self.principal,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "kinds": self.kinds,
            "roles": self.roles,
            "commands": self.commands,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> PrincipalProfile:
        return cls(
            principal=str(doc["principal"]),
            first_seen=float(doc.get("first_seen") or 0.0),
            last_seen=float(doc.get("last_seen") or 0.0),
            kinds={str(k): int(v) for k, v in (doc.get("kinds") or {}).items()},
            roles=[str(r) for r in doc.get("roles") or []],
            commands=int(doc.get("commands") or 0),
            dirty=False,
        )
