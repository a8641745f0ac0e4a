"""Wiring every stream-and-MongoDB service repeats: clients, probes and their shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, create_mongo_client, ping
from chargewatch.service.runtime import ServiceRuntime


@dataclass
class Backends:
    redis: aioredis.Redis
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]


def connect_backends(runtime: ServiceRuntime, *, redis_url: str, mongo_url: str, database: str) -> Backends:
    """Create the Redis and MongoDB clients, make readiness follow them, close them at shutdown."""
    redis = aioredis.Redis.from_url(redis_url)
    mongo = create_mongo_client(mongo_url, app_name=f"chargewatch-{runtime.name}")

    async def redis_up() -> bool:
        return bool(await redis.ping())

    runtime.depends_on("redis", redis_up)
    runtime.depends_on("mongo", lambda: ping(mongo))
    runtime.on_shutdown(mongo.close)
    runtime.on_shutdown(redis.aclose)
    return Backends(redis, mongo, mongo[database])
