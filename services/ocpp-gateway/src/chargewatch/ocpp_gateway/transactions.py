"""Transactions that survive retries: 1.6 transaction ids from Redis, and deterministic event ids.

A 1.6 StartTransaction gets an integer transactionId from a Redis counter (INCR), recorded per
(station, message id) with a fingerprint of the payload: the same StartTransaction sent again
(its answer was lost, the station reconnected) gets the same transactionId, and once its answer
is recorded nothing is published again. A station that reboots and reuses a message id for a
*new* StartTransaction has a different payload, so it gets a new transaction. Every transaction
event's id is derived from station, transaction and step, so a consumer drops a fact published
twice. Keys carry the station id only inside one key each, so they spread over a Redis Cluster.

Facts with such an id are also published at most once: a marker per event id is written once
Redis has taken the fact, and a retry (a StopTransaction or TransactionEvent sent again after a
lost answer, on this connection or the next) finds it and publishes nothing. Only a crash
between the publish and the marker can let a fact into the stream twice, with the same id.

Round trips: a transaction message is answered only once its facts are on the stream, so every
sequential Redis round trip is in its answer's latency, and a burst of stops queues behind them.
What a handler reads is read in one pipeline (a stop's transaction and its facts' markers), and
what it records after publishing is written in one (a start's answer, its connector and its
facts' markers); a start that drew a new transaction id has published nothing under it yet, so
its markers are not looked up. A 1.6 start takes two round trips before authz and two after
(it took three and four), a stop three (four).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import redis.asyncio as aioredis

# Namespace of ChargeWatch's deterministic event ids (uuid5).
_EVENT_NAMESPACE: Final = uuid.UUID("5d1b7c9e-3f0a-4c52-9a8e-0b6f1e2d4c3a")
TRANSACTION_COUNTER: Final = "cw:gw:tx16:next-id"


def event_id(station_id: str, *parts: str | int) -> str:
    """A deterministic event id: the same station and parts always give the same id."""
    name = "\x1f".join([station_id, *(str(part) for part in parts)])
    return uuid.uuid5(_EVENT_NAMESPACE, name).hex


def payload_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class StartRecord:
    transaction_id: int
    # The answer already given to this StartTransaction (a complete earlier attempt), else None.
    answer: dict[str, Any] | None
    # A transaction id drawn for this attempt: no fact was published under it yet.
    new: bool = False


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    evse_id: int
    connector_id: int
    id_tag: str


class TransactionStore:
    def __init__(self, redis: aioredis.Redis, *, retention_hours: float) -> None:
        self.redis = redis
        self.retention_seconds = max(1, int(retention_hours * 3600))

    @staticmethod
    def _start_key(station_id: str, message_id: str) -> str:
        return f"cw:gw:tx16:start:{station_id}:{message_id}"

    @staticmethod
    def _transaction_key(station_id: str, transaction_id: int) -> str:
        return f"cw:gw:tx16:tx:{station_id}:{transaction_id}"

    async def begin_start(self, station_id: str, message_id: str, fingerprint: str) -> StartRecord:
        """The transaction of a StartTransaction: the recorded one for a retry, else a new id."""
        key = self._start_key(station_id, message_id)
        # The next id is drawn with the read: a retry leaves one id unused, a new start saves a round trip.
        read = self.redis.pipeline(transaction=False)
        read.hgetall(key)
        read.incr(TRANSACTION_COUNTER)
        stored, drawn = await read.execute()
        if stored.get(b"fp") == fingerprint.encode():
            answer = stored.get(b"answer")
            return StartRecord(int(stored[b"tx"]), orjson.loads(answer) if answer else None)
        transaction_id = int(drawn)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={"tx": transaction_id, "fp": fingerprint})
        pipe.expire(key, self.retention_seconds)
        await pipe.execute()
        return StartRecord(transaction_id, None, new=True)

    async def finish_start(
        self,
        station_id: str,
        message_id: str,
        answer: dict[str, Any],
        info: TransactionInfo,
        transaction_id: int,
        *,
        published: Sequence[str] = (),
    ) -> None:
        """Record the answer given (a later retry gets it verbatim), the transaction's connector and
        the event ids of the facts published for it, in one round trip."""
        start_key = self._start_key(station_id, message_id)
        transaction_key = self._transaction_key(station_id, transaction_id)
        pipe = self.redis.pipeline(transaction=False)
        self._mark(pipe, station_id, published)
        pipe.hset(start_key, "answer", orjson.dumps(answer))
        pipe.hset(
            transaction_key,
            mapping={"evse": info.evse_id, "connector": info.connector_id, "id_tag": info.id_tag},
        )
        pipe.expire(transaction_key, self.retention_seconds)
        await pipe.execute()

    @staticmethod
    def _published_key(station_id: str, event_id: str) -> str:
        return f"cw:gw:published:{station_id}:{event_id}"

    async def published(self, station_id: str, event_ids: Sequence[str]) -> set[str]:
        """Which of these event ids (facts of the station) were published already."""
        if not event_ids:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        self._look_up(pipe, station_id, event_ids)
        return self._found(event_ids, await pipe.execute())

    def _look_up(self, pipe: Any, station_id: str, event_ids: Sequence[str]) -> None:
        for event in event_ids:
            pipe.exists(self._published_key(station_id, event))

    @staticmethod
    def _found(event_ids: Sequence[str], exists: Sequence[Any]) -> set[str]:
        return {event for event, found in zip(event_ids, exists, strict=True) if found}

    def _mark(self, pipe: Any, station_id: str, event_ids: Sequence[str]) -> None:
        for event in event_ids:
            pipe.set(self._published_key(station_id, event), b"1", ex=self.retention_seconds)

    async def mark_published(self, station_id: str, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        self._mark(pipe, station_id, event_ids)
        await pipe.execute()

    async def stop_state(
        self, station_id: str, transaction_id: int, event_ids: Sequence[str]
    ) -> tuple[TransactionInfo | None, set[str]]:
        """A stop's transaction (as its start recorded it) and which of its facts were published, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self._transaction_key(station_id, transaction_id))
        self._look_up(pipe, station_id, event_ids)
        stored, *exists = await pipe.execute()
        info = None
        if stored:
            id_tag = stored.get(b"id_tag", b"")
            info = TransactionInfo(
                int(stored.get(b"evse", 0)),
                int(stored.get(b"connector", 0)),
                id_tag.decode() if isinstance(id_tag, bytes) else str(id_tag),
            )
        return info, self._found(event_ids, exists)
