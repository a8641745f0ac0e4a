"""Retention: old documents expire through TTL indexes, or through a periodic sweep.

On MongoDB the TTL indexes each module declares do the work. The local MongoDB-wire store
(nx-27017) implements a TTL index by deleting expired documents before *every* operation on the
collection, with a query that reads every document: a 30-day series then costs a scan of every
roll-up stored. There the same rules run as a sweep every `sweep_interval_s` instead (one scan
per collection per interval), and no TTL index is created. `mode` "auto" picks the sweep when
the server says it is nx-27017.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from chargewatch.mongo import Document, IndexSpec, ensure_indexes

log = logging.getLogger(__name__)

Mode = Literal["auto", "ttl", "sweep"]
LOCAL_STORE_PROCESS = "nx_27017"


@dataclass(frozen=True)
class Rule:
    collection: str
    field: str
    seconds: int


def is_local_store(build_info: dict[str, Any]) -> bool:
    """Whether `buildInfo` came from nx-27017 (it names its process; MongoDB's does not)."""
    return build_info.get("process") == LOCAL_STORE_PROCESS


async def resolve_mode(client: AsyncMongoClient[Document], mode: Mode) -> Literal["ttl", "sweep"]:
    if mode != "auto":
        return mode
    return "sweep" if is_local_store(await client.admin.command("buildInfo")) else "ttl"


def split(specs: Sequence[IndexSpec], mode: Literal["ttl", "sweep"]) -> tuple[list[IndexSpec], list[Rule]]:
    """The indexes to create and the sweep rules: TTL indexes become rules in sweep mode."""
    if mode == "ttl":
        return list(specs), []
    indexes = [s for s in specs if s.expire_after_seconds is None]
    rules = [
        Rule(s.collection, s.keys[0][0], s.expire_after_seconds) for s in specs if s.expire_after_seconds is not None
    ]
    return indexes, rules


async def prepare(
    client: AsyncMongoClient[Document], db: AsyncDatabase[Document], specs: Sequence[IndexSpec], mode: Mode
) -> list[Rule]:
    """Create the indexes for `mode`; returns the rules a `Sweeper` must apply (none on MongoDB)."""
    resolved = await resolve_mode(client, mode)
    indexes, rules = split(specs, resolved)
    await ensure_indexes(db, indexes)
    for rule in rules:
        # A TTL index left from an earlier run would keep the cost this mode exists to avoid.
        with contextlib.suppress(OperationFailure):
            for index in [i async for i in await db[rule.collection].list_indexes()]:
                if "expireAfterSeconds" in index:
                    await db[rule.collection].drop_index(index["name"])
    return rules


async def sweep(db: AsyncDatabase[Document], rules: Sequence[Rule], now: datetime | None = None) -> int:
    """Delete what the rules say has expired; returns how many documents went."""
    moment = now or datetime.now(UTC)
    deleted = 0
    for rule in rules:
        result = await db[rule.collection].delete_many({rule.field: {"$lt": moment - timedelta(seconds=rule.seconds)}})
        deleted += result.deleted_count
    return deleted


class Sweeper:
    """Runs `sweep` every `interval_s` until stopped (a runtime worker); idle without rules."""

    def __init__(self, db: AsyncDatabase[Document], rules: Sequence[Rule], interval_s: float) -> None:
        self.db = db
        self.rules = list(rules)
        self.interval_s = interval_s
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            if self.rules:
                try:
                    await sweep(self.db, self.rules)
                except PyMongoError:
                    log.warning("retention sweep failed, retrying next interval", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval_s)

    def stop(self) -> None:
        self._stop.set()
