"""MongoDB collections of the SLA engine (database `chargewatch_sla`), their indexes and access.

| collection  | one document per                   | written by                          |
| ----------- | ---------------------------------- | ----------------------------------- |
| stations    | station: its timeline snapshot     | the partition's owner (fenced)      |
| partitions  | stream partition: journal covered  | the partition's owner               |
| ports       | port: current availability         | the partition's owner               |
| outages     | port and year: packed down segments| the partition's owner               |
| incidents   | incident: derived and human fields | owner (derived), operators (human)  |
| incident_notes | note or action on an incident   | operators                           |
| exclusions  | declared excluded outage           | operators                           |
| sites       | site profile                       | operators                           |
| contracts   | SLA contract                       | operators                           |
| sessions    | charging session                   | the partition's owner               |
| alert_marks | one-time alert already sent        | whoever sends it first              |

Portable across MongoDB and the MongoDB-wire store used locally: times are epoch milliseconds,
flags are integers, upserts use UpdateOne with $set/$min/$max (see
tests/integration/sla_engine/test_store_features.py for each feature relied on).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.sla_engine.profiles import SiteProfile

log = logging.getLogger(__name__)

STATIONS = "stations"
PARTITIONS = "partitions"
PORTS = "ports"
OUTAGES = "outages"
INCIDENTS = "incidents"
INCIDENT_NOTES = "incident_notes"
EXCLUSIONS = "exclusions"
SITES = "sites"
CONTRACTS = "contracts"
SESSIONS = "sessions"
ALERT_MARKS = "alert_marks"

DUPLICATE_KEY = 11000


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(STATIONS, [("partition", 1)], name="by_partition"),
        IndexSpec(PORTS, [("tenant_id", 1)], name="by_tenant"),
        IndexSpec(PORTS, [("site_id", 1)], name="by_site"),
        IndexSpec(PORTS, [("station_id", 1)], name="by_station"),
        IndexSpec(OUTAGES, [("year", 1), ("tenant_id", 1)], name="by_year_tenant"),
        IndexSpec(OUTAGES, [("year", 1), ("site_id", 1)], name="by_year_site"),
        IndexSpec(OUTAGES, [("station_id", 1)], name="by_station"),
        IndexSpec(INCIDENTS, [("opened_ms", 1)], name="by_opened"),
        IndexSpec(INCIDENTS, [("tenant_id", 1), ("opened_ms", 1)], name="by_tenant_opened"),
        IndexSpec(INCIDENTS, [("station_id", 1), ("opened_ms", 1)], name="by_station_opened"),
        IndexSpec(INCIDENTS, [("open", 1)], name="by_open"),
        IndexSpec(INCIDENT_NOTES, [("incident_id", 1), ("at_ms", 1)], name="by_incident"),
        IndexSpec(EXCLUSIONS, [("station_id", 1)], name="by_station"),
        IndexSpec(EXCLUSIONS, [("tenant_id", 1)], name="by_tenant"),
        IndexSpec(EXCLUSIONS, [("state", 1), ("start_ms", 1)], name="by_state_start"),
        IndexSpec(SITES, [("tenant_id", 1)], name="by_tenant"),
        IndexSpec(CONTRACTS, [("tenant_id", 1)], name="by_tenant"),
        IndexSpec(SESSIONS, [("tenant_id", 1), ("started_ms", 1)], name="by_tenant_started"),
        IndexSpec(SESSIONS, [("station_id", 1), ("started_ms", 1)], name="by_station_started"),
    ]


def fence(station_id: str, gen: int) -> Document:
    """Match the station's snapshot unless a newer owner (higher lease generation) wrote it."""
    return {"$and": [{"_id": station_id}, {"$or": [{"gen": {"$exists": False}}, {"gen": {"$lte": gen}}]}]}


@dataclass(frozen=True, slots=True)
class FlushBatch:
    """Everything one flush of one partition writes, built synchronously from memory."""

    stations: list[UpdateOne]
    ports: list[UpdateOne]
    outages: list[UpdateOne]
    incidents: list[UpdateOne]
    sessions: list[UpdateOne]

    def __bool__(self) -> bool:
        return bool(self.stations or self.ports or self.outages or self.incidents or self.sessions)


class FencedOut(Exception):
    """A newer owner of the partition wrote a station: this process must stop writing it."""


class SlaStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.stations = db[STATIONS]
        self.partitions = db[PARTITIONS]
        self.ports = db[PORTS]
        self.outages = db[OUTAGES]
        self.incidents = db[INCIDENTS]
        self.notes = db[INCIDENT_NOTES]
        self.exclusions = db[EXCLUSIONS]
        self.sites = db[SITES]
        self.contracts = db[CONTRACTS]
        self.sessions = db[SESSIONS]
        self.alert_marks = db[ALERT_MARKS]

    # -- partition state ------------------------------------------------------------------------
    async def covered(self, partition: int) -> str:
        document = await self.partitions.find_one({"_id": partition})
        return str(document.get("covered", "")) if document else ""

    async def set_covered(self, partition: int, gen: int, covered: str) -> None:
        """Record that the snapshots include every journal entry up to `covered` (see journal.py)."""
        await self.partitions.update_one({"_id": partition}, {"$set": {"covered": covered, "gen": gen}}, upsert=True)

    async def snapshots(self, partition: int) -> list[Document]:
        return [d async for d in self.stations.find({"partition": partition})]

    async def flush(self, batch: FlushBatch) -> None:
        """Write a flush; the station snapshots last, so a failure before them is simply redone."""
        for collection, operations in (
            (self.outages, batch.outages),
            (self.ports, batch.ports),
            (self.incidents, batch.incidents),
            (self.sessions, batch.sessions),
        ):
            if operations:
                await collection.bulk_write(operations, ordered=False)
        if batch.stations:
            try:
                result = await self.stations.bulk_write(batch.stations, ordered=False)
            except BulkWriteError as error:
                codes = {e.get("code") for e in error.details.get("writeErrors", [])}
                if codes == {DUPLICATE_KEY}:
                    raise FencedOut("a newer owner wrote some of this partition's stations") from error
                raise
            if result.matched_count + result.upserted_count < len(batch.stations):
                raise FencedOut("a newer owner wrote some of this partition's stations")

    # -- site profiles --------------------------------------------------------------------------
    async def all_profiles(self) -> list[SiteProfile]:
        return [SiteProfile.from_document(d) async for d in self.sites.find({})]

    async def profiles(self, site_ids: Iterable[str]) -> dict[str, SiteProfile]:
        ids = sorted(set(site_ids))
        if not ids:
            return {}
        return {str(d["_id"]): SiteProfile.from_document(d) async for d in self.sites.find({"_id": {"$in": ids}})}

    async def put_profile(self, profile: SiteProfile) -> SiteProfile:
        await self.sites.update_one({"_id": profile.site_id}, {"$set": profile.document()}, upsert=True)
        return profile

    async def profile(self, site_id: str) -> SiteProfile | None:
        document = await self.sites.find_one({"_id": site_id})
        return SiteProfile.from_document(document) if document else None

    # -- incidents (people's side) --------------------------------------------------------------
    async def incident(self, incident_id: str) -> Document | None:
        return await self.incidents.find_one({"_id": incident_id})

    async def add_note(self, incident_id: str, at_ms: int, author: str, action: str, text: str) -> None:
        await self.notes.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "incident_id": incident_id,
                "at_ms": at_ms,
                "author": author,
                "action": action,
                "text": text,
            }
        )

    async def notes_of(self, incident_ids: Sequence[str]) -> dict[str, list[Document]]:
        if not incident_ids:
            return {}
        out: dict[str, list[Document]] = {}
        cursor = self.notes.find({"incident_id": {"$in": list(incident_ids)}}).sort("at_ms", 1)
        async for document in cursor:
            out.setdefault(str(document["incident_id"]), []).append(document)
        return out

    async def acknowledge(self, incident_id: str, at_ms: int, by: str) -> bool:
        """First acknowledgement wins: a second one changes nothing (and says so)."""
        result = await self.incidents.update_one(
            {"_id": incident_id, "ack_ms": {"$exists": False}}, {"$set": {"ack_ms": at_ms, "ack_by": by}}
        )
        return result.modified_count > 0

    async def resolve(self, incident_id: str, at_ms: int, by: str) -> None:
        await self.incidents.update_one({"_id": incident_id}, {"$set": {"resolved_ms": at_ms, "resolved_by": by}})

    async def mark_once(self, mark_id: str, fields: Mapping[str, Any]) -> bool:
        """Record that a one-time alert is being sent; False when someone already did."""
        try:
            await self.alert_marks.insert_one({"_id": mark_id, **fields})
        except DuplicateKeyError:
            return False
        return True
