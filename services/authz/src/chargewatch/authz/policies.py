"""Access policies per site or station group: allowed token groups, time windows, session limits, blocklist.

The rules are plain functions of a policy, a token and a moment, so they are tested without I/O.
Policies live in MongoDB (`access_policies`); every replica keeps all of them in memory and
reloads them every `policy_refresh_seconds` (and at once after its own changes), so Authorize
never waits for a database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from chargewatch.mongo import Document, IndexSpec

COLLECTION = "access_policies"
INDEXES = [IndexSpec(COLLECTION, [("tenant_id", 1)], name="by_tenant")]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SCOPE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_NAME_MAX = 120
_LIST_MAX = 1000


class InvalidPolicy(ValueError):
    pass


class PolicyNotFound(Exception):
    pass


class PolicyConflict(Exception):
    """The policy changed since the version the caller read."""


@dataclass(frozen=True)
class TimeWindow:
    days_of_week: frozenset[int]  # ISO weekdays, 1 = Monday
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        day, clock = local.isoweekday(), local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return day in self.days_of_week and self.start <= clock < self.end
        # Past midnight: the evening part belongs to the listed day, the morning part to the day after.
        previous_day = 7 if day == 1 else day - 1
        return (day in self.days_of_week and clock >= self.start) or (
            previous_day in self.days_of_week and clock < self.end
        )


@dataclass(frozen=True)
class AccessPolicy:
    policy_id: str
    tenant_id: str
    name: str = ""
    site_ids: frozenset[str] = frozenset()
    station_ids: frozenset[str] = frozenset()
    allowed_groups: frozenset[str] = frozenset()
    time_windows: tuple[TimeWindow, ...] = ()
    timezone: str = "UTC"
    max_concurrent_sessions: int = 0
    max_session_seconds: int = 0
    blocked_id_tokens: frozenset[str] = frozenset()
    version: int = 1
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def applies_to(self, tenant_id: str, station_id: str, site_id: str) -> bool:
        if tenant_id != self.tenant_id:
            return False
        return station_id in self.station_ids or (bool(site_id) and site_id in self.site_ids)

    def open_at(self, moment: datetime) -> bool:
        if not self.time_windows:
            return True
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(w.contains(local) for w in self.time_windows)


@dataclass(frozen=True)
class PolicyVerdict:
    """What the policies applying at a station say about a token; `refusal` is None when they allow it."""

    refusal: str | None  # "blocklisted", "group_not_allowed" or "outside_time_window"
    policy_id: str
    max_concurrent_sessions: int
    max_session_seconds: int


def evaluate(
    policies: Iterable[AccessPolicy],
    *,
    id_token: str,
    group_id: str,
    moment: datetime,
    default_max_concurrent: int,
) -> PolicyVerdict:
    """Every applicable policy must allow the token; limits are the strictest among them."""
    max_concurrent = 0
    max_seconds = 0
    applied: list[str] = []
    for policy in sorted(policies, key=lambda p: p.policy_id):
        applied.append(policy.policy_id)
        if id_token in policy.blocked_id_tokens:
            return PolicyVerdict("blocklisted", policy.policy_id, 0, 0)
        if policy.allowed_groups and group_id not in policy.allowed_groups:
            return PolicyVerdict("group_not_allowed", policy.policy_id, 0, 0)
        if not policy.open_at(moment):
            return PolicyVerdict("outside_time_window", policy.policy_id, 0, 0)
        if policy.max_concurrent_sessions:
            max_concurrent = min(max_concurrent or policy.max_concurrent_sessions, policy.max_concurrent_sessions)
        if policy.max_session_seconds:
            max_seconds = min(max_seconds or policy.max_session_seconds, policy.max_session_seconds)
    return PolicyVerdict(None, ",".join(applied), max_concurrent or default_max_concurrent, max_seconds)


@dataclass(frozen=True, slots=True)
class PolicyGate:
    """What the policies at a station say before the token's group is known.

    `evaluate` gives no refusal exactly when `refused` is false and the token's group is in
    `groups` (None: any group), with the same limits: a transaction start can then reserve its
    session in the Redis round trip that reads the token (`SessionTracker.lookup_and_reserve`).
    """

    refused: bool
    groups: frozenset[str] | None
    max_concurrent_sessions: int
    max_session_seconds: int


def gate(
    policies: Iterable[AccessPolicy], *, id_token: str, moment: datetime, default_max_concurrent: int
) -> PolicyGate:
    refused = False
    groups: frozenset[str] | None = None
    max_concurrent = 0
    max_seconds = 0
    for policy in policies:
        if id_token in policy.blocked_id_tokens or not policy.open_at(moment):
            refused = True
        if policy.allowed_groups:
            groups = policy.allowed_groups if groups is None else groups & policy.allowed_groups
        if policy.max_concurrent_sessions:
            max_concurrent = min(max_concurrent or policy.max_concurrent_sessions, policy.max_concurrent_sessions)
        if policy.max_session_seconds:
            max_seconds = min(max_seconds or policy.max_session_seconds, policy.max_session_seconds)
    return PolicyGate(refused, groups, max_concurrent or default_max_concurrent, max_seconds)


# -- validation at the edge -------------------------------------------------------------------


def parse_time(value: str) -> time:
    match = _HHMM.match(value)
    if not match:
        raise InvalidPolicy(f"time {value!r} must be HH:MM (24 h)")
    return time(int(match.group(1)), int(match.group(2)))


def build_policy(
    *,
    policy_id: str,
    tenant_id: str,
    name: str,
    site_ids: Sequence[str],
    station_ids: Sequence[str],
    allowed_groups: Sequence[str],
    time_windows: Sequence[tuple[Sequence[int], str, str]],
    timezone: str,
    max_concurrent_sessions: int,
    max_session_seconds: int,
    blocked_id_tokens: Sequence[str],
    version: int = 1,
) -> AccessPolicy:
    """A policy from untrusted fields, or InvalidPolicy naming the first field that is wrong."""
    if len(name) > _NAME_MAX:
        raise InvalidPolicy(f"name is at most {_NAME_MAX} characters")
    for label, values in (
        ("site_ids", site_ids),
        ("station_ids", station_ids),
        ("allowed_groups", allowed_groups),
        ("blocked_id_tokens", blocked_id_tokens),
    ):
        if len(values) > _LIST_MAX:
            raise InvalidPolicy(f"{label} holds at most {_LIST_MAX} entries")
        bad = next((v for v in values if not _SCOPE_ID.match(v)), None)
        if bad is not None:
            raise InvalidPolicy(f"{label} entries are 1-64 of [A-Za-z0-9._:-]")
    if not site_ids and not station_ids:
        raise InvalidPolicy("a policy applies to at least one site or station")
    try:
        ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidPolicy(f"timezone {timezone!r} is not an IANA time zone") from exc
    windows = []
    for days, start, end in time_windows:
        if not days or any(d < 1 or d > 7 for d in days):
            raise InvalidPolicy("days_of_week are ISO weekdays 1 (Monday) to 7 (Sunday)")
        window = TimeWindow(frozenset(days), parse_time(start), parse_time(end))
        if window.start == window.end:
            raise InvalidPolicy("a time window's start and end differ")
        windows.append(window)
    if not 0 <= max_concurrent_sessions <= 100:
        raise InvalidPolicy("max_concurrent_sessions is 0 (default) to 100")
    if max_session_seconds < 0 or 0 < max_session_seconds < 60:
        raise InvalidPolicy("max_session_seconds is 0 (unlimited) or at least 60")
    return AccessPolicy(
        policy_id=policy_id or uuid.uuid4().hex,
        tenant_id=tenant_id,
        name=name,
        site_ids=frozenset(site_ids),
        station_ids=frozenset(station_ids),
        allowed_groups=frozenset(allowed_groups),
        time_windows=tuple(windows),
        timezone=timezone or "UTC",
        max_concurrent_sessions=max_concurrent_sessions,
        max_session_seconds=max_session_seconds,
        blocked_id_tokens=frozenset(blocked_id_tokens),
        version=version,
    )


def to_document(policy: AccessPolicy) -> Document:
    return {
        "_id": policy.policy_id,
        "tenant_id": policy.tenant_id,
        "name": policy.name,
        "site_ids": sorted(policy.site_ids),
        "station_ids": sorted(policy.station_ids),
        "allowed_groups": sorted(policy.allowed_groups),
        "time_windows": [
            {"days": sorted(w.days_of_week), "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")}
            for w in policy.time_windows
        ],
        "timezone": policy.timezone,
        "max_concurrent_sessions": policy.max_concurrent_sessions,
        "max_session_seconds": policy.max_session_seconds,
        "blocked_id_tokens": sorted(policy.blocked_id_tokens),
        "version": policy.version,
        "updated_at": policy.updated_at,
    }


def from_document(doc: Document) -> AccessPolicy:
    return AccessPolicy(
        policy_id=doc["_id"],
        tenant_id=doc["tenant_id"],
        name=doc.get("name", ""),
        site_ids=frozenset(doc.get("site_ids", [])),
        station_ids=frozenset(doc.get("station_ids", [])),
        allowed_groups=frozenset(doc.get("allowed_groups", [])),
        time_windows=tuple(
            TimeWindow(frozenset(w["days"]), parse_time(w["start"]), parse_time(w["end"]))
            for w in doc.get("time_windows", [])
        ),
        timezone=doc.get("timezone", "UTC"),
        max_concurrent_sessions=int(doc.get("max_concurrent_sessions", 0)),
        max_session_seconds=int(doc.get("max_session_seconds", 0)),
        blocked_id_tokens=frozenset(doc.get("blocked_id_tokens", [])),
        version=int(doc.get("version", 1)),
        updated_at=doc.get("updated_at") or datetime.now(UTC),
    )


class PolicyStore:
    """The collection, and the in-memory snapshot Authorize reads."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._all: tuple[AccessPolicy, ...] = ()
        # (tenant, station) and (tenant, site) -> policies: Authorize looks up, never scans.
        self._by_station: dict[tuple[str, str], tuple[AccessPolicy, ...]] = {}
        self._by_site: dict[tuple[str, str], tuple[AccessPolicy, ...]] = {}

    def applicable(self, tenant_id: str, station_id: str, site_id: str) -> list[AccessPolicy]:
        by_station = self._by_station.get((tenant_id, station_id), ())
        by_site = self._by_site.get((tenant_id, site_id), ()) if site_id else ()
        if not by_site:
            return list(by_station)
        if not by_station:
            return list(by_site)
        return list({p.policy_id: p for p in (*by_station, *by_site)}.values())

    async def reload(self) -> None:
        self._index(tuple([from_document(d) async for d in self.collection.find({})]))

    def _index(self, policies: tuple[AccessPolicy, ...]) -> None:
        by_station: dict[tuple[str, str], list[AccessPolicy]] = {}
        by_site: dict[tuple[str, str], list[AccessPolicy]] = {}
        for policy in policies:
            for station_id in policy.station_ids:
                by_station.setdefault((policy.tenant_id, station_id), []).append(policy)
            for site_id in policy.site_ids:
                by_site.setdefault((policy.tenant_id, site_id), []).append(policy)
        self._all = policies
        self._by_station = {k: tuple(v) for k, v in by_station.items()}
        self._by_site = {k: tuple(v) for k, v in by_site.items()}

    async def get(self, policy_id: str) -> AccessPolicy | None:
        doc = await self.collection.find_one({"_id": policy_id})
        return from_document(doc) if doc else None

    async def put(self, policy: AccessPolicy) -> AccessPolicy:
        """Create (version 1) or replace the stored policy, bumping its version."""
        existing = await self.get(policy.policy_id)
        if existing is None:
            stored = replace(policy, version=1, updated_at=datetime.now(UTC))
            await self.collection.insert_one(to_document(stored))
        else:
            if existing.tenant_id != policy.tenant_id:
                raise PolicyConflict("a policy's tenant cannot change")
            stored = replace(policy, version=existing.version + 1, updated_at=datetime.now(UTC))
            # Replace only the version the caller's change was based on (optimistic concurrency).
            result = await self.collection.replace_one(
                {"_id": policy.policy_id, "version": existing.version}, to_document(stored)
            )
            if result.matched_count == 0:
                raise PolicyConflict("the policy changed meanwhile; read it again")
        await self.reload()
        return stored

    async def delete(self, policy_id: str) -> None:
        result = await self.collection.delete_one({"_id": policy_id})
        if result.deleted_count == 0:
            raise PolicyNotFound(policy_id)
        await self.reload()

    async def page(self, *, tenant_id: str | None, after: str | None, limit: int) -> tuple[list[AccessPolicy], int]:
        query: dict[str, Any] = {"tenant_id": tenant_id} if tenant_id else {}
        total = await self.collection.count_documents(query)
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [from_document(d) async for d in cursor], total
