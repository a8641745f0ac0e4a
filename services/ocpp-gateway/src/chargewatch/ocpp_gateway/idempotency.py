"""Idempotency keys of commands: a retried command with the same key is sent to the station once.

The first call with a key claims it in Redis (SET NX, "pending"); its reply is remembered for a
few minutes and given to every retry. A retry that arrives while the first call still waits for
the station waits for that answer. A command that failed (timeout, CALLERROR, disconnection)
forgets its claim, so a retry sends it again. The key is scoped by station and bound to the
command's kind and arguments: the same key with other arguments is a caller error.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import logging
from dataclasses import dataclass
from typing import Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chargewatch.v1 import gateway_pb2

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "cw:gateway:command:"
_POLL_SECONDS: Final = 0.05
_PENDING: Final = "pending"
_DONE: Final = "done"


class ClaimState(enum.Enum):
    NEW = "new"  # this call sends the command
    REPLAY = "replay"  # an earlier call with the key got this reply
    IN_PROGRESS = "in_progress"  # an earlier call still waits and did not finish in time
    CONFLICT = "conflict"  # the key was used for another command


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    reply: gateway_pb2.CommandReply | None = None


def fingerprint(station_id: str, kind: int, arguments: str) -> str:
    """What a key is bound to; `arguments` should be redacted so no secret is hashed into Redis."""
    return hashlib.sha256(orjson.dumps([station_id, kind, arguments])).hexdigest()


def reply_key(station_id: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}{station_id}:{digest}"


class CommandReplies:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: float) -> None:
        self.redis = redis
        self.ttl_ms = max(int(ttl_seconds * 1000), 1)

    async def claim(
        self, station_id: str, idempotency_key: str, bound_to: str, *, wait_seconds: float, pending_seconds: float
    ) -> Claim:
        """Claim the key for this call, or learn what an earlier call with it got.

        `pending_seconds` bounds how long a claim lives if this replica dies before answering.
        Redis being away is not the caller's problem: the command is then sent without the guard.
        """
        key = reply_key(station_id, idempotency_key)
        pending = orjson.dumps({"state": _PENDING, "bound_to": bound_to})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        try:
            while True:
                if await self.redis.set(key, pending, nx=True, px=max(int(pending_seconds * 1000), 1)):
                    return Claim(ClaimState.NEW)
                raw = await self.redis.get(key)
                if raw is None:  # expired between SET and GET: claim again
                    continue
                stored = orjson.loads(raw)
                if stored.get("bound_to") != bound_to:
                    return Claim(ClaimState.CONFLICT)
                if stored.get("state") == _DONE:
                    reply = gateway_pb2.CommandReply.FromString(base64.b64decode(stored["reply"]))
                    return Claim(ClaimState.REPLAY, reply)
                if loop.time() >= deadline:
                    return Claim(ClaimState.IN_PROGRESS)
                await asyncio.sleep(_POLL_SECONDS)
        except (RedisError, orjson.JSONDecodeError, KeyError, ValueError) as error:
            log.warning("idempotency store unavailable; sending without it", extra={"error": str(error)})
            return Claim(ClaimState.NEW)

    async def remember(
        self, station_id: str, idempotency_key: str, bound_to: str, reply: gateway_pb2.CommandReply
    ) -> None:
        value = orjson.dumps(
            {"state": _DONE, "bound_to": bound_to, "reply": base64.b64encode(reply.SerializeToString()).decode()}
        )
        try:
            await self.redis.set(reply_key(station_id, idempotency_key), value, px=self.ttl_ms)
        except RedisError as error:
            log.warning("could not remember a command reply", extra={"error": str(error)})

    async def forget(self, station_id: str, idempotency_key: str) -> None:
        try:
            await self.redis.delete(reply_key(station_id, idempotency_key))
        except RedisError as error:
            log.warning("could not forget a command claim", extra={"error": str(error)})
