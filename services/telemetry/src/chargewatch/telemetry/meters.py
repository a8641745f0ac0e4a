"""Meter readings in MongoDB: an ingest log, 15-minute raw buckets, 15-minute roll-ups by day.

Every collection is read by `_id` only (`$in` of ids computed from connector and time): the
MongoDB-wire store used locally answers `_id` lookups from its primary index but scans the whole
collection for any other filter, and on MongoDB `_id` lookups are the cheapest path as well.

* `meter_log` (ingest): one document per chunk of a consumed batch, holding that chunk's
  readings as one compressed BSON blob. Ingest is thus a few large inserts per batch, durable
  before the stream entries are acknowledged. The `Downsampler` folds the log into the two
  collections below and deletes what it folded.
* `meter_raw` (raw readings): one document per connector and 15-minute bucket, `_id` =
  "<connector>|<bucket ms>", the readings under `r.<event id>:<n>` (see `reading_values`). A
  reading's key is its event id, so a redelivered event lands on the same key and changes nothing
  (its values are the event's; quality flags are merged, never dropped). A roll-up is recomputed
  from exactly one such document. Expires after `raw_days` (TTL on the bucket).
* `meter_days` (roll-ups): one document per connector and UTC day, `_id` = "<connector>|<day ms>",
  its 96 fifteen-minute roll-ups under `s.<slot>` (see `Aggregate.slot`): a 30-day series is 31
  documents instead of 2,880. A slot is recomputed from every raw reading of its bucket and set
  as one field, never incremented, so it is the same whatever the order and however often a
  bucket is recomputed, by however many replicas. Kept `rollup_days` (TTL on the day).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import bson
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.telemetry.keys import field_key, find_by_ids
from chargewatch.telemetry.readings import Reading

log = logging.getLogger(__name__)

METER_LOG = "meter_log"
METER_RAW = "meter_raw"
METER_DAYS = "meter_days"
SESSIONS = "sessions"
BUCKET_SECONDS = 900
BUCKET_MS = BUCKET_SECONDS * 1000
DAY_MS = 86_400_000
DUPLICATE_KEY = 11000


def indexes(raw_days: int, rollup_days: int) -> list[IndexSpec]:
    """TTL indexes only: every read is by `_id`."""
    return [
        IndexSpec(METER_RAW, [("t", 1)], name="ttl", expire_after_seconds=raw_days * 86_400),
        IndexSpec(METER_DAYS, [("t", 1)], name="ttl", expire_after_seconds=rollup_days * 86_400),
        # An entry the downsampler never folded is useless once its raw retention has passed.
        IndexSpec(METER_LOG, [("t", 1)], name="ttl", expire_after_seconds=raw_days * 86_400),
    ]


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def station_of(connector: str) -> str:
    """The station id of a fleet connector key ("<station>|<evse>|<connector>")."""
    return connector.split("|", 1)[0]


def raw_ids(connector: str, start_ms: int, end_ms: int) -> list[str]:
    """Ids of the connector's raw bucket documents overlapping [start, end)."""
    first = start_ms - start_ms % BUCKET_MS
    return [f"{connector}|{bucket}" for bucket in range(first, end_ms, BUCKET_MS)]


def day_ids(connector: str, start_ms: int, end_ms: int) -> list[str]:
    """Ids of the connector's roll-up day documents overlapping [start, end)."""
    first = start_ms - start_ms % DAY_MS
    return [f"{connector}|{day}" for day in range(first, end_ms, DAY_MS)]


def reading_key(event_id: str, index: int) -> str:
    """The reading's key inside its bucket document: its event id and position in the event."""
    return field_key(f"{event_id}:{index}")


def reading_values(reading: Reading) -> Document:
    """A reading as stored: short keys (every byte is converted on each write and read)."""
    values: Document = {"t": reading.at_ms}
    if reading.transaction_id:
        values["x"] = reading.transaction_id
    if reading.energy_wh is not None:
        values["e"] = reading.energy_wh
    if reading.power_w is not None:
        values["p"] = reading.power_w
    if reading.current_a is not None:
        values["i"] = reading.current_a
    if reading.voltage_v is not None:
        values["v"] = reading.voltage_v
    if reading.soc_percent is not None:
        values["s"] = reading.soc_percent
    if reading.temperature_c is not None:
        values["c"] = reading.temperature_c
    if reading.phases:
        values["ph"] = reading.phases
    if reading.flags:
        values["f"] = list(reading.flags)
    return values


def encode_entries(entries: Sequence[tuple[str, str, Document]]) -> bytes:
    """(connector, key, values) triples as the log stores them: BSON, compressed (fast level)."""
    return zlib.compress(bson.encode({"r": [list(entry) for entry in entries]}), 1)


def decode_entries(blob: bytes) -> list[tuple[str, str, Document]]:
    return [(c, k, v) for c, k, v in bson.decode(zlib.decompress(blob))["r"]]


def merge_reading(stored: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Document | None:
    """The reading to store given the stored one; None when the stored one is already right.

    The first stored values win (they are the event's, the same on every delivery); quality
    flags are the union, so a redelivery checked by a process that knew less drops none."""
    if stored is None:
        return dict(new)
    flags = sorted(set(stored.get("f", ())) | set(new.get("f", ())))
    if flags == sorted(stored.get("f", ())):
        return None
    return {**stored, "f": flags}


@dataclass(slots=True)
class Aggregate:
    """Readings of one bucket folded together; `merge` combines buckets into wider ones."""

    start_ms: int
    samples: int = 0
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

    def add(self, reading: Mapping[str, Any]) -> None:
        """Fold one stored reading (see `reading_values`) in; readings must come in time order."""
        self.samples += 1
        energy = reading.get("e")
        if energy is not None:
            if self.energy_first_wh is None:
                self.energy_first_wh = energy
            elif self.energy_last_wh is not None and energy > self.energy_last_wh:
                self.energy_delta_wh += energy - self.energy_last_wh
            self.energy_last_wh = energy
        power = reading.get("p")
        if power is not None:
            self.power_sum_w += power
            self.power_count += 1
            self.power_max_w = power if self.power_max_w is None else max(self.power_max_w, power)
        if (current := reading.get("i")) is not None:
            self.current_sum_a += current
            self.current_count += 1
        if (voltage := reading.get("v")) is not None:
            self.voltage_sum_v += voltage
            self.voltage_count += 1
        if (soc := reading.get("s")) is not None:
            self.soc_last_percent = soc
        if (temperature := reading.get("c")) is not None:
            self.temperature_max_c = (
                temperature if self.temperature_max_c is None else max(self.temperature_max_c, temperature)
            )
        self.flags.update(reading.get("f", ()))

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

    @property
    def power_avg_w(self) -> float | None:
        return self.power_sum_w / self.power_count if self.power_count else None

    def slot(self) -> str:
        """The stored form of a 15-minute bucket: one short string of its figures and flags.

        The local store converts every value of a document to and from JSON and Python objects on
        each read; a day of 96 buckets as 96 strings instead of 1,344 numbers reads about three
        times faster. Every figure is written, so recomputing a bucket overwrites a stale one
        completely. Sums are rounded to a thousandth: float noise is not data.
        """
        figures = (
            self.samples,
            self.energy_first_wh,
            self.energy_last_wh,
            round(self.energy_delta_wh, 3),
            round(self.power_sum_w, 3),
            self.power_count,
            self.power_max_w,
            round(self.current_sum_a, 3),
            self.current_count,
            round(self.voltage_sum_v, 3),
            self.voltage_count,
            self.soc_last_percent,
            self.temperature_max_c,
        )
        flags = sorted(flag.replace(",", "_").replace(";", "_") for flag in self.flags)  # the separators
        return ",".join([*(_number(f) for f in figures), ";".join(flags)])

    @classmethod
    def from_slot(cls, start_ms: int, text: str) -> Aggregate:
        (
            samples,
            energy_first,
            energy_last,
            energy_delta,
            power_sum,
            power_count,
            power_max,
            current_sum,
            current_count,
            voltage_sum,
            voltage_count,
            soc_last,
            temperature_max,
            flags,
        ) = text.split(",")
        return cls(
            start_ms,
            int(samples),
            float(energy_first) if energy_first else None,
            float(energy_last) if energy_last else None,
            float(energy_delta),
            float(power_sum),
            int(power_count),
            float(power_max) if power_max else None,
            float(current_sum),
            int(current_count),
            float(voltage_sum),
            int(voltage_count),
            float(soc_last) if soc_last else None,
            float(temperature_max) if temperature_max else None,
            set(flags.split(";")) if flags else set(),
        )


def _number(value: float | None) -> str:
    """Shortest text that reads back as the same number ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(value)


def bucket_start(ms: int, step_ms: int) -> int:
    return ms - ms % step_ms


def aggregate_readings(readings: Iterable[Mapping[str, Any]], step_ms: int) -> list[Aggregate]:
    """Stored readings (time order) into buckets of `step_ms` aligned on the epoch."""
    buckets: dict[int, Aggregate] = {}
    for reading in readings:
        start = bucket_start(reading["t"], step_ms)
        bucket = buckets.get(start)
        if bucket is None:
            bucket = buckets[start] = Aggregate(start)
        bucket.add(reading)
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
        self.log = db[METER_LOG]
        self.raw = db[METER_RAW]
        self.days = db[METER_DAYS]

    async def append(self, entries: Sequence[tuple[str, str, Document]]) -> None:
        """Log (connector, key, values) readings durably as one document."""
        if entries:
            await self.log.insert_one({"t": datetime.now(UTC), "n": len(entries), "r": encode_entries(entries)})

    async def readings(
        self, connector: str, start_ms: int, end_ms: int, transaction_id: str | None = None
    ) -> list[Document]:
        """The connector's raw readings in [start, end) (of one transaction, if given), in time order."""
        buckets = await find_by_ids(self.raw, raw_ids(connector, start_ms, end_ms))
        found = [
            (values["t"], key, values)
            for document in buckets.values()
            for key, values in document.get("r", {}).items()
            if start_ms <= values["t"] < end_ms and (transaction_id is None or values.get("x") == transaction_id)
        ]
        found.sort(key=lambda item: (item[0], item[1]))
        return [values for _, _, values in found]

    async def rolled(self, connectors: Sequence[str], start_ms: int, end_ms: int) -> dict[str, list[Aggregate]]:
        """The 15-minute roll-ups of the connectors starting in [start, end), each in time order."""
        ids = [i for connector in connectors for i in day_ids(connector, start_ms, end_ms)]
        found: dict[str, list[Aggregate]] = {}
        for document in (await find_by_ids(self.days, ids)).values():
            connector, day = document["_id"].rsplit("|", 1)
            day_ms = int(day)
            aggregates = found.setdefault(connector, [])
            for slot, values in document.get("s", {}).items():
                bucket = day_ms + int(slot) * BUCKET_MS
                if start_ms <= bucket < end_ms:
                    aggregates.append(Aggregate.from_slot(bucket, values))
        for aggregates in found.values():
            aggregates.sort(key=lambda a: a.start_ms)
        return found


@dataclass
class FoldResult:
    """What one downsampler pass did, for the callbacks and the caller."""

    readings: int = 0
    new_readings: int = 0
    buckets: int = 0
    # connector -> its newest reading seen in the pass
    latest: dict[str, Document] = field(default_factory=dict)
    # session key ("<station>|<transaction>") -> connector its readings came from
    sessions: dict[str, str] = field(default_factory=dict)


class Downsampler:
    """Folds the ingest log into the raw bucket documents and recomputes their roll-ups.

    One pass reads a page of log entries, fetches the bucket documents they name (by `_id`), writes
    the readings those lack, recomputes the roll-up of every bucket with a reading in the page from
    the bucket's full set of readings, writes the slots, and deletes the page's log entries (by id:
    entries logged meanwhile wait for the next page). A pass that dies midway leaves its entries
    to be folded again, which is harmless. Readings older than the raw retention are dropped.

    Sessions whose readings were folded are recomputed at most once per `session_refresh_s`
    each (a recompute reads all of a session's readings, and an open session gets new ones on
    every pass); one refused by that limit is remembered and recomputed when its time comes.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        raw_days: int,
        entries_per_pass: int = 200,
        session_refresh_s: float = 30.0,
        on_sessions: Callable[[dict[str, str]], Awaitable[object]] | None = None,
        on_latest: Callable[[dict[str, Document]], Awaitable[object]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = MeterStore(db)
        self.raw_days = raw_days
        self.entries_per_pass = entries_per_pass
        self.session_refresh_s = session_refresh_s
        # Sessions whose readings were folded (their peak power, idle time and the energy of
        # open sessions follow readings), and each connector's newest reading (live state).
        self.on_sessions = on_sessions
        self.on_latest = on_latest
        self._clock = clock
        self._sessions_due: dict[str, str] = {}  # session key -> connector, waiting for a refresh
        self._refreshed: dict[str, float] = {}  # session key -> when it was last recomputed

    async def run_once(self, now: datetime | None = None) -> FoldResult:
        """Fold the whole log, then recompute the sessions that are due; returns the totals."""
        total = FoldResult()
        while True:
            entries = [e async for e in self.store.log.find({}, {"r": 1}).limit(self.entries_per_pass)]
            if entries:
                result = await self.fold([decode_entries(e["r"]) for e in entries], now)
                await self.store.log.delete_many({"_id": {"$in": [e["_id"] for e in entries]}})
                total.readings += result.readings
                total.new_readings += result.new_readings
                total.buckets += result.buckets
                total.latest.update(result.latest)
                total.sessions.update(result.sessions)
            if len(entries) < self.entries_per_pass:
                break
        await self._refresh_sessions()
        return total

    async def _refresh_sessions(self) -> None:
        moment = self._clock()
        due = {
            key: connector
            for key, connector in self._sessions_due.items()
            if moment - self._refreshed.get(key, -math.inf) >= self.session_refresh_s
        }
        if due and self.on_sessions is not None:
            await self.on_sessions(due)
        for key in due:
            del self._sessions_due[key]
            self._refreshed[key] = moment
        # Forget refreshes old enough not to hold anything back.
        self._refreshed = {k: t for k, t in self._refreshed.items() if moment - t < self.session_refresh_s}

    async def fold(
        self, pages: Iterable[Sequence[tuple[str, str, Document]]], now: datetime | None = None
    ) -> FoldResult:
        result = FoldResult()
        oldest_ms = to_ms(now or datetime.now(UTC)) - self.raw_days * DAY_MS + BUCKET_MS
        incoming: dict[str, dict[str, Document]] = {}  # bucket id -> key -> values
        for entries in pages:
            for connector, key, values in entries:
                at_ms = values["t"]
                if at_ms < oldest_ms:
                    continue
                result.readings += 1
                readings = incoming.setdefault(f"{connector}|{at_ms - at_ms % BUCKET_MS}", {})
                merged = merge_reading(readings.get(key), values)
                if merged is not None:
                    readings[key] = merged
        stored = await find_by_ids(self.store.raw, sorted(incoming))
        raw_writes: list[UpdateOne] = []
        slot_fields: dict[str, Document] = {}  # day id -> {"s.<slot>": slot}
        for bucket_id, readings in incoming.items():
            connector, bucket = bucket_id.rsplit("|", 1)
            bucket_ms = int(bucket)
            have: dict[str, Document] = stored.get(bucket_id, {}).get("r", {})
            changed: Document = {}
            for key, values in readings.items():
                merged = merge_reading(have.get(key), values)
                if merged is not None:
                    changed[key] = merged
            if changed:
                result.new_readings += sum(1 for key in changed if key not in have)
                raw_writes.append(
                    UpdateOne(
                        {"_id": bucket_id},
                        {
                            "$set": {f"r.{key}": values for key, values in changed.items()},
                            # Identity and the bucket only on insert: they never change, and the
                            # local store turns a datetime written by $set on an existing
                            # document into a string.
                            "$setOnInsert": {"connector": connector, "t": from_ms(bucket_ms)},
                        },
                        upsert=True,
                    )
                )
            every = sorted({**have, **changed}.items(), key=lambda item: (item[1]["t"], item[0]))
            aggregate = Aggregate(bucket_ms)
            for _, values in every:
                aggregate.add(values)
            day_ms = bucket_ms - bucket_ms % DAY_MS
            slot_fields.setdefault(f"{connector}|{day_ms}", {})[f"s.{(bucket_ms - day_ms) // BUCKET_MS}"] = (
                aggregate.slot()
            )
            newest = every[-1][1]
            if connector not in result.latest or newest["t"] > result.latest[connector]["t"]:
                result.latest[connector] = newest
            station = station_of(connector)
            for values in readings.values():
                if transaction := values.get("x"):
                    result.sessions[f"{station}|{transaction}"] = connector
        if raw_writes:
            await self.store.raw.bulk_write(raw_writes, ordered=False)
        day_writes: list[UpdateOne] = []
        for day_id, fields in slot_fields.items():
            if not fields:
                continue
            connector, day = day_id.rsplit("|", 1)
            on_insert = {"connector": connector, "t": from_ms(int(day))}
            day_writes.append(UpdateOne({"_id": day_id}, {"$set": fields, "$setOnInsert": on_insert}, upsert=True))
        if day_writes:
            await self.store.days.bulk_write(day_writes, ordered=False)
        result.buckets = sum(len(fields) for fields in slot_fields.values())
        if result.latest and self.on_latest is not None:
            await self.on_latest(result.latest)
        self._sessions_due.update(result.sessions)
        return result


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
