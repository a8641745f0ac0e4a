"""Charging sessions and authorization decisions in MongoDB.

A session is one document, `_id` = "<station>|<transaction id>", that keeps every transaction
event of the session under `ev.<event id>` and the summary beside them. It is recomputed from
all of its events and its meter readings whenever an event arrives (and whenever the downsampler
folds readings of it): `summarize` is a pure function of those sets, so redelivery (the same
field set again) and reordering (the same sets, sorted by station time) give the same session.
Sessions and readings are fetched by `_id` (the local store indexes nothing else). Timestamps
written with `$set` are epoch milliseconds and the open/ended state a string, which both MongoDB
and the local MongoDB-wire store read back as written (see test_store_features).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.telemetry.keys import field_key, find_by_ids
from chargewatch.telemetry.meters import DUPLICATE_KEY, SESSIONS, MeterStore, raw_ids
from chargewatch.v1 import events_pb2

AUTHORIZATIONS = "authorizations"
OPEN, ENDED = "open", "ended"
STARTED = events_pb2.TransactionEvent.KIND_STARTED
ENDED_KIND = events_pb2.TransactionEvent.KIND_ENDED
ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED

# Stop reasons (OCPP 1.6 Reason, 2.0.1 ReasonEnumType) that mean the charge failed, whatever
# energy it delivered before.
FAILED_STOP_REASONS = frozenset(
    {
        "EmergencyStop",
        "PowerLoss",
        "Reboot",
        "HardReset",
        "SoftReset",
        "ImmediateReset",
        "GroundFault",
        "OvercurrentFault",
        "PowerQuality",
        "Timeout",
        "DeAuthorized",
    }
)
CHARGING_STATE = "Charging"
# Readings are looked for this long around a session's events (station clocks and MeterValues
# sent a little before the start or after the stop), and over at most `MAX_READING_SPAN`.
READING_MARGIN_MS = 15 * 60_000
MAX_READING_SPAN_MS = 7 * 86_400_000


def indexes(raw_days: int) -> list[IndexSpec]:
    return [
        IndexSpec(SESSIONS, [("station_id", 1), ("started_ms", -1)], name="by_station_start"),
        IndexSpec(SESSIONS, [("tenant_id", 1), ("started_ms", -1)], name="by_tenant_start"),
        IndexSpec(AUTHORIZATIONS, [("station_id", 1), ("t_ms", 1)], name="by_station_time"),
        IndexSpec(AUTHORIZATIONS, [("t", 1)], name="ttl", expire_after_seconds=raw_days * 86_400),
    ]


def session_key(station_id: str, transaction_id: str) -> str:
    """Transaction ids are unique per station only."""
    return f"{station_id}|{transaction_id}"


def _ms(envelope: events_pb2.EventEnvelope) -> int:
    return int(envelope.station_time.ToDatetime(UTC).timestamp() * 1000)


def transaction_document(envelope: events_pb2.EventEnvelope) -> Document:
    tx = envelope.transaction
    return {
        "_id": envelope.event_id,
        "session": session_key(envelope.station_id, tx.transaction_id),
        "station_id": envelope.station_id,
        "tenant_id": envelope.tenant_id,
        "transaction_id": tx.transaction_id,
        "kind": int(tx.kind),
        "evse_id": tx.evse_id,
        "connector_id": tx.connector_id,
        "id_token": tx.id_token,
        "meter_wh": tx.meter_wh,
        "stop_reason": tx.stop_reason,
        "trigger_reason": tx.trigger_reason,
        "seq_no": tx.seq_no,
        "charging_state": tx.charging_state,
        "t_ms": _ms(envelope),
    }


def summarize(events: Iterable[Mapping[str, Any]], readings: Iterable[Mapping[str, Any]] = ()) -> Document:
    """A session from its transaction events and its meter readings (stored form, see
    `meters.reading_values`), in any order (pure).

    Energy is the register at the end minus the register at the start, to the Wh; an open
    session counts up to the highest register seen. Charging ended at the first non-charging
    state after the last "Charging" one when the station reports charging states, else when the
    register last rose (transaction events and meter readings together); idle time is the stop
    minus that. Peak power is the highest power reading of the session.
    """
    unique = {e["_id"]: e for e in events}  # the same event twice is one event
    ordered = sorted(unique.values(), key=lambda e: (e["t_ms"], e.get("seq_no", 0), e["_id"]))
    if not ordered:
        raise ValueError("a session needs at least one event")
    readings = list(readings)
    meter = sorted(
        {(r["t"], r["e"]) for r in readings if r.get("e") is not None}
        | {(e["t_ms"], e["meter_wh"]) for e in ordered if e.get("meter_wh")}
    )
    first = ordered[0]
    started = next((e for e in ordered if e["kind"] == STARTED), None)
    ended = next((e for e in reversed(ordered) if e["kind"] == ENDED_KIND), None)
    registers = [e["meter_wh"] for e in ordered if e.get("meter_wh")]
    start_wh = started["meter_wh"] if started is not None else (min(registers) if registers else 0.0)
    highest = max((wh for _, wh in meter), default=start_wh)
    if ended is not None and ended.get("meter_wh") and ended["meter_wh"] >= start_wh:
        stop_wh = ended["meter_wh"]
    else:
        stop_wh = highest
    started_ms = (started or first)["t_ms"]
    summary: Document = {
        "station_id": first["station_id"],
        "tenant_id": next((e["tenant_id"] for e in ordered if e.get("tenant_id")), ""),
        "transaction_id": first["transaction_id"],
        "evse_id": next((e["evse_id"] for e in ordered if e.get("evse_id")), 0),
        "connector_id": next((e["connector_id"] for e in ordered if e.get("connector_id")), 0),
        "id_token": next((e["id_token"] for e in ordered if e.get("id_token")), ""),
        "started_ms": started_ms,
        "start_meter_wh": start_wh,
        "stop_meter_wh": stop_wh,
        "energy_wh": max(0.0, stop_wh - start_wh),
        "state": ENDED if ended is not None else OPEN,
        "stop_reason": ended.get("stop_reason", "") if ended is not None else "",
        "events": len(ordered),
        "peak_power_w": max((r["p"] for r in readings if r.get("p") is not None), default=0.0),
    }
    charging_ended_ms = _charging_ended_ms(ordered, meter)
    summary["charging_ended_ms"] = charging_ended_ms
    if ended is not None:
        stopped_ms = ended["t_ms"]
        summary["stopped_ms"] = stopped_ms
        summary["duration_seconds"] = max(0, (stopped_ms - started_ms) // 1000)
        summary["idle_seconds"] = max(0, (stopped_ms - (charging_ended_ms or stopped_ms)) // 1000)
    return summary


def _charging_ended_ms(ordered: Sequence[Mapping[str, Any]], meter: Sequence[tuple[int, float]]) -> int | None:
    states = [(e["t_ms"], e["charging_state"]) for e in ordered if e.get("charging_state")]
    if states:
        last_charging = max((i for i, (_, state) in enumerate(states) if state == CHARGING_STATE), default=None)
        if last_charging is None:
            return None
        after = states[last_charging + 1 :]
        return after[0][0] if after else None
    rose_at: int | None = None
    previous: float | None = None
    for at_ms, wh in meter:
        if previous is not None and wh > previous:
            rose_at = at_ms
        previous = wh if previous is None else max(previous, wh)
    return rose_at


def successful(session: Mapping[str, Any], min_energy_wh: float) -> bool:
    return (
        session.get("state") == ENDED
        and session.get("energy_wh", 0.0) >= min_energy_wh
        and session.get("stop_reason", "") not in FAILED_STOP_REASONS
    )


def encode_cursor(started_ms: int, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([started_ms, key]).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, str]:
    """ValueError when the token is not one `encode_cursor` made."""
    try:
        raw = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("malformed page token") from error
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], int) and isinstance(raw[1], str)):
        raise ValueError("malformed page token")
    return raw[0], raw[1]


@dataclass(frozen=True)
class SessionQuery:
    station_ids: Sequence[str] | None = None  # None: any station (operator-wide)
    tenant_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    id_token: str | None = None
    ended: bool | None = None
    after: tuple[int, str] | None = None
    limit: int = 50


def session_connector(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The fleet connector key of a session from its events (None while no event names the EVSE)."""
    evse_id = next((e["evse_id"] for e in events if e.get("evse_id")), 0)
    if not evse_id:
        return None
    connector_id = next((e["connector_id"] for e in events if e.get("connector_id")), 1)
    return f"{events[0]['station_id']}|{evse_id}|{connector_id}"


def reading_window(events: Sequence[Mapping[str, Any]], now_ms: int) -> tuple[int, int]:
    """[start, end) in which a session's readings are looked for."""
    times = [e["t_ms"] for e in events]
    ended = any(e["kind"] == ENDED_KIND for e in events)
    end = max(times) if ended else max(max(times), now_ms)
    start = max(min(times), end - MAX_READING_SPAN_MS)
    return start - READING_MARGIN_MS, end + READING_MARGIN_MS


class SessionStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.sessions = db[SESSIONS]
        self.authorizations = db[AUTHORIZATIONS]
        self.meters = MeterStore(db)

    async def record(self, envelopes: Sequence[events_pb2.EventEnvelope]) -> list[str]:
        """Keep the transaction events on their sessions, recompute those; returns the keys."""
        documents = [transaction_document(e) for e in envelopes if e.transaction.transaction_id]
        if not documents:
            return []
        writes: list[UpdateOne] = []
        for document in documents:
            event = {k: v for k, v in document.items() if k not in ("_id", "session")}
            field = f"ev.{field_key(document['_id'])}"
            writes.append(UpdateOne({"_id": document["session"]}, {"$set": {field: event}}, upsert=True))
        await self.sessions.bulk_write(writes, ordered=False)
        keys = sorted({d["session"] for d in documents})
        await self.recompute(keys)
        return keys

    async def recompute(self, keys: Sequence[str] | Mapping[str, str], now_ms: int | None = None) -> None:
        """Rebuild sessions from every event and meter reading they have (idempotent, order-free).

        `keys` may map each session to the connector its readings came from (the downsampler
        knows it before an OCPP 2.0.1 event names the EVSE)."""
        if not keys:
            return
        hints: Mapping[str, str] = keys if isinstance(keys, Mapping) else {}
        found = await find_by_ids(self.sessions, sorted(keys))
        now = now_ms if now_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
        plans: list[tuple[str, list[Document], str | None, int, int]] = []
        buckets: set[str] = set()
        for key, document in found.items():
            events = [{"_id": k, **v} for k, v in document.get("ev", {}).items()]
            if not events:
                continue
            connector = hints.get(key) or session_connector(events)
            start, end = reading_window(events, now)
            if connector is not None:
                buckets.update(raw_ids(connector, start, end))
            plans.append((key, events, connector, start, end))
        stored = await find_by_ids(self.meters.raw, sorted(buckets))
        writes: list[UpdateOne] = []
        for key, events, connector, start, end in plans:
            readings: list[Document] = []
            if connector is not None:
                transaction = events[0]["transaction_id"]
                for bucket in raw_ids(connector, start, end):
                    readings += [
                        values
                        for values in stored.get(bucket, {}).get("r", {}).values()
                        if values.get("x") == transaction and start <= values["t"] < end
                    ]
            summary = summarize(events, readings)
            if connector is not None and not summary["evse_id"]:
                _, evse_id, connector_id = connector.split("|")
                summary["evse_id"], summary["connector_id"] = int(evse_id), int(connector_id)
            writes.append(UpdateOne({"_id": key}, {"$set": summary}))
        if writes:
            await self.sessions.bulk_write(writes, ordered=False)

    async def record_authorizations(self, envelopes: Sequence[events_pb2.EventEnvelope]) -> None:
        documents: list[Document] = []
        for envelope in envelopes:
            decision = envelope.authorization
            documents.append(
                {
                    "_id": envelope.event_id,
                    "station_id": envelope.station_id,
                    "tenant_id": envelope.tenant_id,
                    "status": int(decision.status),
                    "accepted": 1 if decision.status == ACCEPTED else 0,
                    "reason": decision.reason,
                    "evse_id": decision.evse_id,
                    "transaction_id": decision.transaction_id,
                    "t_ms": _ms(envelope),
                    "t": envelope.station_time.ToDatetime(UTC),
                }
            )
        await _insert_new(self.authorizations, documents)

    async def get(self, station_id: str, transaction_id: str) -> Document | None:
        return await self.sessions.find_one({"_id": session_key(station_id, transaction_id), "station_id": station_id})

    @staticmethod
    def _filter(query: SessionQuery) -> Document:
        # `station_id` exists only once an event was summarized (a bare $max upsert has none).
        conditions: list[Document] = [{"station_id": {"$exists": True}}]
        if query.station_ids is not None:
            conditions.append({"station_id": {"$in": list(query.station_ids)}})
        if query.tenant_id is not None:
            conditions.append({"tenant_id": query.tenant_id})
        if query.start_ms is not None:
            conditions.append({"started_ms": {"$gte": query.start_ms}})
        if query.end_ms is not None:
            conditions.append({"started_ms": {"$lt": query.end_ms}})
        if query.id_token:
            conditions.append({"id_token": query.id_token})
        if query.ended is not None:
            conditions.append({"state": ENDED if query.ended else OPEN})
        return {"$and": conditions}

    async def find_page(self, query: SessionQuery) -> tuple[list[Document], int]:
        """Newest first by start time (ties by key), a page after `query.after`, and the total."""
        conditions = self._filter(query)
        total = await self.sessions.count_documents(conditions)
        if query.after is not None:
            ms, key = query.after
            conditions["$and"].append(
                {"$or": [{"started_ms": {"$lt": ms}}, {"$and": [{"started_ms": ms}, {"_id": {"$lt": key}}]}]}
            )
        cursor = self.sessions.find(conditions).sort([("started_ms", -1), ("_id", -1)]).limit(query.limit)
        return [d async for d in cursor], total

    async def in_window(self, station_ids: Sequence[str], start_ms: int, end_ms: int) -> list[Document]:
        """Sessions of the stations that overlap [start, end), any state."""
        cursor = self.sessions.find(
            {
                "$and": [
                    {"station_id": {"$in": list(station_ids)}},
                    {"started_ms": {"$lt": end_ms}},
                    {"$or": [{"stopped_ms": {"$exists": False}}, {"stopped_ms": {"$gte": start_ms}}]},
                ]
            }
        )
        return [d async for d in cursor]

    async def refused_authorizations(self, station_ids: Sequence[str], start_ms: int, end_ms: int) -> int:
        return await self.authorizations.count_documents(
            {
                "$and": [
                    {"station_id": {"$in": list(station_ids)}},
                    {"t_ms": {"$gte": start_ms, "$lt": end_ms}},
                    {"accepted": 0},
                ]
            }
        )


async def _insert_new(collection: Any, documents: list[Document]) -> None:
    """Insert, skipping documents whose `_id` is already there (a redelivery)."""
    if not documents:
        return
    try:
        await collection.bulk_write([InsertOne(d) for d in documents], ordered=False)
    except BulkWriteError as error:
        if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
            raise
