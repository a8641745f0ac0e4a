"""The station registry and every connector's live state, in MongoDB.

State is derived from event timestamps, never from arrival order: each write is conditional
on the stored timestamp being older than the event's (ties broken by event id), or a `$max` of
it, so a redelivered or reordered event changes nothing it should not. Status changes are also
kept by connector and day for occupancy (see `occupancy`). Timestamps written with `$set`
are epoch milliseconds and connectivity is a string: portable across MongoDB and the
MongoDB-wire store used locally (which stores top-level `$set` datetimes as strings and
booleans as integers; see tests/integration/telemetry/test_store_features.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.telemetry import occupancy
from chargewatch.v1 import events_pb2

log = logging.getLogger(__name__)

STATIONS = "stations"
STATUS_HISTORY = "status_history"
ONLINE, OFFLINE = "online", "offline"


def indexes(status_history_days: int) -> list[IndexSpec]:
    return [
        IndexSpec(STATIONS, [("tenant_id", 1)], name="by_tenant"),
        IndexSpec(STATIONS, [("site_id", 1)], name="by_site"),
        IndexSpec(STATIONS, [("statuses", 1)], name="by_status"),
        IndexSpec(STATUS_HISTORY, [("station_id", 1), ("station_time", 1)], name="by_station_time"),
        IndexSpec(
            STATUS_HISTORY, [("received_time", 1)], name="ttl", expire_after_seconds=status_history_days * 86_400
        ),
        *occupancy.indexes(status_history_days),
    ]


class TenantMismatch(Exception):
    """The station is registered to another tenant."""


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def connector_key(evse_id: int, connector_id: int) -> str:
    return f"{evse_id}-{connector_id}"


def _newer(field: str, ms: int, event_id: str, id_field: str) -> dict[str, Any]:
    """Match documents whose `field` is older than (ms, event_id), or absent."""
    return {
        "$or": [
            {field: {"$exists": False}},
            {field: {"$lt": ms}},
            {field: ms, id_field: {"$lt": event_id}},
        ]
    }


@dataclass(frozen=True)
class Registration:
    station_id: str
    tenant_id: str
    site_id: str
    security_profile: int
    name: str = ""
    latitude: float | None = None
    longitude: float | None = None
    connectors: Sequence[ConnectorSpec] = ()


@dataclass(frozen=True)
class ConnectorSpec:
    evse_id: int
    connector_id: int
    connector_type: str = ""
    max_power_w: float = 0.0


@dataclass(frozen=True)
class StationQuery:
    tenant_id: str | None = None
    site_id: str | None = None
    status: int | None = None
    online: bool | None = None
    box: tuple[float, float, float, float] | None = None  # south, west, north, east
    after_id: str | None = None
    limit: int = 50


class StationRegistry:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.stations = db[STATIONS]
        self.history = db[STATUS_HISTORY]
        self.occupancy = occupancy.StatusDays(db)

    # -- registration (from the partner API) ----------------------------------------------
    async def register(self, registration: Registration) -> Document:
        existing = await self.stations.find_one({"_id": registration.station_id}, {"tenant_id": 1})
        if existing is not None and existing.get("tenant_id") not in (None, "", registration.tenant_id):
            raise TenantMismatch(registration.station_id)
        fields: Document = {
            "tenant_id": registration.tenant_id,
            "site_id": registration.site_id,
            "security_profile": registration.security_profile,
            "name": registration.name or registration.station_id,
        }
        if registration.latitude is not None and registration.longitude is not None:
            fields["location"] = {"lat": registration.latitude, "lon": registration.longitude}
        if registration.connectors:
            fields["connector_specs"] = {
                connector_key(c.evse_id, c.connector_id): {
                    "evse_id": c.evse_id,
                    "connector_id": c.connector_id,
                    "connector_type": c.connector_type,
                    "max_power_w": c.max_power_w,
                }
                for c in registration.connectors
            }
        if existing is None:
            try:
                await self.stations.insert_one(
                    {
                        "_id": registration.station_id,
                        **fields,
                        "registered_ms": to_ms(datetime.now(UTC)),
                        "connectivity": OFFLINE,
                        "connectors": {},
                        "statuses": [],
                    }
                )
            except DuplicateKeyError:  # registered concurrently: fall through to the update
                await self.stations.update_one({"_id": registration.station_id}, {"$set": fields})
        else:
            await self.stations.update_one({"_id": registration.station_id}, {"$set": fields})
        document = await self.stations.find_one({"_id": registration.station_id})
        assert document is not None
        return document

    # -- events (from the streams) --------------------------------------------------------
    async def _ensure(self, envelope: events_pb2.EventEnvelope) -> bool:
        """Events can precede the registration in a replay: keep them on a stub document.

        Returns True when the stub was created (the station was unknown)."""
        if await self.stations.find_one({"_id": envelope.station_id}, {"_id": 1}) is not None:
            return False
        stub: Document = {
            "_id": envelope.station_id,
            "tenant_id": envelope.tenant_id,
            "connectivity": OFFLINE,
            "connectors": {},
            "statuses": [],
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.stations.insert_one(stub)
        return True

    async def _conditional_set(
        self, envelope: events_pb2.EventEnvelope, condition: dict[str, Any], fields: Document
    ) -> bool:
        """Set `fields` when `condition` holds; False when the stored state is newer (or equal)."""
        # An explicit $and: nx-27017 mis-reads `{"_id": x, "$or": [...]}` (see test_store_features).
        query = {"$and": [{"_id": envelope.station_id}, condition]}
        result = await self.stations.update_one(query, {"$set": fields})
        if result.matched_count == 0 and await self._ensure(envelope):
            result = await self.stations.update_one(query, {"$set": fields})
        return result.matched_count > 0

    async def apply(self, envelope: events_pb2.EventEnvelope) -> None:
        kind = envelope.WhichOneof("payload")
        if kind is None:
            return
        ms = to_ms(envelope.station_time.ToDatetime(UTC))
        received_ms = to_ms(envelope.received_time.ToDatetime(UTC))
        event_id = envelope.event_id
        # Any message proves the station was there when it was received.
        await self.touch(envelope, received_ms)
        if kind == "connection":
            await self._apply_connection(envelope, ms, event_id)
        elif kind == "heartbeat":
            await self._raise(envelope, "last_heartbeat_ms", ms)
        elif kind == "boot":
            boot = envelope.boot
            await self._conditional_set(
                envelope,
                _newer("boot_ms", ms, event_id, "boot_event_id"),
                {
                    "boot_ms": ms,
                    "boot_event_id": event_id,
                    "vendor": boot.vendor,
                    "model": boot.model,
                    "serial_number": boot.serial_number,
                    "firmware_version": boot.firmware_version,
                    "registration_status": int(boot.registration_status),
                    "ocpp_version": int(boot.ocpp_version),
                },
            )
        elif kind == "status":
            await self._apply_status(envelope, ms, event_id)

    async def _apply_connection(self, envelope: events_pb2.EventEnvelope, ms: int, event_id: str) -> None:
        connection = envelope.connection
        if connection.kind == events_pb2.StationConnection.KIND_REFUSED:
            return
        state = ONLINE if connection.kind == events_pb2.StationConnection.KIND_CONNECTED else OFFLINE
        fields: Document = {"connectivity": state, "connectivity_ms": ms, "connectivity_event_id": event_id}
        if state == ONLINE:
            fields["ocpp_version"] = int(connection.ocpp_version)
        await self._conditional_set(envelope, _newer("connectivity_ms", ms, event_id, "connectivity_event_id"), fields)

    async def _apply_status(self, envelope: events_pb2.EventEnvelope, ms: int, event_id: str) -> None:
        status = envelope.status
        key = connector_key(status.evse_id, status.connector_id)
        with contextlib.suppress(DuplicateKeyError):  # redelivered: the history already has it
            await self.history.insert_one(
                {
                    "_id": event_id,
                    "station_id": envelope.station_id,
                    "tenant_id": envelope.tenant_id,
                    "evse_id": status.evse_id,
                    "connector_id": status.connector_id,
                    "status": int(status.status),
                    "error_code": status.error_code,
                    "station_time": envelope.station_time.ToDatetime(UTC),
                    "received_time": envelope.received_time.ToDatetime(UTC),
                }
            )
        if status.evse_id:  # connector 0 is the whole station: not a place to charge
            await self.occupancy.record(
                envelope.station_id, status.evse_id, status.connector_id, event_id, ms, int(status.status)
            )
        connector: Document = {
            "evse_id": status.evse_id,
            "connector_id": status.connector_id,
            "status": int(status.status),
            "error_code": status.error_code,
            "info": status.info,
            "since_ms": ms,
            "event_id": event_id,
        }
        changed = await self._conditional_set(
            envelope,
            _newer(f"connectors.{key}.since_ms", ms, event_id, f"connectors.{key}.event_id"),
            {f"connectors.{key}": connector},
        )
        if changed:
            document = await self.stations.find_one({"_id": envelope.station_id}, {"connectors": 1})
            connectors = (document or {}).get("connectors", {})
            statuses = sorted({c["status"] for k, c in connectors.items() if not k.startswith("0-")})
            await self.stations.update_one({"_id": envelope.station_id}, {"$set": {"statuses": statuses}})

    async def apply_transaction(self, envelope: events_pb2.EventEnvelope, evse_id: int, connector_id: int) -> None:
        """The connector's current session: set by a start or update, cleared by an end (newest wins).

        The connector is passed in: OCPP 2.0.1 names the EVSE only on some messages of a session."""
        tx = envelope.transaction
        if not evse_id:
            return
        key = connector_key(evse_id, connector_id or 1)
        ms = to_ms(envelope.station_time.ToDatetime(UTC))
        ended = tx.kind == events_pb2.TransactionEvent.KIND_ENDED
        await self._conditional_set(
            envelope,
            _newer(f"live_sessions.{key}.ms", ms, envelope.event_id, f"live_sessions.{key}.event_id"),
            {
                f"live_sessions.{key}": {
                    "transaction_id": "" if ended else tx.transaction_id,
                    "ms": ms,
                    "event_id": envelope.event_id,
                }
            },
        )

    async def touch(self, envelope: events_pb2.EventEnvelope, received_ms: int) -> None:
        """Record that the station was heard from at `received_ms` (only ever moves forward)."""
        await self._raise(envelope, "last_seen_ms", received_ms)

    async def _raise(self, envelope: events_pb2.EventEnvelope, field: str, ms: int) -> None:
        """Raise a timestamp field to `ms` if lower (`$max`: order-free, and filtered by `_id`
        alone, which the local store answers from its index)."""
        result = await self.stations.update_one({"_id": envelope.station_id}, {"$max": {field: ms}})
        if result.matched_count == 0 and await self._ensure(envelope):
            await self.stations.update_one({"_id": envelope.station_id}, {"$max": {field: ms}})

    async def touch_many(self, received_ms: Mapping[str, int]) -> None:
        """`touch` for many known stations in one bulk write (unknown stations are skipped).

        `$max` only ever raises the value, so concurrent and reordered writes agree, and the
        filter is the `_id` alone (the local store answers only `_id` filters from an index)."""
        await self.stations.bulk_write(
            [UpdateOne({"_id": station_id}, {"$max": {"last_seen_ms": ms}}) for station_id, ms in received_ms.items()],
            ordered=False,
        )

    async def record_latest(self, latest: Mapping[str, Mapping[str, Any]]) -> None:
        """Each connector's newest reading (fleet connector key -> stored reading values), kept
        on its station as live state when newer than the one there.

        Compared here rather than in the filter: the local store scans every station for a
        filter on anything but `_id`. Two downsamplers racing could briefly keep the older of
        two readings; the connector's next reading corrects it."""
        by_station: dict[str, dict[str, Mapping[str, Any]]] = {}
        for connector, values in latest.items():
            station_id, evse_id, connector_id = connector.split("|")
            by_station.setdefault(station_id, {})[f"{evse_id}-{connector_id}"] = values
        if not by_station:
            return
        known = {
            d["_id"]: d.get("last_readings", {})
            async for d in self.stations.find({"_id": {"$in": sorted(by_station)}}, {"last_readings": 1})
        }
        writes: list[UpdateOne] = []
        for station_id, readings in by_station.items():
            if station_id not in known:
                continue  # never registered nor heard from otherwise: nothing to attach it to
            fields: Document = {}
            for key, values in readings.items():
                current = known[station_id].get(key)
                if current is None or values["t"] > current["t"]:
                    fields[f"last_readings.{key}"] = {k: values[k] for k in ("t", "e", "p") if k in values}
            if fields:
                writes.append(UpdateOne({"_id": station_id}, {"$set": fields}))
        if writes:
            await self.stations.bulk_write(writes, ordered=False)

    # -- queries --------------------------------------------------------------------------
    async def ingest_view(self, station_ids: Sequence[str]) -> dict[str, Document]:
        """station id -> its declared connector specs and last readings (by "evse-connector")."""
        cursor = self.stations.find({"_id": {"$in": list(station_ids)}}, {"connector_specs": 1, "last_readings": 1})
        return {
            d["_id"]: {"connector_specs": d.get("connector_specs", {}), "last_readings": d.get("last_readings", {})}
            async for d in cursor
        }

    async def scoped(self, tenant_id: str | None, site_id: str | None, station_id: str | None) -> list[Document]:
        """Registered stations of a tenant (None: all), optionally one site or one station."""
        conditions: Document = {"registered_ms": {"$exists": True}}
        if tenant_id is not None:
            conditions["tenant_id"] = tenant_id
        if site_id:
            conditions["site_id"] = site_id
        if station_id:
            conditions["_id"] = station_id
        return [d async for d in self.stations.find(conditions)]

    async def get(self, station_id: str, tenant_id: str | None) -> Document | None:
        query: Document = {"_id": station_id}
        if tenant_id is not None:
            query["tenant_id"] = tenant_id
        return await self.stations.find_one(query)

    @staticmethod
    def _filter(query: StationQuery) -> Document:
        conditions: Document = {"registered_ms": {"$exists": True}}
        if query.tenant_id is not None:
            conditions["tenant_id"] = query.tenant_id
        if query.site_id:
            conditions["site_id"] = query.site_id
        if query.status:
            # `$in` rather than equality: the local store mis-answers equality on an indexed array.
            conditions["statuses"] = {"$in": [query.status]}
        if query.online is not None:
            conditions["connectivity"] = ONLINE if query.online else OFFLINE
        if query.box is not None:
            south, west, north, east = query.box
            conditions["location.lat"] = {"$gte": south, "$lte": north}
            conditions["location.lon"] = {"$gte": west, "$lte": east}
        return conditions

    async def list(self, query: StationQuery) -> tuple[Sequence[Document], int]:
        conditions = self._filter(query)
        total = await self.stations.count_documents(conditions)
        if query.after_id:
            conditions["_id"] = {"$gt": query.after_id}
        cursor = self.stations.find(conditions).sort("_id", 1).limit(query.limit)
        return [doc async for doc in cursor], total
