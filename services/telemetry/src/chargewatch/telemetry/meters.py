"""Meter readings in MongoDB: raw readings, 15-minute roll-ups, series queries.

Raw readings are one document per connector and sample instant, `_id` = "<event id>:<n>", so
a redelivered MeterValues event is refused by the unique `_id` and changes nothing. Raw
readings expire after `raw_days` (TTL on the reading time); roll-ups are kept `rollup_days`.

Roll-ups are recomputed from the raw readings of a bucket, never incremented, so they are
correct under redelivery and reordering however often a bucket is recomputed. The
`Downsampler` finds buckets to recompute from the readings ingested since its last pass
(`ingested_ms`, indexed), which keeps the ingest path to one bulk insert per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, PyMongoError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.telemetry.readings import Reading

log = logging.getLogger(__name__)

METER_VALUES = "meter_values"
ROLLUPS = "meter_rollups"
META = "telemetry_meta"
SESSIONS = "sessions"
BUCKET_SECONDS = 900
BUCKET_MS = BUCKET_SECONDS * 1000
DUPLICATE_KEY = 11000
_MEASURES = ("energy_wh", "power_w", "current_a", "voltage_v", "soc_percent", "temperature_c")


def indexes(raw_days: int, rollup_days: int) -> list[IndexSpec]:
    return [
        IndexSpec(METER_VALUES, [("connector", 1), ("t", 1)], name="by_connector_time"),
        IndexSpec(METER_VALUES, [("transaction_id", 1), ("t", 1)], name="by_transaction_time"),
        IndexSpec(METER_VALUES, [("ingested_ms", 1)], name="by_ingest"),
        IndexSpec(METER_VALUES, [("t", 1)], name="ttl", expire_after_seconds=raw_days * 86_400),
        IndexSpec(ROLLUPS, [("connector", 1), ("t", 1)], name="by_connector_time"),
        IndexSpec(ROLLUPS, [("t", 1)], name="ttl", expire_after_seconds=rollup_days * 86_400),
    ]


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def reading_document(reading: Reading, event_id: str, index: int, ingested_ms: int) -> Document:
    document: Document = {
        "_id": f"{event_id}:{index}",
        "connector": reading.connector,
        "station_id": reading.station_id,
        "tenant_id": reading.tenant_id,
        "evse_id": reading.evse_id,
        "connector_id": reading.connector_id,
        "t": reading.at,
        "ingested_ms": ingested_ms,
    }
    if reading.transaction_id:
        document["transaction_id"] = reading.transaction_id
    for name in _MEASURES:
        value = getattr(reading, name)
        if value is not None:
            document[name] = value
    if reading.phases:
        document["phases"] = reading.phases
    if reading.flags:
        document["flags"] = reading.flags
    return document


@dataclass
class Aggregate:
    """Readings of one bucket folded together; `merge` combines buckets into wider ones."""

    start_ms: int
    samples: int = 0
    first_at_ms: int | None = None
    last_at_ms: int | None = None
    energy_first_wh: float | None = None
    energy_last_wh: float | None = None
    # Sum of the register's rises between consecutive readings inside the bucket (falls ignored).
    energy_delta_wh: float = 0.0
    power_sum_w: float = 0.0
    power_count: int = 0
    power_max_w: float | None = None
    current_sum_a: float = 0.0
    current_count: int = 0
    voltage_sum_v: float = 0.0
    voltage_count: int = 0
    soc_last_percent: float | None = None
    temperature_max_c: float | None = None
    flags: set[str] = field(default_factory=set)
    # transaction id -> highest power seen in the bucket
    transaction_peaks: dict[str, float] = field(default_factory=dict)

    def add(self, document: Mapping[str, Any]) -> None:
        """Fold one raw reading in; readings must come in time order."""
        at_ms = to_ms(document["t"])
        self.samples += 1
        self.first_at_ms = at_ms if self.first_at_ms is None else self.first_at_ms
        self.last_at_ms = at_ms
        energy = document.get("energy_wh")
        if energy is not None:
            if self.energy_first_wh is None:
                self.energy_first_wh = energy
            elif self.energy_last_wh is not None and energy > self.energy_last_wh:
                self.energy_delta_wh += energy - self.energy_last_wh
            self.energy_last_wh = energy
        power = document.get("power_w")
        if power is not None:
            self.power_sum_w += power
            self.power_count += 1
            self.power_max_w = power if self.power_max_w is None else max(self.power_max_w, power)
            if transaction := document.get("transaction_id"):
                self.transaction_peaks[transaction] = max(self.transaction_peaks.get(transaction, power), power)
        if (current := document.get("current_a")) is not None:
            self.current_sum_a += current
            self.current_count += 1
        if (voltage := document.get("voltage_v")) is not None:
            self.voltage_sum_v += voltage
            self.voltage_count += 1
        if (soc := document.get("soc_percent")) is not None:
            self.soc_last_percent = soc
        if (temperature := document.get("temperature_c")) is not None:
            self.temperature_max_c = (
                temperature if self.temperature_max_c is None else max(self.temperature_max_c, temperature)
            )
        self.flags.update(document.get("flags", ()))

    def merge(self, other: Aggregate) -> None:
        """Append a later bucket (time order), counting the register's rise across the boundary."""
        if other.energy_first_wh is not None:
            if self.energy_last_wh is not None and other.energy_first_wh > self.energy_last_wh:
                self.energy_delta_wh += other.energy_first_wh - self.energy_last_wh
            if self.energy_first_wh is None:
                self.energy_first_wh = other.energy_first_wh
            self.energy_last_wh = other.energy_last_wh
        self.energy_delta_wh += other.energy_delta_wh
        self.samples += other.samples
        self.first_at_ms = other.first_at_ms if self.first_at_ms is None else self.first_at_ms
        self.last_at_ms = other.last_at_ms if other.last_at_ms is not None else self.last_at_ms
        self.power_sum_w += other.power_sum_w
        self.power_count += other.power_count
        if other.power_max_w is not None:
            self.power_max_w = (
                other.power_max_w if self.power_max_w is None else max(self.power_max_w, other.power_max_w)
            )
        self.current_sum_a += other.current_sum_a
        self.current_count += other.current_count
        self.voltage_sum_v += other.voltage_sum_v
        self.voltage_count += other.voltage_count
        if other.soc_last_percent is not None:
            self.soc_last_percent = other.soc_last_percent
        if other.temperature_max_c is not None:
            self.temperature_max_c = (
                other.temperature_max_c
                if self.temperature_max_c is None
                else max(self.temperature_max_c, other.temperature_max_c)
            )
        self.flags |= other.flags
        for transaction, peak in other.transaction_peaks.items():
            self.transaction_peaks[transaction] = max(self.transaction_peaks.get(transaction, peak), peak)

    @property
    def power_avg_w(self) -> float | None:
        return self.power_sum_w / self.power_count if self.power_count else None

    def rollup_document(self, connector: str, identity: Mapping[str, Any]) -> Document:
        """The stored roll-up (every field set, so recomputing overwrites a stale one completely)."""
        return {
            "connector": connector,
            "station_id": identity["station_id"],
            "tenant_id": identity.get("tenant_id", ""),
            "evse_id": identity["evse_id"],
            "connector_id": identity["connector_id"],
            "t": from_ms(self.start_ms),
            "samples": self.samples,
            "first_at_ms": self.first_at_ms,
            "last_at_ms": self.last_at_ms,
            "energy_first_wh": self.energy_first_wh,
            "energy_last_wh": self.energy_last_wh,
            "energy_delta_wh": self.energy_delta_wh,
            "power_sum_w": self.power_sum_w,
            "power_count": self.power_count,
            "power_max_w": self.power_max_w,
            "current_sum_a": self.current_sum_a,
            "current_count": self.current_count,
            "voltage_sum_v": self.voltage_sum_v,
            "voltage_count": self.voltage_count,
            "soc_last_percent": self.soc_last_percent,
            "temperature_max_c": self.temperature_max_c,
            "flags": sorted(self.flags),
            "transaction_peaks": [
                {"transaction_id": k, "power_w": v} for k, v in sorted(self.transaction_peaks.items())
            ],
        }

    @classmethod
    def from_rollup(cls, document: Mapping[str, Any]) -> Aggregate:
        return cls(
            start_ms=to_ms(document["t"]),
            samples=document.get("samples", 0),
            first_at_ms=document.get("first_at_ms"),
            last_at_ms=document.get("last_at_ms"),
            energy_first_wh=document.get("energy_first_wh"),
            energy_last_wh=document.get("energy_last_wh"),
            energy_delta_wh=document.get("energy_delta_wh", 0.0),
            power_sum_w=document.get("power_sum_w", 0.0),
            power_count=document.get("power_count", 0),
            power_max_w=document.get("power_max_w"),
            current_sum_a=document.get("current_sum_a", 0.0),
            current_count=document.get("current_count", 0),
            voltage_sum_v=document.get("voltage_sum_v", 0.0),
            voltage_count=document.get("voltage_count", 0),
            soc_last_percent=document.get("soc_last_percent"),
            temperature_max_c=document.get("temperature_max_c"),
            flags=set(document.get("flags", ())),
            transaction_peaks={p["transaction_id"]: p["power_w"] for p in document.get("transaction_peaks", ())},
        )


def bucket_start(ms: int, step_ms: int) -> int:
    return ms - ms % step_ms


def aggregate_readings(documents: Iterable[Mapping[str, Any]], step_ms: int) -> list[Aggregate]:
    """Raw readings (time order) into buckets of `step_ms` aligned on the epoch."""
    buckets: dict[int, Aggregate] = {}
    for document in documents:
        start = bucket_start(to_ms(document["t"]), step_ms)
        bucket = buckets.get(start)
        if bucket is None:
            bucket = buckets[start] = Aggregate(start)
        bucket.add(document)
    return [buckets[start] for start in sorted(buckets)]


def merge_buckets(aggregates: Iterable[Aggregate], step_ms: int) -> list[Aggregate]:
    """Narrow buckets (time order) into wider ones of `step_ms`."""
    merged: dict[int, Aggregate] = {}
    for aggregate in aggregates:
        start = bucket_start(aggregate.start_ms, step_ms)
        target = merged.get(start)
        if target is None:
            target = merged[start] = Aggregate(start)
        target.merge(aggregate)
    return [merged[start] for start in sorted(merged)]


class MeterStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.readings = db[METER_VALUES]
        self.rollups = db[ROLLUPS]

    async def insert(self, documents: Sequence[Document]) -> int:
        """Insert readings in one unordered bulk write; returns how many were new.

        Duplicates (a redelivered event) are refused by `_id` and skipped; any other error raises.
        """
        if not documents:
            return 0
        try:
            result = await self.readings.insert_many(list(documents), ordered=False)
        except BulkWriteError as error:
            others = [e for e in error.details.get("writeErrors", ()) if e.get("code") != DUPLICATE_KEY]
            if others or error.details.get("writeConcernErrors"):
                raise
            return int(error.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def latest(self, connector: str) -> Document | None:
        return await self.readings.find_one({"connector": connector}, sort=[("t", -1)])

    async def raw(
        self, *, start: datetime, end: datetime, connector: str | None = None, transaction_id: str | None = None
    ) -> list[Document]:
        query: Document = {"t": {"$gte": start, "$lt": end}}
        if connector is not None:
            query["connector"] = connector
        if transaction_id is not None:
            query["transaction_id"] = transaction_id
        return [d async for d in self.readings.find(query).sort("t", 1)]

    async def rolled(self, connectors: Sequence[str], start: datetime, end: datetime) -> list[Document]:
        """Roll-ups of the connectors in [start, end), by connector then time."""
        query: Document = {"t": {"$gte": start, "$lt": end}}
        query["connector"] = connectors[0] if len(connectors) == 1 else {"$in": list(connectors)}
        documents = [d async for d in self.rollups.find(query)]
        documents.sort(key=lambda d: (d["connector"], d["t"]))
        return documents


class Downsampler:
    """Recomputes the 15-minute roll-ups of every bucket that received readings since the last pass.

    The watermark (in `telemetry_meta`) is moved back by `margin_ms` on each pass, so readings
    written by a slower consumer around the same moment are not missed; recomputing a bucket twice
    is harmless. Buckets older than the raw retention are left alone: their raw readings are gone.
    """

    WATERMARK_ID = "rollup_watermark"

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        raw_days: int,
        margin_ms: int = 60_000,
        on_sessions: Callable[[list[str]], Awaitable[object]] | None = None,
    ) -> None:
        self.store = MeterStore(db)
        self.meta = db[META]
        self.raw_days = raw_days
        self.margin_ms = margin_ms
        # Called with the keys of sessions whose readings were rolled up, so their peak power and
        # idle time follow readings that arrived after their transaction events.
        self.on_sessions = on_sessions

    async def run_once(self, now: datetime | None = None) -> int:
        """One pass; returns the number of buckets recomputed."""
        now_ms = to_ms(now or datetime.now(UTC))
        state = await self.meta.find_one({"_id": self.WATERMARK_ID})
        since = int(state["ms"]) - self.margin_ms if state else 0
        oldest_ms = now_ms - self.raw_days * 86_400_000 + 86_400_000
        touched: dict[str, set[int]] = {}
        async for document in self.store.readings.find({"ingested_ms": {"$gte": since}}, {"connector": 1, "t": 1}):
            start = bucket_start(to_ms(document["t"]), BUCKET_MS)
            if start >= oldest_ms:
                touched.setdefault(document["connector"], set()).add(start)
        count = 0
        sessions: set[str] = set()
        for connector, starts in touched.items():
            count += await self.recompute(connector, sorted(starts), sessions)
        if sessions and self.on_sessions is not None:
            await self.on_sessions(sorted(sessions))
        await self.meta.update_one({"_id": self.WATERMARK_ID}, {"$set": {"ms": now_ms}}, upsert=True)
        return count

    async def recompute(self, connector: str, starts: Sequence[int], sessions: set[str]) -> int:
        """Rebuild the roll-ups of `connector` at the given bucket starts from its raw readings;
        adds the keys of the sessions seen in them to `sessions`."""
        writes: list[UpdateOne] = []
        # Contiguous runs of buckets are read with one query each.
        runs: list[list[int]] = []
        for start in starts:
            if runs and start - runs[-1][-1] <= BUCKET_MS * 4:
                runs[-1].append(start)
            else:
                runs.append([start])
        wanted = set(starts)
        for run in runs:
            documents = await self.store.raw(
                connector=connector, start=from_ms(run[0]), end=from_ms(run[-1] + BUCKET_MS)
            )
            if not documents:
                continue
            identity = documents[0]
            for aggregate in aggregate_readings(documents, BUCKET_MS):
                if aggregate.start_ms not in wanted:
                    continue
                document = aggregate.rollup_document(connector, identity)
                bucket_time = document.pop("t")
                # The bucket time only on insert: it never changes, and the local store turns a
                # datetime written by $set on an existing document into a string.
                writes.append(
                    UpdateOne(
                        {"_id": f"{connector}|{aggregate.start_ms}"},
                        {"$set": document, "$setOnInsert": {"t": bucket_time}},
                        upsert=True,
                    )
                )
                sessions.update(f"{identity['station_id']}|{t}" for t in aggregate.transaction_peaks)
        if writes:
            await self.store.rollups.bulk_write(writes, ordered=False)
        return len(writes)


def series_window(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    """A query window: [end - default, now) unless given."""
    stop = end or datetime.now(UTC)
    return (start or stop - default), stop


class RollupWorker:
    """Runs `Downsampler.run_once` every `interval_s` until stopped (a runtime worker)."""

    def __init__(self, downsampler: Downsampler, interval_s: float) -> None:
        self.downsampler = downsampler
        self.interval_s = interval_s
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.downsampler.run_once()
            except PyMongoError:
                log.warning("roll-up pass failed, retrying next interval", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval_s)

    def stop(self) -> None:
        self._stop.set()
